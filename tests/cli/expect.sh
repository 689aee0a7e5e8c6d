#!/usr/bin/env bash
# expect.sh STATUS REGEX COMMAND...: runs COMMAND and passes when it exits with
# STATUS and its output matches REGEX. For a failure status it also demands
# that, log lines aside, stderr holds one line and no C++ stack trace.
set -u
want_status=$1; pattern=$2; shift 2
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
status=$?
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
[ "$status" -eq "$want_status" ] || fail "exit status $status, expected $want_status"
grep -Eq -- "$pattern" "$out" "$err" || fail "output does not match: $pattern"
if [ "$want_status" -ne 0 ]; then
  lines=$(grep -v -E '^\[[0-9:]+\] \[rank [0-9]+\]' "$err" | grep -c .)
  [ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines"
  ! grep -Eq "Exception raised from|frame #" "$err" || fail "stack trace on stderr"
fi
echo "ok: exit $status, matched: $pattern"
