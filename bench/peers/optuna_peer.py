#!/usr/bin/env python3
"""Optuna as a measured peer of the tuner's benchmark (bench/tuner.cpp).

Install: `pip install optuna` (measured with the version this prints; no
virtual environment needed). The objectives are Cohort's own C++ test
functions, served by `cohort-bench-tuner --evaluate NAME` over a persistent
pipe (JSON lines), so both sides evaluate exactly the same functions.

Methods, over the same spaces, seeds and total budget as the C++ benchmark:
  optuna-tpe+fifo       TPESampler(seed) alone: every trial at max_budget.
  optuna-tpe+hyperband  TPESampler(seed) with HyperbandPruner(min_budget,
                        max_budget, reduction_factor 3). A trial reports the
                        objective at each rung budget (min_budget * 3^k) and
                        stops when the pruner says so.
Budget is counted as in the C++ benchmark, as the sum of budgets evaluated:
max_budget per fifo trial, and for a pruned or completed Hyperband trial the
last step it reported (a trial continues its own training, as Optuna's
pruning assumes: reaching step 27 costs 27, not 1 + 3 + 9 + 27, which favours
Optuna: Cohort's promoted trials start over and pay every rung in full).
No trial starts once the budget is spent (K x max_budget).
The incumbent after each evaluation is the best trial at the largest budget
reached so far (Cohort's Study::best()); its regret is its value at max_budget
less the optimum.

    python3 bench/peers/optuna_peer.py --seeds 20 --budget-multiple 100 \
        --json > /tmp/optuna.txt

prints a Markdown table per objective and, with --json, one JSON line per
measurement in cohort-bench-tuner's format (bench/plot_tuner.py reads both).
"""

import argparse
import bisect
import json
import math
import statistics
import subprocess
import sys
import time

import optuna

OBJECTIVES = ["branin", "hartmann6", "counting_ones", "branin_mf", "hartmann6_mf", "learning_curve"]
METHODS = ["optuna-tpe+fifo", "optuna-tpe+hyperband"]


