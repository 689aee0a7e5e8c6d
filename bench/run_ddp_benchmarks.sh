#!/usr/bin/env bash
# Cohort's ddp strategy on the CPU at 2 ranks, side by side with PyTorch's own
# DistributedDataParallel (bench/peers/pytorch_ddp.py) and a hand-written
# LibTorch + MPI_Allreduce loop, then the bucket and overlap measurements.
# Builds nothing: build first (make bench, which builds cohort-bench-ddp).
#
#   bench/run_ddp_benchmarks.sh [BUILD_DIR] [--quick] [--rounds N] [--out FILE]
#                               [--contended busy|compile] [--wait auto|spin|yield|sleep]
#
# --contended runs the Cohort/PyTorch comparison (MLP and CNN, alternated, the
# other measurements left out) beside a bounded CPU load started by this
# script and stopped when it ends: `busy` is one busy-looping process per core
# all along; `compile` is, per core, a loop of short-lived processes that are
# busy for 1 s and then idle for 1 s (a compiler's on/off pattern, the cores
# out of phase). --wait sets COHORT_WAIT for the Cohort runs (default: the
# automatic choice).
#
# BUILD_DIR defaults to `build`. The PyTorch and Cohort runs alternate
# (PyTorch, Cohort, PyTorch, Cohort, ...), each run a separate mpirun that
# reports the median of its timed passes; the table shows the medians over
# the runs. The default takes about 5 minutes, --quick about 2.
# Environment: PYTHON (python3), MPIRUN (mpirun), MPI_FLAGS (extra mpirun
# flags for every run), PEER_MPI_FLAGS (extra flags for the PyTorch runs;
# default --bind-to none), PYTHONPATH (found at /opt/cohort/torch-2.11.0 if
# torch is not importable). The machine should be otherwise idle: MPI ranks
# poll while they wait, so a third busy process slows them far more than it
# slows PyTorch's gloo, whose waits sleep (unless Cohort's wait policy sees the
# load and sleeps too: docs/distributed.md). The load average is printed at the
# start and the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=build
quick=0
rounds=""
out=""
contended=""
wait_mode=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="$2"; shift ;;
    --out) out="$2"; shift ;;
    --contended) contended="$2"; shift ;;
    --wait) wait_mode="$2"; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    -*) echo "run_ddp_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
  esac
  shift
done

case "$contended" in
  ""|busy|compile) ;;
  *) echo "run_ddp_benchmarks.sh: --contended must be busy or compile, not \"$contended\"." >&2; exit 2 ;;
esac
case "$wait_mode" in
  ""|auto|spin|yield|sleep) ;;
  *) echo "run_ddp_benchmarks.sh: --wait must be auto, spin, yield or sleep, not \"$wait_mode\"." >&2; exit 2 ;;
esac
bench="$build/bin/cohort-bench-ddp"
if [ ! -x "$bench" ]; then
  echo "run_ddp_benchmarks.sh: $bench does not exist; build it first (make bench)." >&2
  exit 2
fi
source "$here/peers/python_env.sh"
MPIRUN="${MPIRUN:-mpirun}"
# Extra mpirun flags, e.g. "--mca btl_vader_single_copy_mechanism none" where a container forbids cross-memory attach.
MPI_FLAGS="${MPI_FLAGS:-}"
# Open MPI binds each of 2 ranks to a core by default, which suits Cohort (one
# busy thread per rank). PyTorch's usual launcher (torchrun) binds nothing, and
# gloo's threads share the core with the training thread when bound: the peer
# runs unbound by default, its better case here.
PEER_MPI_FLAGS="${PEER_MPI_FLAGS:---bind-to none}"
[ -n "$wait_mode" ] && export COHORT_WAIT="$wait_mode"
mpi() { "$MPIRUN" -np 2 $MPI_FLAGS -x PYTHONPATH -x PYTHONWARNINGS ${COHORT_WAIT:+-x COHORT_WAIT} "$@"; }

