#!/usr/bin/env bash
# checkpoint_disk_full.sh TRAIN CONFIG: a checkpoint that cannot be written
# (its temporary file is /dev/full, where every write fails with ENOSPC, as on
# a full disk) must stop the run with one sentence naming the file, leave the
# previous checkpoint as it was, and leave no half-written checkpoint behind.
set -eu
train=$1; config=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$train" --config "$config" --set output_dir="$dir/run" --set trainer.epochs=1 > /dev/null 2>&1
cp "$dir/run/checkpoints/epoch-0001.pt" "$dir/before.pt"
ln -s /dev/full "$dir/run/checkpoints/epoch-0002.pt.tmp"
status=0
"$train" --config "$config" --set output_dir="$dir/run" --set trainer.epochs=2 --resume "$dir/run/checkpoints" || status=$?
cmp -s "$dir/before.pt" "$dir/run/checkpoints/epoch-0001.pt" || { echo "the previous checkpoint changed"; exit 3; }
[[ ! -e $dir/run/checkpoints/epoch-0002.pt ]] || { echo "a checkpoint of epoch 2 was written"; exit 3; }
[[ ! -e $dir/run/checkpoints/epoch-0002.pt.tmp ]] || { echo "the temporary file was left behind"; exit 3; }
exit "$status"
