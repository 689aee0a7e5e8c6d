#!/usr/bin/env python3
"""Plots the median regret curves that `cohort-bench-tuner --json` (and
bench/peers/optuna_peer.py --json) print.

    build/bin/cohort-bench-tuner --json > /tmp/tuner.txt
    python3 bench/peers/optuna_peer.py --json > /tmp/optuna.txt
    python3 bench/plot_tuner.py /tmp/tuner.txt /tmp/optuna.txt docs/img

Writes one SVG per objective, regret (log) against budget spent in units of
max_budget (log), one line per method from every input file: the colour says
the sampler (Optuna's in green), the dash the scheduler. Needs matplotlib
(`python3 -m pip install matplotlib`).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLOOR = 1e-8  # a regret of exactly 0 (the optimum hit) cannot sit on a log axis


COLOURS = {"random": "tab:gray", "bohb": "tab:blue", "tpe": "tab:red", "optuna-tpe": "tab:green"}
DASHES = {"fifo": ":", "hyperband": "-", "asha": "--"}


def curves(path, by_objective):
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("measure") == "median_regret_curve":
                points = [(b, max(r, FLOOR)) for b, r in record["points"] if r is not None]
                by_objective.setdefault(record["objective"], {})[record["method"]] = (points, record["seeds"])


def plot(objective, methods, directory):
    figure, axes = plt.subplots(figsize=(6, 4))
    for method, (points, seeds) in methods.items():
        sampler, _, scheduler = method.partition("+")
        axes.plot([b for b, _ in points], [r for _, r in points], label=method, drawstyle="steps-post",
                  color=COLOURS.get(sampler), linestyle=DASHES.get(scheduler, "-"))
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("budget spent (x max_budget)")
    axes.set_ylabel(f"median regret over {seeds} seeds")
    axes.set_title(objective)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    path = os.path.join(directory, f"tuner-regret-{objective}.svg")
    figure.savefig(path, metadata={"Date": None})
    plt.close(figure)
    print(path)


def main():
    *sources, directory = sys.argv[1:]
    os.makedirs(directory, exist_ok=True)
    by_objective = {}
    for source in sources:
        curves(source, by_objective)
    for objective, methods in by_objective.items():
        plot(objective, methods, directory)


if __name__ == "__main__":
    main()
