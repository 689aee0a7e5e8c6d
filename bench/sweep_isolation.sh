#!/usr/bin/env bash
# What isolated trials cost (docs/benchmarks.md, "Isolated trials"): the same
# small sweep of two-rank ddp trials on the synthetic data of the tests, run
# in the sweep's own ranks (mpirun -np 3: a coordinator and one group of two)
# and with objective.isolation "process" (mpirun -np 2: a coordinator and one
# rank that starts `mpirun -np 2 cohort-train` per trial), alternated
# A B B A per round. Prints one line per run: the mode and the sweep's own
# seconds (its final line's "seconds": from its first trial to its last).
#
#   bench/sweep_isolation.sh [bin dir] [rounds] [trials] [budget in epochs] [base config]
#
# The base config defaults to tests/cli/synthetic.json (trials of milliseconds:
# what remains is the cost of a trial's start); its strategy is set to ddp.
# The learning rates stay low enough that no Fashion-MNIST trial diverges: a
# diverging trial is retried under isolation, not in-process.
set -euo pipefail
bin=$(realpath "${1:-build/bin}")
rounds=${2:-2}
trials=${3:-8}
budget=${4:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
base=$(realpath "${5:-$here/tests/cli/synthetic.json}")
work=$(mktemp -d /tmp/sweep-isolation.XXXXXX)
flags=(--oversubscribe --bind-to none)
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

python3 - "$base" "$work" "$trials" "$budget" <<'PY'
import json, sys
base_path, work, trials, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
base = json.load(open(base_path))
base["strategy"] = {"name": "ddp"}
sweep = {"base": base,
         "space": {"optimizer.lr": {"type": "loguniform", "low": 0.005, "high": 0.05}},
         "objective": {"metric": "val_accuracy", "mode": "max"},
         "budget": {"min": budget, "max": budget},
         "max_trials": trials, "ranks_per_trial": 2, "sync_journal": False}
json.dump(sweep, open(f"{work}/in_process.json", "w"))
sweep["objective"].update(isolation="process", launcher=["mpirun", "-np", "{ranks}", "--oversubscribe",
                                                        "--bind-to", "none"])
json.dump(sweep, open(f"{work}/isolated.json", "w"))
PY

run() {  # mode ranks run-number
  mpirun -np "$2" "${flags[@]}" "$bin/cohort-tune" --config "$work/$1.json" --set "output_dir=$work/$1-$3" \
      --log-level warn | tail -n1 | python3 -c "import json, sys; r = json.load(sys.stdin); \
print('$1', r['seconds'], r['completed'], sep='\t')"
}
n=0
for ((round = 0; round < rounds; ++round)); do
  run in_process 3 $((n++)); run isolated 2 $((n++)); run isolated 2 $((n++)); run in_process 3 $((n++))
done
rm -rf "$work"
