#!/usr/bin/env python3
"""Cohort's event files read by TensorBoard's own loader (issue 20).

    check_tensorboard.py <case> <cohort-train> <cohort-tune> <synthetic.json> <work dir>

Cases: curves, resume, killed, ddp, sweep, screenshot. Each runs the real programs on a
small synthetic config and compares what TensorBoard reads (EventAccumulator,
the HParams plugin's metadata parser) with metrics.jsonl and the sweep's
journal. TensorBoard comes from PYTHONPATH (scripts/setup.sh installs it under
/opt/cohort/tensorboard-<version>-py<X.Y>; CTest sets the path).
"""
import glob
import json
import math
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy
from PIL import Image

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import api_pb2, metadata

CASE, TRAIN, TUNE, SYNTHETIC, WORK = sys.argv[1:6]
MPIEXEC = shlex.split(os.environ.get("COHORT_MPIEXEC", "mpirun"))


def fail(message):
    print("FAILED: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(command):
    print("+ " + " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        fail(f"{command[0]} exited with {done.returncode}")
    return done


def fresh(name):
    path = os.path.join(WORK, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def train(output_dir, *overrides, launcher=(), resume=None):
    sets = [f"output_dir={output_dir}", "trainer.log_every=2", *overrides]
    return run([*launcher, TRAIN, "--config", SYNTHETIC] + [a for s in sets for a in ("--set", s)] +
               (["--resume", resume] if resume else []))


def accumulator(directory):
    loaded = event_accumulator.EventAccumulator(directory, size_guidance={event_accumulator.SCALARS: 0,
                                                                          event_accumulator.TENSORS: 0})
    loaded.Reload()
    return loaded


def event_files(directory, training_only=True):
    files = sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*")))
    return [f for f in files if not (training_only and f.endswith(".hparams"))]


def epoch_records(directory):
    with open(os.path.join(directory, "metrics.jsonl")) as lines:
        return [r for r in map(json.loads, lines) if r.get("event") == "epoch"]


def flattened(value, tag=""):
    """The record's numbers as the callback tags them: nested keys joined by '/'."""
    if isinstance(value, bool) or isinstance(value, str) or value is None:
        return {}
    if isinstance(value, (int, float)):
        return {tag: float(value)}
    items = value.items() if isinstance(value, dict) else ((str(i), v) for i, v in enumerate(value))
    out = {}
    for key, item in items:
        out.update(flattened(item, f"{tag}/{key}" if tag else key))
    return out


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def check_curves(directory):
    """Every number of every epoch record is a curve at the record's steps, with its values."""
    loaded = accumulator(directory)
    tags = set(loaded.Tags()["scalars"])
    records = epoch_records(directory)
    check(records, f"{directory}: metrics.jsonl has no epoch record")
    expected = {}
    for record in records:
        for tag, value in flattened({k: v for k, v in record.items() if k != "step"}).items():
            expected.setdefault(tag, []).append((record["step"], value))
    for required in ("train_loss", "val_loss", "val_accuracy", "lr", "samples_per_second", "memory/cpu_rss_mb"):
        check(required in tags, f"{directory}: no curve {required} among {sorted(tags)}")
    for tag, points in expected.items():
        check(tag in tags, f"{directory}: no curve {tag}")
        got = [(e.step, e.value) for e in loaded.Scalars(tag)]
        check([s for s, _ in got] == [s for s, _ in points],
              f"{directory}: {tag} at steps {[s for s, _ in got]}, metrics.jsonl has {[s for s, _ in points]}")
        for (step, value), (_, want) in zip(got, points):
            check(close(value, float(numpy.float32(want))), f"{tag} at step {step}: {value} != {want}")
    steps = [e.step for e in loaded.Scalars("step/train_loss")]
    last = records[-1]["step"]
    check(steps == list(range(2, last + 1, 2)), f"{directory}: step/train_loss at {steps}, not every 2nd step to {last}")
    check(len(set(steps)) == len(steps), f"{directory}: duplicate steps")
    # A constant schedule: every step's rate is the epochs' rate.
    rates = {float(numpy.float32(r["lr"])) for r in records}
    check({e.value for e in loaded.Scalars("step/lr")} == rates, f"{directory}: step/lr is not the epochs' {rates}")
    return loaded


def case_curves():
    out = fresh("curves")
    train(out, "trainer.epochs=3")
    check(len(event_files(out)) == 1, f"{out}: one run, one event file")
    check_curves(out)
    off = fresh("curves-off")
    train(off, "logging.tensorboard=false")
    check(not event_files(off), "logging.tensorboard=false still wrote event files")


def case_resume():
    out = fresh("resume")
    train(out, "trainer.epochs=2")
    train(out, "trainer.epochs=4", resume=os.path.join(out, "checkpoints"))
    check(len(event_files(out)) == 2, f"{out}: a resumed run writes a second event file")
    loaded = check_curves(out)
    for tag in loaded.Tags()["scalars"]:
        steps = [e.step for e in loaded.Scalars(tag)]
        check(steps == sorted(set(steps)), f"{tag}: duplicate or overlapping steps {steps}")
    check(len(epoch_records(out)) == 4, "the resumed run did not train epochs 3 and 4")


def case_killed():
    """A run killed with SIGKILL leaves curves readable up to its last flush (every epoch)."""
    out = fresh("killed")
    command = [TRAIN, "--config", SYNTHETIC, "--set", f"output_dir={out}", "--set", "trainer.epochs=10000"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = os.path.join(out, "metrics.jsonl")
    try:
        for _ in range(600):
            if os.path.exists(metrics) and len(epoch_records(out)) >= 3:
                break
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    steps = [r["step"] for r in epoch_records(out)]
    check(len(steps) >= 3, f"the run wrote {len(steps)} epochs before it was killed")
    events = [e.step for e in accumulator(out).Scalars("val_loss")]
    # metrics.jsonl is written before the events of an epoch: a kill between
    # the two leaves the last epoch out of the event file, and nothing else.
    check(events in (steps, steps[:-1]), f"event file has epochs at {events}, metrics.jsonl at {steps}")


def case_ddp():
    out = fresh("ddp")
    train(out, "strategy.name=ddp", launcher=[*MPIEXEC, "-np", "2"])
    files = event_files(out)
    check(len(files) == 1, f"2 ranks wrote {len(files)} event files, not the writer's one")
    check_curves(out)


def write_sweep(out):
    with open(SYNTHETIC) as f:
        base = json.load(f)
    base["trainer"]["log_every"] = 2
    sweep = {
        "base": base,
        "space": {"optimizer.lr": {"type": "loguniform", "low": 0.01, "high": 0.3},
                  "model.hidden": {"type": "choice", "values": [[8], [16]]}},
        "objective": {"metric": "val_loss", "mode": "min"},
        "budget": {"min": 1, "max": 3, "eta": 3},
        "sampler": {"name": "random"},
        "scheduler": {"name": "successive_halving"},
        "max_trials": 4,
        "seed": 2,
        "output_dir": os.path.join(out, "sweep"),
    }
    path = os.path.join(out, "sweep.json")
    with open(path, "w") as f:
        json.dump(sweep, f)
    return path, sweep


def plugin_data(directory):
    return accumulator(directory).PluginTagToContent(metadata.PLUGIN_NAME)


def case_sweep():
    out = fresh("sweep")
    path, sweep = write_sweep(out)
    run([TUNE, "--config", path])
    root = sweep["output_dir"]
    experiment = metadata.parse_experiment_plugin_data(plugin_data(root)[metadata.EXPERIMENT_TAG])
    hparams = {h.name: h for h in experiment.hparam_infos}
    check(set(hparams) == {"optimizer.lr", "model.hidden", "budget"}, f"hparams {sorted(hparams)}")
    lr = hparams["optimizer.lr"]
    check(lr.type == api_pb2.DATA_TYPE_FLOAT64 and close(lr.domain_interval.min_value, 0.01) and
          close(lr.domain_interval.max_value, 0.3), f"optimizer.lr's domain: {lr}")
    hidden = hparams["model.hidden"]
    check(hidden.type == api_pb2.DATA_TYPE_STRING and
          [v.string_value for v in hidden.domain_discrete.values] == ["[8]", "[16]"], f"model.hidden: {hidden}")
    check([m.name.tag for m in experiment.metric_infos] == ["objective/val_loss"], f"{experiment.metric_infos}")

    with open(os.path.join(root, "journal.jsonl")) as lines:
        journal = [json.loads(line) for line in lines]
    asked = {e["trial"]["id"]: e["trial"] for e in journal if e["event"] == "ask"}
    told = {e["trial_id"]: e for e in journal if e["event"] == "tell"}
    check(any(t["parent"] >= 0 for t in asked.values()), "the sweep promoted no trial")
    for trial_id, trial in asked.items():
        directory = os.path.join(root, "trials", str(trial_id))
        content = plugin_data(directory)
        start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        check(close(start.hparams["optimizer.lr"].number_value, trial["config"]["optimizer.lr"]), f"trial {trial_id} lr")
        check(start.hparams["model.hidden"].string_value == json.dumps(trial["config"]["model.hidden"]).replace(" ", ""),
              f"trial {trial_id} model.hidden {start.hparams['model.hidden']}")
        check(close(start.hparams["budget"].number_value, trial["budget"]), f"trial {trial_id} budget")
        check(end.status == api_pb2.STATUS_SUCCESS, f"trial {trial_id} status {end.status}")
        objective = accumulator(directory).Scalars("objective/val_loss")
        check(len(objective) == 1 and close(objective[0].value, float(numpy.float32(told[trial_id]["value"]))),
              f"trial {trial_id}: objective {objective} vs {told[trial_id]['value']}")
        # The trial's own training curves, a promoted one's starting with its parent's.
        check_curves(directory)
        if trial["parent"] >= 0:
            parent_steps = [r["step"] for r in epoch_records(os.path.join(root, "trials", str(trial["parent"])))]
            steps = [e.step for e in accumulator(directory).Scalars("train_loss")]
            check(steps[:len(parent_steps)] == parent_steps and len(steps) > len(parent_steps),
                  f"trial {trial_id} does not continue its parent's curve: {steps} vs {parent_steps}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot(url, png, profile):
    """A 1400x900 picture of `url` in headless Chromium, after its scripts ran."""
    run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
         "--window-size=1400,900", "--virtual-time-budget=15000", f"--screenshot={png}", url])


def is_curve_colour(pixel):
    red, green, blue = pixel
    return red > 220 and 80 < green < 140 and 30 < blue < 100


def case_screenshot():
    """tensorboard --logdir over a run, in headless Chromium: a picture with a curve."""
    out = fresh("screenshot")
    logdir = os.path.join(out, "runs")
    train(os.path.join(logdir, "synthetic"), "trainer.epochs=4")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        tags = None
        for _ in range(120):
            try:
                tags = json.load(urllib.request.urlopen(f"{url}/data/plugin/scalars/tags", timeout=2))
                if tags.get("synthetic"):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(tags and "train_loss" in tags.get("synthetic", {}), f"TensorBoard serves no train_loss curve: {tags}")
        png = os.path.join(out, "tensorboard.png")
        screenshot(f"{url}/#scalars&tagFilter=loss&_smoothingWeight=0", png, os.path.join(out, "chromium-profile"))
    finally:
        server.terminate()
        server.wait()
    # The Scalars dashboard draws its curves in SVG (headless Chromium has no
    # WebGL for the Time Series one), the first run's in #ff7043: count such
    # pixels among the charts, below the orange header and right of the settings.
    image = Image.open(png).convert("RGB")
    check(image.size == (1400, 900), f"screenshot size {image.size}")
    width, height = image.size
    curve = sum(1 for y in range(180, height) for x in range(360, width)
                if is_curve_colour(image.getpixel((x, y))))
    check(curve > 300, f"the screenshot shows no curve ({curve} pixels of the curve's colour)")
    keep = os.environ.get("COHORT_SCREENSHOT_TO")
    if keep:
        shutil.copy(png, keep)
    print(f"screenshot: {png}, {curve} pixels of the curve's colour")


{"curves": case_curves, "resume": case_resume, "killed": case_killed, "ddp": case_ddp, "sweep": case_sweep,
 "screenshot": case_screenshot}[CASE]()
print(f"{CASE}: passed")