class Evaluator:
    """One cohort-bench-tuner --evaluate process, kept open for every call."""

    def __init__(self, binary, name):
        self.process = subprocess.Popen([binary, "--evaluate", name], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        self.description = self._ask({"describe": True})

    def _ask(self, request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def __call__(self, config, budget):
        return self._ask({"config": config, "budget": budget})["value"]

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def suggest(trial, space):
    """A configuration from Optuna's trial, parameter by parameter as Cohort's space defines them."""
    config = {}
    for path, p in space.items():
        kind = p["type"]
        if kind in ("uniform", "loguniform"):
            config[path] = trial.suggest_float(path, p["low"], p["high"], log=kind == "loguniform")
        elif kind == "int":
            config[path] = trial.suggest_int(path, p["low"], p["high"], log=p.get("log", False))
        elif kind in ("choice", "ordinal", "grid"):
            config[path] = trial.suggest_categorical(path, p["values"])
        elif kind == "fixed":
            config[path] = p["value"]
        else:
            raise ValueError(f"unknown parameter type {kind}")
    return config


def rung_budgets(low, high, eta=3):
    budgets, b = [], low
    while b < high * (1 - 1e-9):
        budgets.append(b)
        b *= eta
    return budgets + [high]


class Curve:
    """Regret of the incumbent (best value at the largest budget reached) against budget spent.
    The regret is the incumbent's value at max_budget less the optimum (an evaluation not counted
    as budget, as in the C++ benchmark: a budget-aware objective's low budgets are biased)."""

    def __init__(self, evaluate, description):
        self.evaluate, self.high = evaluate, description["max_budget"]
        self.optimum, self.spent, self.regret = description["optimum"], [], []
        self.top_budget, self.best, self.current = -math.inf, math.inf, math.inf

    def add(self, spent, budget, value, config):
        if budget > self.top_budget or (budget == self.top_budget and value < self.best):
            self.top_budget, self.best = budget, value
            self.current = self.evaluate(config, self.high) - self.optimum
        self.spent.append(spent)
        self.regret.append(self.current)

    def regret_at(self, budget):
        i = bisect.bisect_right(self.spent, budget * (1 + 1e-9))
        return math.inf if i == 0 else self.regret[i - 1]


def run_study(evaluate, description, method, seed, budget_multiple):
    low, high = description["min_budget"], description["max_budget"]
    limit = budget_multiple * high
    pruner = (optuna.pruners.HyperbandPruner(min_resource=int(low), max_resource=int(high), reduction_factor=3)
              if method.endswith("hyperband") else optuna.pruners.NopPruner())
    study = optuna.create_study(study_name=f"peer-{seed}", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=pruner)
    curve, spent, trials = Curve(evaluate, description), 0.0, 0
    steps = rung_budgets(low, high) if method.endswith("hyperband") else [high]
    while spent < limit:
        trial = study.ask()
        config = suggest(trial, description["space"])
        trials += 1
        reached, pruned, value = 0.0, False, None
        for step in steps:
            value = evaluate(config, step)
            spent += step - reached
            reached = step
            curve.add(spent / high, step, value, config)
            if step < high:
                trial.report(value, int(step))
                if trial.should_prune():
                    pruned = True
                    break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return curve, trials


def number(x, digits=4):
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.{digits - 1}e}"


def curve_grid(description, budget_multiple):
    """The C++ benchmark's grid: from one cheapest evaluation to the total, 8 points per decade."""
    grid, b = [], description["min_budget"] / description["max_budget"]
    while b < budget_multiple:
        grid.append(b)
        b *= 10 ** (1 / 8)
    return grid + [budget_multiple]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="build/bin/cohort-bench-tuner")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget-multiple", type=float, default=100.0)
    parser.add_argument("--objectives", nargs="+", default=OBJECTIVES, choices=OBJECTIVES)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    print(f"command: {' '.join(sys.argv)}")
    print(f"optuna {optuna.__version__}, seeds {args.seeds}, total budget {number(args.budget_multiple)} x "
          f"max_budget per study, eta 3, sequential\n")
    checkpoints = [b for b in (10.0, 30.0, 100.0) if b <= args.budget_multiple]
    if not checkpoints or checkpoints[-1] < args.budget_multiple:
        checkpoints.append(args.budget_multiple)
    lines = []
    for name in args.objectives:
        evaluate = Evaluator(args.binary, name)
        d = evaluate.description
        print(f"### {d['name']} (optimum {number(d['optimum'], 6)}, budgets {number(d['min_budget'])}.."
              f"{number(d['max_budget'])})\n")
        print("| method |" + "".join(f" regret at {number(b)} |" for b in checkpoints)
              + " trials per study (median) | wall s |")
        print("| --- |" + " --- |" * (len(checkpoints) + 2))
        grid = curve_grid(d, args.budget_multiple)
        for method in args.methods:
            start = time.time()
            at = [[] for _ in checkpoints]
            on_grid = [[] for _ in grid]
            trials = []
            for seed in range(1, args.seeds + 1):
                curve, n = run_study(evaluate, d, method, seed, args.budget_multiple)
                trials.append(n)
                for i, b in enumerate(checkpoints):
                    at[i].append(curve.regret_at(b))
                for i, b in enumerate(grid):
                    on_grid[i].append(curve.regret_at(b))
            wall = time.time() - start
            medians = [statistics.median(v) for v in at]
            print(f"| {method} |" + "".join(f" {number(m)} |" for m in medians)
                  + f" {statistics.median(trials):.0f} | {wall:.1f} |", flush=True)
            finite = lambda x: x if math.isfinite(x) else None
            for b, m in zip(checkpoints, medians):
                lines.append({"benchmark": "tuner", "measure": "median_regret", "objective": d["name"],
                              "method": method, "seeds": args.seeds, "budget": b, "value": finite(m)})
            lines.append({"benchmark": "tuner", "measure": "median_regret_curve", "objective": d["name"],
                          "method": method, "seeds": args.seeds,
                          "points": [[b, finite(statistics.median(v))] for b, v in zip(grid, on_grid)]})
        evaluate.close()
        print()
    if args.json:
        for line in lines:
            print(json.dumps(line))


if __name__ == "__main__":
    main()
