#!/usr/bin/env bash
# corrupt_data.sh TRAIN CONFIG [DAMAGE]: a Fashion-MNIST directory with one
# damaged file must be refused with one sentence naming the file. DAMAGE:
# "cut" (the training images cut short, the default), "gzip-tail" (the
# training images' gzip file without its last 4 bytes: its length field),
# "small-test-images" (10x10 test images beside the 28x28 training ones).
set -eu
train=$1; config=$2; damage=${3:-cut}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
src=/usr/share/datasets/fashion-mnist
cp "$src"/*.gz "$dir"/
case $damage in
  cut) gzip -dc "$src"/train-images-idx3-ubyte.gz | head -c 100000 | gzip -1 > "$dir"/train-images-idx3-ubyte.gz ;;
  gzip-tail) head -c -4 "$src"/train-images-idx3-ubyte.gz > "$dir"/train-images-idx3-ubyte.gz ;;
  small-test-images)
    python3 - "$dir"/t10k-images-idx3-ubyte.gz <<'PY'
import gzip, struct, sys
with gzip.open(sys.argv[1], "wb") as out:
    out.write(struct.pack(">IIII", 0x803, 10000, 10, 10) + bytes(10000 * 100))
PY
  ;;
  *) echo "unknown damage $damage" >&2; exit 64 ;;
esac
exec "$train" --config "$config" --set data.path="$dir" --set output_dir=
