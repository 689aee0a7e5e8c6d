#!/usr/bin/env bash
# corrupt_checkpoint.sh TRAIN CONFIG [DAMAGE]: resuming from a damaged
# checkpoint must be refused with one sentence naming it, and must not touch
# the results beside it. DAMAGE: "truncate" (the first 300 bytes, the
# default) or "flip" (one bit flipped in the middle of the file: inside the
# tensors, which LibTorch's own reader does not check).
set -eu
train=$1; config=$2; damage=${3:-truncate}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$train" --config "$config" --set output_dir="$dir/run" --set trainer.epochs=1 >/dev/null 2>&1
ckpt="$dir/run/checkpoints/epoch-0001.pt"
metrics_before=$(cat "$dir/run/metrics.jsonl")
case $damage in
  truncate) head -c 300 "$ckpt" > "$dir/broken.pt" ;;
  flip) python3 - "$ckpt" "$dir/broken.pt" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0x10
open(sys.argv[2], "wb").write(data)
PY
  ;;
  *) echo "unknown damage $damage" >&2; exit 64 ;;
esac
status=0
"$train" --config "$config" --set output_dir="$dir/run" --resume "$dir/broken.pt" || status=$?
[ "$metrics_before" = "$(cat "$dir/run/metrics.jsonl")" ] || { echo "metrics.jsonl was changed" >&2; exit 1; }
exit $status
