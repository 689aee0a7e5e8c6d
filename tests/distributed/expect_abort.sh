#!/usr/bin/env bash
# expect_abort.sh SECONDS REGEX COMMAND...: runs COMMAND (an mpirun line) and
# passes when it ends by itself within SECONDS with a non-zero exit status and
# its output matches REGEX. For the watchdog: a hung job must end, fail, and
# say why — and mpirun must not hang after MPI_Abort. Exit status 77 from
# COMMAND is passed on: CTest reports the test as skipped (SKIP_RETURN_CODE).
#
# ONCE (default "watchdog:") must occur on exactly one line of the output: one
# rank says why, not every rank. When the output has a line
# "failing at unix ms: N" (the moment a program failed on purpose), the job
# must have ended within WITHIN_MS (default 5000) of it.
set -u
once=${ONCE:-watchdog:}
within_ms=${WITHIN_MS:-5000}
limit=$1; pattern=$2; shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
timeout --kill-after=5 "$limit" "$@" >"$out" 2>&1
status=$?
end_ms=$(date +%s%3N)
elapsed=$(( $(date +%s) - start ))
if [ "$status" -eq 77 ]; then cat "$out"; exit 77; fi  # the program says it cannot run here (no GPU)
fail() { echo "FAIL: $*"; echo "--- output"; cat "$out"; exit 1; }
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "still running after ${limit} s (killed)"
[ "$status" -ne 0 ] || fail "exit status 0, expected a failure"
grep -Eq -- "$pattern" "$out" || fail "output does not match: $pattern"
[ "$(grep -c -- "$once" "$out")" -eq 1 ] || fail "expected exactly one line with: $once"
grep -E -- "$once" "$out"
failed_ms=$(sed -n 's/.*failing at unix ms: \([0-9]*\).*/\1/p' "$out" | head -n 1)
if [ -n "$failed_ms" ]; then
  [ $((end_ms - failed_ms)) -le "$within_ms" ] || fail "the job ended $((end_ms - failed_ms)) ms after the failure"
  echo "the job ended $((end_ms - failed_ms)) ms after the failure"
fi
echo "ok: exit $status after ${elapsed} s, matched: $pattern"
