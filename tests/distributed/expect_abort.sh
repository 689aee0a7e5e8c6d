#!/usr/bin/env bash
# expect_abort.sh SECONDS REGEX COMMAND...: runs COMMAND (an mpirun line) and
# passes when it ends by itself within SECONDS with a non-zero exit status and
# its output matches REGEX. For the watchdog: a hung job must end, fail, and
# say why — and mpirun must not hang after MPI_Abort. Exit status 77 from
# COMMAND is passed on: CTest reports the test as skipped (SKIP_RETURN_CODE).
set -u
limit=$1; pattern=$2; shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
timeout --kill-after=5 "$limit" "$@" >"$out" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
if [ "$status" -eq 77 ]; then cat "$out"; exit 77; fi  # the program says it cannot run here (no GPU)
fail() { echo "FAIL: $*"; echo "--- output"; cat "$out"; exit 1; }
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "still running after ${limit} s (killed)"
[ "$status" -ne 0 ] || fail "exit status 0, expected a failure"
grep -Eq -- "$pattern" "$out" || fail "output does not match: $pattern"
[ "$(grep -c 'watchdog:' "$out")" -eq 1 ] || fail "expected exactly one watchdog message"
grep -E -- "watchdog:" "$out"
echo "ok: exit $status after ${elapsed} s, matched: $pattern"
