#!/usr/bin/env bash
# corrupt_labels.sh TRAIN CONFIG: a Fashion-MNIST directory whose training
# labels hold a 10 at example 123 must be refused at load, naming the file,
# the example and the value, with nothing written to the output directory.
set -eu
train=$1; config=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
src=/usr/share/datasets/fashion-mnist
cp "$src"/*images* "$src"/t10k-labels-idx1-ubyte.gz "$dir"/
gzip -dc "$src"/train-labels-idx1-ubyte.gz > "$dir"/labels
printf '\x0a' | dd of="$dir"/labels bs=1 seek=$((8 + 123)) conv=notrunc status=none  # 8 header bytes
gzip -1 -c "$dir"/labels > "$dir"/train-labels-idx1-ubyte.gz
bash "$here"/nothing_written.sh "$train" --config "$config" --set data.path="$dir"
