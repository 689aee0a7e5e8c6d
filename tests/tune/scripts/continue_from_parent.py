#!/usr/bin/env python3
"""A command objective that continues from its parent's checkpoint, as a
training job does (docs/sweeps.md, "{parent_dir}"): usage
continue_from_parent.py X BUDGET TRIAL_DIR PARENT_DIR. It "trains" from the
epoch its parent's state.json reached (0 without a parent) to BUDGET, one
line per epoch run in TRIAL_DIR/epochs_run.txt, saves its own state.json and
prints the loss."""
import json
import os
import sys

x, budget, trial_dir, parent_dir = float(sys.argv[1]), int(float(sys.argv[2])), sys.argv[3], sys.argv[4]
state = {"epochs": 0, "loss": 1.0}
if parent_dir:
    with open(os.path.join(parent_dir, "state.json")) as f:
        state = json.load(f)
with open(os.path.join(trial_dir, "epochs_run.txt"), "w") as log:
    for epoch in range(state["epochs"] + 1, budget + 1):
        state["loss"] = (x - 0.3) ** 2 + 1.0 / epoch
        log.write(f"{epoch}\n")
state["epochs"] = budget
with open(os.path.join(trial_dir, "state.json"), "w") as f:
    json.dump(state, f)
print(json.dumps({"loss": state["loss"]}))
