#!/usr/bin/env bash
# Cohort's text models (embedding_bag, lstm) against the same models in
# PyTorch (bench/peers/pytorch_text.py) on padded batches shaped like the
# fortunes corpus, alternated Cohort, PyTorch, PyTorch, Cohort (ABBA) per
# round; each run reports the median of its timed epochs, and the table shows
# the medians over the runs and their ratio. At one rank Cohort's runs also
# time a hand-written LibTorch loop, alternated with the Trainer in-process.
# Builds nothing: build cohort-bench-text first (make bench).
#
#   bench/run_text_benchmarks.sh [BUILD_DIR] [--ranks 1|2] [--rounds N] [--threads T]
#                                [--bag-examples N] [--lstm-examples N] [--repeats R]
#                                [--models "embedding_bag lstm"]
#
# --ranks 2 runs both sides under mpirun (Cohort's ddp, PyTorch's
# DistributedDataParallel over gloo), the global batch 64 either way.
# Environment: PYTHON (python3), MPIRUN (mpirun), PYTHONPATH (found at
# /opt/cohort/torch-2.11.0 if torch is not importable).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=build ranks=1 rounds=2 threads=1 bag_examples=6400 lstm_examples=640 repeats=3 models="embedding_bag lstm"
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --bag-examples) bag_examples="$2"; shift ;;
    --lstm-examples) lstm_examples="$2"; shift ;;
    --repeats) repeats="$2"; shift ;;
    --models) models="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "run_text_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
  esac
  shift
done
bench="$build/bin/cohort-bench-text"
if [ ! -x "$bench" ]; then
  echo "run_text_benchmarks.sh: $bench does not exist; build it first (make bench)." >&2
  exit 2
fi
source "$here/peers/python_env.sh"
launch() {
  if [ "$ranks" = 1 ]; then "$@"; else "${MPIRUN:-mpirun}" -np "$ranks" --oversubscribe --bind-to none \
    -x PYTHONPATH -x PYTHONWARNINGS "$@"; fi
}
results=$(mktemp /tmp/cohort-text-bench.XXXXXX.jsonl)
echo "Text models: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ranks rank(s), $threads thread(s) each," \
     "rounds $rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
port=$((29600 + RANDOM % 2000))
for model in $models; do
  examples=$bag_examples; [ "$model" = lstm ] && examples=$lstm_examples
  args=(--model "$model" --examples "$examples" --repeats "$repeats" --threads "$threads")
  for ((r = 0; r < rounds; ++r)); do
    for side in cohort pytorch pytorch cohort; do
      port=$((port + 1))
      if [ "$side" = cohort ]; then launch "$bench" "${args[@]}"
      else launch "$PYTHON" "$here/peers/pytorch_text.py" "${args[@]}" --port "$port"; fi | grep '^{' >> "$results"
    done
  done
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); runs in $results"
"$PYTHON" - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print("| model | Cohort (samples/s, median) | PyTorch (samples/s, median) | Cohort / PyTorch |"
      " hand-written LibTorch (samples/s, median) | Cohort / hand-written | runs each |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for model in sorted({r["model"] for r in runs}):
    mine = [r for r in runs if r["model"] == model and r["system"] == "cohort"]
    c = statistics.median(r["samples_per_second"] for r in mine)
    p = statistics.median(r["samples_per_second"] for r in runs if r["model"] == model and r["system"] == "pytorch")
    hand = [r["hand_written_samples_per_second"] for r in mine if "hand_written_samples_per_second" in r]
    h = f"{statistics.median(hand):,.0f}" if hand else "-"
    ratio = f"{c / statistics.median(hand):.3f}" if hand else "-"
    print(f"| {model} | {c:,.0f} | {p:,.0f} | {c / p:.3f} | {h} | {ratio} | {len(mine)} |")
PY
