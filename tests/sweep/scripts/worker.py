#!/usr/bin/env python3
"""A persistent worker for the command-objective tests (docs/sweeps.md,
"Persistent workers"): reads trials as JSON lines on stdin and answers each
with JSON lines on stdout. config["mode"] picks a misbehaviour: "crash" exits
mid-trial, "hang" never answers, "garbage" prints a line that is no JSON,
"nometric" answers without the metric. Every trial's loss is x, reported at
budgets 1, 2, ... below the trial's budget first; on {"prune": true} the
worker drops the trial and reads the next."""
import json
import os
import sys
import time

for line in sys.stdin:
    trial = json.loads(line)
    config = trial["config"]
    mode = config.get("mode", "ok")
    print(f"trial {trial['trial_id']} in {trial['trial_dir']}", file=sys.stderr, flush=True)
    if mode == "crash":
        print("worker: simulated crash", file=sys.stderr, flush=True)
        os._exit(3)
    if mode == "hang":
        time.sleep(60)
    if mode == "garbage":
        print("this is not json", flush=True)
        continue
    if mode == "nometric":
        print(json.dumps({"other": 1}), flush=True)
        continue
    pruned = False
    for step in range(1, int(trial["budget"])):
        print(json.dumps({"budget": step, "loss": config["x"] * step}), flush=True)
        if json.loads(sys.stdin.readline())["prune"]:
            pruned = True
            break
    if not pruned:
        print(json.dumps({"loss": config["x"], "pid": os.getpid(), "parent_dir": trial["parent_dir"]}), flush=True)
