#!/usr/bin/env bash
# corrupt_data.sh TRAIN CONFIG: a Fashion-MNIST directory whose training images
# are cut short must be refused with one sentence naming the file.
set -eu
train=$1; config=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
src=/usr/share/datasets/fashion-mnist
cp "$src"/*labels* "$src"/t10k-images-idx3-ubyte.gz "$dir"/
gzip -dc "$src"/train-images-idx3-ubyte.gz | head -c 100000 | gzip -1 > "$dir"/train-images-idx3-ubyte.gz
exec "$train" --config "$config" --set data.path="$dir" --set output_dir=
