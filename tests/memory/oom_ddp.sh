#!/usr/bin/env bash
# oom_ddp.sh PROBE MPIRUN...: a real out-of-memory error on one rank of ddp.
# MPIRUN... is the mpirun command line that starts the probe's ranks (ending
# in "cohort-oom-probe", as cohort_mpi_test writes it). Runs
#   1. the job with the address-space limit on rank 1 only: both ranks must
#      shrink together, rank 0 because rank 1 ran out of memory;
#   2. the job configured with the accumulation that run ended with, no limit;
# and passes when every rank's parameters of 1 equal rank 0's of 2 (1e-5).
set -u
probe=$1; shift
dir=$(mktemp -d /tmp/cohort-oom-ddp-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }
field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }

"$@" train --strategy ddp --limit --limit-rank 1 --out "$dir/limited" >"$dir/limited.log" 2>&1 ||
  fail "the limited run failed"
for rank in 0 1; do
  summary="$dir/limited/summary-rank$rank.json"
  [ -f "$summary" ] || fail "no summary from rank $rank"
  [ "$(field "$summary" shrinks)" -ge 1 ] || fail "rank $rank did not shrink: $(cat "$summary")"
done
a0=$(field "$dir/limited/summary-rank0.json" accumulation_steps)
a1=$(field "$dir/limited/summary-rank1.json" accumulation_steps)
[ "$a0" = "$a1" ] || fail "the ranks ended with different accumulation: $a0 and $a1"
grep -q "rank 1.*ran out of memory at a micro-batch of 1024 examples" "$dir/limited.log" || fail "rank 1 did not say it ran out of memory"
grep -q "rank 0.*another rank ran out of memory" "$dir/limited.log" || fail "rank 0 did not say another rank ran out of memory"

"$@" train --strategy ddp --accumulation "$a0" --out "$dir/reference" >"$dir/reference.log" 2>&1 ||
  fail "the reference run failed"
for rank in 0 1; do
  "$probe" compare "$dir/limited/params-rank$rank.pt" "$dir/reference/params-rank0.pt" >>"$dir/compare.log" 2>&1 ||
    fail "rank $rank's parameters differ from the reference"
done
echo "ok: both ranks shrank to $((1024 / a0)) examples per micro-batch ($a0 accumulation steps) and match the reference"
cat "$dir/compare.log"
