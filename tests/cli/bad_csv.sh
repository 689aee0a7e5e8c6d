#!/usr/bin/env bash
# bad_csv.sh CASE TRAIN CONFIG: cohort-train on a text_csv job whose training
# file is broken as CASE says (a malformed row after two good ones, or an
# empty or missing file). The run writes into an output directory that
# already holds a file; it fails (exit 99) when the refused run touched it.
# Otherwise its exit status and output are cohort-train's, for expect.sh.
set -u
case=$1; train=$2; config=$3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
good='1,"a title","some text"
2,"another title","more text"
'
printf '%s' "$good" > "$dir/test.csv"
case "$case" in
  columns) row='1,"only two fields"' ;;
  label) row='x,"a","b"' ;;
  range) row='3,"a","b"' ;;
  unterminated) row='1,"a","never closed' ;;
  after_quote) row='1,"a"b,"c"' ;;
  stray_quote) row='1,a"b,"c"' ;;
  utf8) row=$'1,"caf\xe9 in latin-1","b"' ;;
  empty) row= ;;
  missing) row= ;;
  *) echo "bad_csv.sh: unknown case $case"; exit 98 ;;
esac
case "$case" in
  empty) : > "$dir/train.csv" ;;
  missing) ;;
  *) printf '%s%s\n' "$good" "$row" > "$dir/train.csv" ;;
esac
mkdir "$dir/out" && echo kept > "$dir/out/marker"
"$train" --config "$config" --set data.train_file="$dir/train.csv" --set data.test_file="$dir/test.csv" \
  --set data.num_classes=2 --set output_dir="$dir/out"
status=$?
if [ "$(ls -A "$dir/out")" != marker ] || [ "$(cat "$dir/out/marker")" != kept ]; then
  echo "the refused run wrote into its output directory: $(ls -A "$dir/out" | tr '\n' ' ')"
  exit 99
fi
exit $status