# The bounded load of --contended: its processes end with this script.
load_pids=()
stop_load() { for pid in "${load_pids[@]}"; do kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; }
trap stop_load EXIT
start_load() {
  local cores; cores=$(nproc)
  for ((c = 0; c < cores; ++c)); do
    if [ "$contended" = busy ]; then
      setsid bash -c 'while :; do :; done' & load_pids+=($!)
    else
      # Out of phase: core c starts c seconds late (of a 2 s period).
      setsid bash -c "sleep $((c % 2)); while :; do timeout 1 bash -c 'while :; do :; done'; sleep 1; done" & load_pids+=($!)
    fi
  done
  sleep 1  # let the load be seen (the automatic wait mode looks at start-up)
}

if [ "$quick" = 1 ]; then
  rounds="${rounds:-1}"; mlp_repeats=2; cnn_steps=30; cnn_repeats=2
  loop_repeats=4; loop_cnn_steps=30; loop_cnn_repeats=2; bucket_iterations=100; overlap_repeats=4
else
  rounds="${rounds:-3}"; mlp_repeats=3; cnn_steps=60; cnn_repeats=3
  loop_repeats=8; loop_cnn_steps=60; loop_cnn_repeats=4; bucket_iterations=300; overlap_repeats=8
fi

results="${out:-$(mktemp /tmp/cohort-ddp-bench.XXXXXX.jsonl)}"
: > "$results"
log="$results.log"
: > "$log"
start=$(date +%s)
port=$((29500 + RANDOM % 2000))

# Runs a command, keeps its JSON lines in $results, shows its human lines.
run() {
  echo "+ $*" >> "$log"
  if ! "$@" > "$results.tmp" 2>> "$log"; then
    echo "run_ddp_benchmarks.sh: failed: $* (see $log)" >&2
    cat "$results.tmp" >&2
    exit 1
  fi
  grep '^{' "$results.tmp" >> "$results" || true
  grep '^#' "$results.tmp" || true
}

echo "Cohort DDP benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, build $build, rounds $rounds$([ "$quick" = 1 ] && echo ', quick'), load average $(cut -d' ' -f1-3 /proc/loadavg)${contended:+, contended: $contended}${wait_mode:+, COHORT_WAIT=$wait_mode}"
[ -n "$contended" ] && start_load
for model in mlp cnn; do
  if [ "$model" = mlp ]; then args=(--steps 0 --repeats "$mlp_repeats"); else args=(--steps "$cnn_steps" --repeats "$cnn_repeats"); fi
  for ((r = 0; r < rounds; ++r)); do
    port=$((port + 1))
    peer_line=$(mpi $PEER_MPI_FLAGS "$PYTHON" "$here/peers/pytorch_ddp.py" --model "$model" --port "$port" "${args[@]}" 2>> "$log" | grep '^{') || {
      echo "run_ddp_benchmarks.sh: the PyTorch peer failed (see $log)" >&2; exit 1; }
    echo "$peer_line" >> "$results"
    echo "# pytorch ddp $model: $(echo "$peer_line" | "$PYTHON" -c 'import json,sys; print(round(json.load(sys.stdin)["samples_per_second"]))') samples/s"
    run mpi "$bench" trainer --model "$model" "${args[@]}"
  done
done
if [ -z "$contended" ]; then
run mpi "$bench" vs-loop --model mlp --repeats "$loop_repeats"
run mpi "$bench" vs-loop --model cnn --steps "$loop_cnn_steps" --repeats "$loop_cnn_repeats"
# Diagnostic: the same with the communicator's blocking MPI collectives (see docs/benchmarks.md).
run mpi "$bench" --mpi-blocking-collectives vs-loop --model mlp --repeats "$loop_repeats"
run mpi "$bench" buckets --iterations "$bucket_iterations"
run mpi "$bench" --mpi-blocking-collectives buckets --iterations "$bucket_iterations"
run mpi "$bench" overlap --repeats "$overlap_repeats"
fi
stop_load
rm -f "$results.tmp"

echo
"$PYTHON" - "$results" "$(( $(date +%s) - start ))" "$contended" <<'EOF'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(xs): return statistics.median(xs) if xs else float("nan")
def rate(system, model):
    return [l["samples_per_second"] for l in lines if l.get("system") == system and l.get("model") == model]
def bench(name, **match):
    return [l for l in lines if l.get("benchmark") == name and all(l.get(k) == v for k, v in match.items())]
