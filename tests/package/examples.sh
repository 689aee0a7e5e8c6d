#!/usr/bin/env bash
# examples.sh MPIEXEC NUMPROC_FLAG [MPIEXEC_FLAG...]: runs the examples of
# examples/ from their build directory (the current one) as a user would, the
# multi-rank ones under `MPIEXEC NUMPROC_FLAG <ranks> MPIEXEC_FLAG...`. Each
# example checks its own result and exits non-zero when it is off.
# Run by check.sh (see tests/CMakeLists.txt, the test examples.installed).
set -euo pipefail
mpiexec=$1; numproc_flag=$2; shift 2
mpiexec_flags=("$@")
runs=$(mktemp -d); trap 'rm -rf "$runs"' EXIT

say() { echo "== $*"; }
on_ranks() {  # on_ranks N PROGRAM [ARG...]
  local ranks=$1; shift
  say "$mpiexec $numproc_flag $ranks ${mpiexec_flags[*]} $*"
  "$mpiexec" "$numproc_flag" "$ranks" "${mpiexec_flags[@]}" "$@"
}

on_ranks 2 ./regression "$runs/regression"
on_ranks 3 ./sweep_own_training "$runs/sweep"  # a coordinator and one group of two ranks
say ./two_inputs
./two_inputs
echo "examples: all passed"
