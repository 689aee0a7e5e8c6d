#!/usr/bin/env bash
# nothing_written.sh COMMAND...: runs COMMAND with --set output_dir=<a fresh
# directory> and fails when a refused run wrote anything there. Its exit
# status and output are COMMAND's otherwise, for expect.sh to judge.
set -u
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$@" --set output_dir="$dir/out"
status=$?
if [ -e "$dir/out" ] && [ -n "$(ls -A "$dir/out")" ]; then
  echo "the refused run wrote into its output directory: $(ls -A "$dir/out" | tr '\n' ' ')"
  exit 99
fi
exit $status
