#!/usr/bin/env bash
# check.sh BUILD_DIR TORCH_DIR: installs Cohort from BUILD_DIR into a temporary
# prefix, then configures, builds and runs a consumer with find_package(Cohort).
set -euo pipefail
build=$1; torch_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DTorch_DIR="$torch_dir" "${launcher[@]}" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
"$work/build/consumer"
