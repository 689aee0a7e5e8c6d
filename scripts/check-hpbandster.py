#!/usr/bin/env python3
"""Reads a Cohort sweep's configs.json/results.json with HpBandSter's own loader.

    python3 -m pip install --target /tmp/hbs numpy
    python3 -m pip download --no-deps -d /tmp/hbs hpbandster==0.7.4 && tar xzf /tmp/hbs/hpbandster-0.7.4.tar.gz -C /tmp/hbs
    PYTHONPATH=/tmp/hbs:/tmp/hbs/hpbandster-0.7.4 python3 scripts/check-hpbandster.py OUTPUT_DIR

Only hpbandster.core.result is used; Pyro4 (its network layer) is stubbed out.
Prints the number of runs and configurations and the incumbent HpBandSter finds,
to compare with Cohort's best.json.
"""
import json
import sys
import types

for name in ["Pyro4", "Pyro4.errors", "Pyro4.naming", "Pyro4.core"]:
    sys.modules.setdefault(name, types.ModuleType(name))
pyro = sys.modules["Pyro4"]
pyro.expose = pyro.oneway = pyro.callback = lambda f: f
pyro.behavior = lambda *args, **kwargs: (lambda cls: cls)

import hpbandster.core.result as hpres  # noqa: E402

directory = sys.argv[1]
result = hpres.logged_results_to_HBS_result(directory)
incumbent = result.get_incumbent_id()
runs = result.get_runs_by_id(incumbent)
best = json.load(open(f"{directory}/best.json"))
print(f"runs {len(result.get_all_runs())}, configurations {len(result.get_id2config_mapping())}")
print(f"HpBandSter's incumbent {incumbent}: loss {runs[-1].loss} at budget {runs[-1].budget}")
print(f"Cohort's best.json: value {best['value']} at budget {best['budget']}")
