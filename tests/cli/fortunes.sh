#!/usr/bin/env bash
# fortunes.sh TRAIN SOURCE_DIR [--set K=V ...]: the real-text path end to end.
# Writes the fortunes CSVs with scripts/make_fortunes_csv.py into a fresh
# directory, then trains configs/text_fortunes_bag.json on them for one epoch
# (with any further overrides given). Its exit status
# and output are cohort-train's (or the script's), for expect.sh.
set -u
train=$1; source_dir=$2; shift 2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
python3 "$source_dir/scripts/make_fortunes_csv.py" --out "$dir/fortunes" || exit $?
"$train" --config "$source_dir/configs/text_fortunes_bag.json" --set data.train_file="$dir/fortunes/train.csv" \
  --set data.test_file="$dir/fortunes/test.csv" --set trainer.epochs=1 --set trainer.progress=none \
  --set output_dir="$dir/run" "$@" || exit $?
# The run keeps the vocabulary it used.
[ -s "$dir/run/vocabulary.json" ] || { echo "no vocabulary.json in the run directory"; exit 97; }
