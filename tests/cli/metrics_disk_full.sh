#!/usr/bin/env bash
# metrics_disk_full.sh TRAIN CONFIG: a run whose metrics.jsonl cannot be
# written (it is /dev/full, where every write fails with ENOSPC, as on a full
# disk) must stop with one sentence naming the file, not end with status 0 and
# the metrics lost.
set -eu
train=$1; config=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/run"
ln -s /dev/full "$dir/run/metrics.jsonl"
exec "$train" --config "$config" --set output_dir="$dir/run"
