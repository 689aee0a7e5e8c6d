#!/usr/bin/env bash
# corrupt_checkpoint.sh TRAIN CONFIG: resuming from a damaged checkpoint must be
# refused with one sentence naming it, and must not touch the results beside it.
set -eu
train=$1; config=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$train" --config "$config" --set output_dir="$dir/run" --set trainer.epochs=1 >/dev/null 2>&1
ckpt="$dir/run/checkpoints/epoch-0001.pt"
metrics_before=$(cat "$dir/run/metrics.jsonl")
head -c 300 "$ckpt" > "$dir/broken.pt"
status=0
"$train" --config "$config" --set output_dir="$dir/run" --resume "$dir/broken.pt" || status=$?
[ "$metrics_before" = "$(cat "$dir/run/metrics.jsonl")" ] || { echo "metrics.jsonl was changed" >&2; exit 1; }
exit $status
