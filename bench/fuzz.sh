#!/usr/bin/env bash
# Runs Cohort's libFuzzer targets (tests/fuzz/fuzz_<target>.cpp) under ASan and
# UBSan for SECONDS each, and prints each target's executions and findings.
#
#   bench/fuzz.sh TARGET|all SECONDS
#
# Configures and builds a separate tree (BUILD_DIR, default build-fuzz) with
# clang (CXX, default clang++-14) and -DCOHORT_FUZZ=ON, building only the
# targets asked for. Each run starts from the target's seed corpus and crash
# inputs (tests/fuzz/corpus/<t>, tests/fuzz/crashes/<t>); what it learns goes
# to BUILD_DIR/fuzz/<t>/corpus, never into the source tree. A finding is
# written to BUILD_DIR/fuzz/<t>/ (crash-*, leak-*, timeout-*, oom-*): fix it,
# then add the input to tests/fuzz/crashes/<t>/ so `make test` replays it.
# Environment: JOBS (build jobs, default 2), FUZZ_FLAGS (extra libFuzzer
# flags, e.g. -jobs=2 -workers=2), Torch_DIR (default: the last line of .torch_dir).
# Exit status: 0 when no target found anything, 1 otherwise, 2 for bad usage.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: bench/fuzz.sh TARGET|all SECONDS (targets: $(cd "$root/tests/fuzz" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//' | tr '\n' ' '))" >&2
  exit 2
fi
seconds=$2
build=${BUILD_DIR:-$root/build-fuzz}
torch_dir=${Torch_DIR:-$(tail -n 1 "$root/.torch_dir")}
if [[ $1 == all ]]; then
  targets=$(cd "$root/tests/fuzz" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//')
else
  [[ -f $root/tests/fuzz/fuzz_$1.cpp ]] || { echo "bench/fuzz.sh: no target \"$1\" (tests/fuzz/fuzz_$1.cpp)" >&2; exit 2; }
  targets=$1
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" \
  -DCOHORT_FUZZ=ON -DTorch_DIR="$torch_dir" > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }

# Leaks are findings too; LibTorch's own allocations at exit are not Cohort's, so only inputs' leaks are checked
# (libFuzzer checks each input that grows memory).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-18s %12s %8s %8s %s\n' target executions exec/s findings log
for target in $targets; do
  cmake --build "$build" -j "${JOBS:-2}" --target "fuzz_$target" > "$build/build-$target.log" 2>&1 ||
    { tail -n 30 "$build/build-$target.log" >&2; exit 1; }
  work=$build/fuzz/$target
  mkdir -p "$work/corpus"
  log=$work/run-$(date +%Y%m%dT%H%M%S).log
  # shellcheck disable=SC2086
  "$build/bin/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
    -timeout=10 -rss_limit_mb=4096 -max_len=8192 ${FUZZ_FLAGS:-} "$work/corpus" "$root/tests/fuzz/corpus/$target" \
    "$root/tests/fuzz/crashes/$target" > "$log" 2>&1 || true
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
  findings=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  grep -q 'ERROR: \(AddressSanitizer\|libFuzzer\|LeakSanitizer\)\|runtime error:' "$log" && findings=$((findings > 0 ? findings : 1))
  printf '%-18s %12s %8s %8s %s\n' "$target" "$runs" "$rate" "$findings" "$log"
  [[ $findings -eq 0 ]] || status=1
done
exit $status