def verdict(ok): return "met" if ok else "**missed**"
rows = []
load = sys.argv[3]
for model, target in (("mlp", 2.5), ("cnn", 1.15)):
    c, p = rate("cohort_ddp", model), rate("pytorch_ddp", model)
    if load: target = 1.0  # under load: at least as fast as PyTorch
    if c and p:
        ratio = med(c) / med(p)
        rows.append((f"{model}: Cohort DDP vs PyTorch DDP (samples/s, {len(c)}+{len(p)} runs{', load: ' + load if load else ''})",
                     f"{med(c):,.0f}", f"{med(p):,.0f}", f"{ratio:.2f}x", f">= {target}x", verdict(ratio >= target)))
def tag(l): return " [blocking MPI collectives]" if l.get("mpi_blocking_collectives") else ""
for model in ("mlp", "cnn"):
    for l in bench("ddp_vs_hand_written", model=model):
        r = l["cohort_over_hand_written"]
        paired = l.get("cohort_over_hand_written_paired_median")
        rows.append((f"{model}: Cohort DDP vs hand-written loop (samples/s){tag(l)}", f"{l['cohort_samples_per_second']:,.0f}",
                     f"{l['hand_written_samples_per_second']:,.0f}",
                     f"{r:.3f}" + (f" (paired {paired:.3f})" if paired else ""), ">= 0.90", verdict(r >= 0.9)))
        if "strategy_only_samples_per_second" in l:
            rows.append((f"{model}: ddp strategy without the Trainer vs hand-written loop (diagnostic){tag(l)}",
                         f"{l['strategy_only_samples_per_second']:,.0f}", f"{l['hand_written_samples_per_second']:,.0f}",
                         f"{l['strategy_only_over_hand_written']:.3f}", "", ""))
for l in bench("ddp_buckets"):
    what = f"{l['parameters']} tensors, {l['bytes'] / 1024:.0f} KiB"
    r = l["per_parameter_over_bucketed"]
    rows.append((f"buckets ({l['buckets_default_caps']}) vs one allreduce per parameter (us; {what}){tag(l)}",
                 f"{l['bucketed_us']:.0f}", f"{l['allreduce_per_parameter_us']:.0f}", f"{r:.2f}x faster", ">= 3x",
                 verdict(r >= 3)))
    r = l["one_bucket_per_parameter_over_bucketed"]
    rows.append((f"buckets vs one bucket per parameter (us){tag(l)}", f"{l['bucketed_us']:.0f}",
                 f"{l['one_bucket_per_parameter_us']:.0f}", f"{r:.2f}x faster", "(for scale)", ""))
    r = l["bucketed_over_flat"]
    rows.append((f"buckets vs one flat allreduce of the same bytes (us){tag(l)}", f"{l['bucketed_us']:.0f}",
                 f"{l['flat_allreduce_us']:.0f}", f"{r:.2f}", "<= 1.10", verdict(r <= 1.10)))
    r = l["bucketed_over_flat_mpi"]
    rows.append((f"buckets vs one blocking MPI_Allreduce of the same bytes (us){tag(l)}", f"{l['bucketed_us']:.0f}",
                 f"{l['flat_mpi_allreduce_us']:.0f}", f"{r:.2f}", "(for scale)", ""))
    r = l["bucketed_over_flat_with_copies"]
    rows.append((f"buckets vs flat allreduce with the loop's copies (us){tag(l)}", f"{l['bucketed_us']:.0f}",
                 f"{l['flat_allreduce_with_copies_us']:.0f}", f"{r:.2f}", "(for scale)", ""))
for l in bench("ddp_overlap"):
    r = l["off_over_on"]
    rows.append((f"overlap on vs off ({l['model']}, {l['gradient_bytes'] / 1e6:.1f} MB; ms/step)",
                 f"{l['overlap_on_ms_per_step']:.2f}", f"{l['overlap_off_ms_per_step']:.2f}",
                 f"{r:.3f} (off/on)", "(none)", ""))
print("| measure | Cohort | reference | ratio | target | |")
print("| --- | --- | --- | --- | --- | --- |")
for row in rows: print("| " + " | ".join(row) + " |")
print(f"\nraw results: {sys.argv[1]}; total {int(sys.argv[2]) // 60} min {int(sys.argv[2]) % 60} s; "
      f"load average at the end {' '.join(open('/proc/loadavg').read().split()[:3])}")
EOF
