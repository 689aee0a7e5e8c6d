#!/usr/bin/env python3
"""Plots the median regret curves that `cohort-bench-tuner --json` (and
bench/peers/optuna_peer.py --json) print.

    build/bin/cohort-bench-tuner --json > /tmp/tuner.txt
    python3 bench/peers/optuna_peer.py --json > /tmp/optuna.txt
    python3 bench/plot_tuner.py /tmp/tuner.txt /tmp/optuna.txt docs/img

    python3 bench/plot_tuner.py --table /tmp/tuner.txt /tmp/optuna.txt

prints instead the Markdown tables of docs/benchmarks.md: the median regret
at the common (largest) budget of every method, and the issue's comparisons
(Cohort's best model-based method against Optuna TPE + Hyperband, model-based
+ ASHA against random + ASHA, full-fidelity model-based against Optuna TPE).

Writes one SVG per objective, regret (log) against budget spent in units of
max_budget (log), one line per method from every input file: the colour says
the sampler (Optuna's in green), the dash the scheduler. Needs matplotlib
(`python3 -m pip install matplotlib`).
"""
import json
import os
import sys


MODEL_BASED = ("bohb", "tpe", "gp")

FLOOR = 1e-8  # a regret of exactly 0 (the optimum hit) cannot sit on a log axis


COLOURS = {"random": "tab:gray", "bohb": "tab:blue", "tpe": "tab:red", "gp": "tab:purple", "optuna-tpe": "tab:green"}
DASHES = {"fifo": ":", "hyperband": "-", "asha": "--", "asha-hb": "-."}


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


def final_regrets(paths):
    """{objective: {method: median regret at the largest budget reported}}, and that budget."""
    best_budget, values = {}, {}
    for path in paths:
        with open(path) as lines:
            for line in lines:
                if not line.startswith("{"):
                    continue
                record = json.loads(line)
                if record.get("measure") != "median_regret":
                    continue
                key = (record["objective"], record["method"])
                if record["budget"] >= best_budget.get(key, -1):
                    best_budget[key] = record["budget"]
                    value = record["value"]
                    values.setdefault(record["objective"], {})[record["method"]] = (
                        float("inf") if value is None else value)
    return values, max(best_budget.values())


def fmt(x):
    if x == float("inf"):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.2e}"


def verdict(ours, theirs):
    return "better" if ours < theirs else ("equal" if ours == theirs else "**worse**")


def tables(paths):
    values, budget = final_regrets(paths)
    methods = sorted({m for by_method in values.values() for m in by_method})
    print(f"Median regret at {fmt(budget)} x max_budget:\n")
    print("| objective | " + " | ".join(methods) + " |")
    print("| --- |" + " --- |" * len(methods))
    for objective, by_method in values.items():
        print(f"| {objective} | " + " | ".join(fmt(by_method.get(m, float("nan"))) for m in methods) + " |")
    print("\nThe issue's comparisons (same budget, same seeds):\n")
    print("| objective | Cohort's best model-based | tpe+hyperband | Optuna TPE + Hyperband | best / tpe+hb vs Optuna |"
          " tpe+asha | random+asha | |"
          " best model-based + fifo | Optuna TPE alone | |")
    print("| --- |" + " --- |" * 10)
    for objective, r in values.items():
        model = {m: v for m, v in r.items() if m.split("+")[0] in MODEL_BASED}
        best = min(model, key=model.get)
        fifo = min((m for m in model if m.endswith("+fifo")), key=model.get)
        hb, alone = r["optuna-tpe+hyperband"], r["optuna-tpe+fifo"]
        tpe_hb = r["tpe+hyperband"]
        print(f"| {objective} | {best} {fmt(model[best])} | {fmt(tpe_hb)} | {fmt(hb)} |"
              f" {verdict(model[best], hb)} / {verdict(tpe_hb, hb)} |"
              f" {fmt(r['tpe+asha'])} | {fmt(r['random+asha'])} | {verdict(r['tpe+asha'], r['random+asha'])} |"
              f" {fifo} {fmt(model[fifo])} | {fmt(alone)} | {verdict(model[fifo], alone)} |")


def plot(objective, methods, directory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    if sys.argv[1] == "--table":
        tables(sys.argv[2:])
        return
    *sources, directory = sys.argv[1:]
    os.makedirs(directory, exist_ok=True)
    by_objective = {}
    for source in sources:
        curves(source, by_objective)
    for objective, methods in by_objective.items():
        plot(objective, methods, directory)


if __name__ == "__main__":
    main()
