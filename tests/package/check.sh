#!/usr/bin/env bash
# check.sh BUILD_DIR TORCH_DIR [PROJECT_DIR [COMMAND...]]: installs Cohort from
# BUILD_DIR into a temporary prefix, then configures and builds PROJECT_DIR
# (default: the consumer beside this script) with find_package(Cohort) against
# it, as a user's own project would be, and runs COMMAND (default: ./consumer)
# in that project's build directory. Its exit status is COMMAND's.
set -euo pipefail
build=$1; torch_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
project=${3:-$here}
shift $(($# < 3 ? $# : 3))
(($#)) || set -- ./consumer
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$work  # paths under the temporary directory differ from run to run
fi
cmake -S "$project" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DTorch_DIR="$torch_dir" "${launcher[@]}" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
cd "$work/build"
"$@"
