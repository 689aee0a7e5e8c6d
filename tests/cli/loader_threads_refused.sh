#!/usr/bin/env bash
# loader_threads_refused.sh TRAIN CONFIG: data-loader threads the system
# refuses must end the run with one sentence and exit 2 (it was
# std::terminate, exit 134). Each thread's stack is reserved from the address
# space at the size of the stack limit: with 1 TiB stacks in 2 TiB of address
# space, one thread at most can start, whatever the machine.
set -eu
train=$1; config=$2
exec prlimit --stack=$((1 << 40)) --as=$((1 << 41)) \
  "$train" --config "$config" --set loader.num_workers=64 --set output_dir=
