#!/usr/bin/env bash
# Builds Cohort on a Linux machine with an NVIDIA GPU and Python's CUDA torch,
# runs every test tagged [cuda], and writes a summary (see docs/gpu.md).
#
#   scripts/gpu-check.sh OUTDIR [--deps DIR] [--bench] [options]
#
#   OUTDIR          where the results go: summary.json, summary.txt,
#                   gpu-check.log (everything printed) and details.tar.gz
#                   (the tests' Catch2 XML and output, CMake's and the
#                   build's logs); nothing else is written there
#   --deps DIR      a tree of unpacked Debian 12 packages (DIR/usr/include,
#                   DIR/usr/lib/x86_64-linux-gnu, DIR/usr/bin/mpirun, ...) with
#                   Open MPI, spdlog, fmt, nlohmann-json, CLI11, Catch2 and zlib,
#                   as scripts/fetch-gpu-deps.sh makes it (.gpu-deps/root).
#                   Without it they come from the system.
#   --bench         also time a training step on the GPU (fp32 and bf16):
#                   Cohort's Trainer, a hand-written LibTorch loop
#                   (cohort-bench-single) and PyTorch in Python
#                   (bench/peers/pytorch_single.py)
#   --build-dir D   the build tree (default: build-gpu in the checkout)
#   --budget S      wall-clock seconds for the whole run (default 420); at the
#                   limit everything still running is stopped and the summary
#                   written with what finished
#   --jobs N        parallel compile jobs (default: all cores)
#   --python P      the Python that has torch (default: python3)
#   --no-mpi        skip the runs under mpirun
#
# LibTorch comes from that Python's torch (torch.utils.cmake_prefix_path), NCCL
# from its nvidia-nccl package (site-packages/nvidia/nccl), nvcc from PATH or
# /usr/local/cuda. Every test executable the build defines (a target named
# *-tests, less the tuner's, which has no LibTorch) is built and run with the
# Catch2 filter "[cuda]", in one process (the local back-end); those of the
# distributed layer (names with "distributed" or "ddp") once more as one rank
# under mpirun, when mpirun works here.
#
# Exit status: 0 when the build succeeded and every test that ran passed on a
# GPU; 3 when all that held but torch saw no GPU, or [cuda] tests returned
# early for want of one (a rehearsal on a machine without one); 1 otherwise;
# 2 for a wrong command line; 124 when the budget ran out.
set -uo pipefail

usage() { sed -n '2,/^set -uo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="" DEPS="" BENCH=0 BUILD="$SRC/build-gpu" BUDGET=420 JOBS="" PYTHON="${PYTHON:-python3}" MPI=1
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) DEPS="${2:?--deps needs a directory}"; shift 2 ;;
    --deps=*) DEPS="${1#*=}"; shift ;;
    --bench) BENCH=1; shift ;;
    --build-dir) BUILD="${2:?--build-dir needs a directory}"; shift 2 ;;
    --build-dir=*) BUILD="${1#*=}"; shift ;;
    --budget) BUDGET="${2:?--budget needs seconds}"; shift 2 ;;
    --budget=*) BUDGET="${1#*=}"; shift ;;
    --jobs) JOBS="${2:?--jobs needs a number}"; shift 2 ;;
    --jobs=*) JOBS="${1#*=}"; shift ;;
    --python) PYTHON="${2:?--python needs a program}"; shift 2 ;;
    --python=*) PYTHON="${1#*=}"; shift ;;
    --no-mpi) MPI=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) if [ -z "$OUT" ]; then OUT="$1"; shift; else echo "gpu-check: one OUTDIR only ($1)" >&2; exit 2; fi ;;
  esac
done
[ -n "$OUT" ] || { echo "gpu-check: usage: scripts/gpu-check.sh OUTDIR [--deps DIR] [--bench] (see --help)" >&2; exit 2; }
[[ "$BUDGET" =~ ^[0-9]+$ ]] || { echo "gpu-check: --budget wants whole seconds, not $BUDGET" >&2; exit 2; }
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 4)}"
if [ -n "$DEPS" ]; then
  [ -d "$DEPS/usr/include" ] || { echo "gpu-check: --deps $DEPS: no usr/include there (see scripts/fetch-gpu-deps.sh)" >&2; exit 2; }
  DEPS="$(cd "$DEPS" && pwd)"
fi
mkdir -p "$OUT" "$BUILD" || exit 2
OUT="$(cd "$OUT" && pwd)"
BUILD="$(cd "$BUILD" && pwd)"
WORK="$BUILD/gpu-check"
LOG="$OUT/gpu-check.log"

log() { printf '[gpu-check %s +%4ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - START ))" "$*"; }

# =============================================================================
# The outer half: runs the inner half under the budget, then summarises
# whatever it got done.
# =============================================================================
if [ -z "${GPU_CHECK_INNER:-}" ]; then
  START=$(date +%s)
  export GPU_CHECK_START=$START
  rm -rf "$WORK" "$OUT/summary.json" "$OUT/summary.txt" "$OUT/details.tar.gz"
  mkdir -p "$WORK/logs" "$WORK/results"
  : >"$LOG"
  # timeout puts the inner half in a process group of its own and, at the
  # budget, signals the whole group (compilers, tests, mpirun); KILL 15 s later.
  GPU_CHECK_INNER=1 timeout -k 15 "$BUDGET" bash "${BASH_SOURCE[0]}" "$OUT" --build-dir "$BUILD" \
    --budget "$BUDGET" --jobs "$JOBS" --python "$PYTHON" ${DEPS:+--deps "$DEPS"} \
    $([ $BENCH = 1 ] && echo --bench) $([ $MPI = 0 ] && echo --no-mpi) 2>&1 | tee -a "$LOG"
  inner=${PIPESTATUS[0]}
  if [ "$inner" = 124 ] || [ "$inner" = 137 ]; then
    log "BUDGET EXHAUSTED: stopped after ${BUDGET}s; what finished is summarised below" | tee -a "$LOG"
    printf 'budget\tfailed\t%s\tstopped at the %ss budget\n' "$BUDGET" "$BUDGET" >>"$WORK/steps.tsv"
    if [ -f "$WORK/build.start" ] && ! grep -q '^build	' "$WORK/steps.tsv"; then
      printf 'build\tfailed\t%s\tstopped by the budget at %s\n' "$(( $(date +%s) - $(cat "$WORK/build.start") ))" \
        "$(grep -o '^\[[0-9]*/[0-9]*\]' "$WORK/logs/build.log" 2>/dev/null | tail -n 1)" >>"$WORK/steps.tsv"
    fi
  fi
  export GPU_CHECK_INNER_STATUS=$inner GPU_CHECK_BUDGET=$BUDGET GPU_CHECK_WORK=$WORK GPU_CHECK_OUT=$OUT
  # The summary: a JSON file and a text table. Python's json and xml modules only.
  "$PYTHON" - <<'PY' 2>&1 | tee -a "$LOG"
import glob, json, os, re, time, xml.etree.ElementTree as ET

work, out = os.environ["GPU_CHECK_WORK"], os.environ["GPU_CHECK_OUT"]
inner = int(os.environ["GPU_CHECK_INNER_STATUS"])

def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return default

def read_tsv(path, width):
    rows = []
    if os.path.exists(path):
        for line in open(path, errors="replace"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= width:
                rows.append(parts[:width])
    return rows

info = read_json(os.path.join(work, "info.json"), {})
steps = [{"step": s, "status": st, "seconds": float(sec or 0), "detail": d}
         for s, st, sec, d in read_tsv(os.path.join(work, "steps.tsv"), 4)]

def parse_catch_xml(path):
    """Counts of a Catch2 v2 XML report; a truncated report (a crash) is read as far as it goes."""
    result = {"cases": [], "assertions_passed": 0, "assertions_failed": 0, "complete": False, "unfinished": None}
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return result
    try:
        root = ET.fromstring(text)
        result["complete"] = True
    except ET.ParseError:
        # Close what a crash left open, as far as whole test cases go; name the case it was in.
        cut = text.rfind("</TestCase>")
        opened = re.findall(r'<TestCase name="([^"]*)"', text[cut if cut >= 0 else 0:])
        result["unfinished"] = opened[-1] if opened else None
        if cut < 0:
            return result
        try:
            root = ET.fromstring(text[:cut + len("</TestCase>")] + "</Group></Catch>")
        except ET.ParseError:
            return result
    for case in root.iter("TestCase"):
        res = case.find("OverallResult")
        warnings = [" ".join((w.text or "").split()) for w in case.iter("Warning")]
        failures = []
        for expr in case.iter("Expression"):
            if expr.get("success") == "false":
                orig = " ".join((expr.findtext("Original") or "").split())
                exp = " ".join((expr.findtext("Expanded") or "").split())
                failures.append(f"{expr.get('filename', '?')}:{expr.get('line', '?')}: {orig} with {exp}")
        for tag in ("Exception", "FatalErrorCondition"):
            for e in case.iter(tag):
                failures.append(f"{tag} at {e.get('filename', '?')}:{e.get('line', '?')}: {' '.join((e.text or '').split())}")
        passed = res is not None and res.get("success") == "true"
        skipped = passed and any(re.search(r"no CUDA|skipped|fewer GPUs", w, re.I) for w in warnings)
        result["cases"].append({"name": case.get("name"), "passed": passed, "skipped_no_gpu": skipped,
                                "seconds": float(res.get("durationInSeconds", 0)) if res is not None else None,
                                "warnings": warnings[:5], "failures": failures[:10]})
    totals = root.find("OverallResults")
    if totals is not None:
        result["assertions_passed"] = int(totals.get("successes", 0))
        result["assertions_failed"] = int(totals.get("failures", 0))
    return result

runs = []
for label, exe, mode, rc, seconds, xml_path, log_path in read_tsv(os.path.join(work, "runs.tsv"), 7):
    parsed = parse_catch_xml(xml_path)
    rc = int(rc)
    output = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
    no_match = not parsed["cases"] and ("No test cases matched" in output or (parsed["complete"] and rc == 0))
    cases = parsed["cases"]
    failed = sum(1 for c in cases if not c["passed"])
    if not parsed["complete"] and not no_match:
        failed += 1  # the run ended before its report did: a crash, a timeout
    ok = (rc == 0 or no_match) and failed == 0 and (parsed["complete"] or no_match)
    runs.append({"label": label, "executable": exe, "mode": mode, "exit_status": rc, "seconds": float(seconds),
                 "cases_total": len(cases), "cases_passed": sum(1 for c in cases if c["passed"]),
                 "cases_failed": failed, "cases_skipped_no_gpu": sum(1 for c in cases if c["skipped_no_gpu"]),
                 "assertions_passed": parsed["assertions_passed"], "assertions_failed": parsed["assertions_failed"],
                 "no_cuda_tests": no_match, "report_complete": parsed["complete"],
                 "unfinished_case": parsed["unfinished"], "passed": ok,
                 "output_tail": output[-1500:] if not ok else "",
                 "cases": cases})

bench = []
if os.path.exists(os.path.join(work, "bench.jsonl")):
    for line in open(os.path.join(work, "bench.jsonl"), errors="replace"):
        try:
            bench.append(json.loads(line))
        except ValueError:
            pass

step_failed = [s for s in steps if s["status"] == "failed"]
build_ok = any(s["step"] == "build" and s["status"] == "ok" for s in steps)
all_runs_ok = bool(runs) and all(r["passed"] for r in runs)
skipped = sum(r["cases_skipped_no_gpu"] for r in runs)
reasons = [f"step {s['step']} failed: {s['detail']}" for s in step_failed]
if not build_ok and not any(s["step"] == "build" for s in step_failed):
    reasons.append("the build did not finish")
reasons += [f"{r['label']} failed" for r in runs if not r["passed"]]
if not runs:
    reasons.append("no test ran")
if inner != 0 and not reasons:
    reasons.append(f"the run ended with exit status {inner}")
if reasons:
    overall = "fail"
elif not info.get("cuda_available") or skipped:
    overall = "no-gpu"
    reasons.append(f"{skipped} [cuda] test case(s) returned early without a GPU"
                   + ("" if info.get("cuda_available") else " (torch sees no CUDA device)"))
else:
    overall = "pass"
build_seconds = sum(s["seconds"] for s in steps if s["step"] == "build")
configure_seconds = sum(s["seconds"] for s in steps if s["step"] == "configure")
summary = {"result": overall, "reasons": reasons, "inner_exit_status": inner,
           "budget_seconds": int(os.environ["GPU_CHECK_BUDGET"]),
           "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "gpu": info.get("gpu_name"), "driver": info.get("driver"), "torch": info.get("torch"),
           "torch_cuda": info.get("torch_cuda"), "nccl": info.get("nccl"),
           "configure_seconds": configure_seconds, "build_seconds": build_seconds,
           "info": info, "steps": steps, "runs": runs, "bench": bench}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)

lines = []
lines.append(f"Cohort GPU check: {overall.upper()}" + (f" ({'; '.join(reasons)})" if reasons else ""))
lines.append(f"GPU: {info.get('gpu_name') or 'none seen'} (compute {info.get('capability', '?')}, "
             f"{info.get('gpu_memory_gib', '?')} GiB); driver {info.get('driver') or '?'}; "
             f"torch {info.get('torch', '?')} (CUDA {info.get('torch_cuda', '?')}, NCCL {info.get('nccl', '?')})")
lines.append(f"host: {info.get('cpus', '?')} CPUs, {info.get('os', '?')}; compilers: {info.get('cxx', '?')}; "
             f"nvcc {info.get('nvcc', '?')}; cmake {info.get('cmake', '?')}")
lines.append(f"configure {configure_seconds:.0f} s, build {build_seconds:.0f} s (Release, {info.get('jobs', '?')} jobs)")
lines.append("")
lines.append("steps:")
for s in steps:
    lines.append(f"  {s['step']:<22} {s['status']:<8} {s['seconds']:7.1f} s  {s['detail']}")
lines.append("")
head = f"{'test run [cuda]':<46} {'passed':>6} {'failed':>6} {'no-gpu':>6} {'asserts':>8} {'seconds':>8}  result"
lines.append(head)
lines.append("-" * len(head))
for r in runs:
    result = "ok" if r["passed"] else f"FAILED (exit {r['exit_status']})"
    if r["no_cuda_tests"]:
        result = "ok (no [cuda] tests)"
    lines.append(f"{r['label']:<46} {r['cases_passed']:>6} {r['cases_failed']:>6} {r['cases_skipped_no_gpu']:>6} "
                 f"{r['assertions_passed']:>8} {r['seconds']:>8.1f}  {result}")
if not runs:
    lines.append("(no test ran)")
for r in runs:
    for c in r["cases"]:
        if not c["passed"]:
            lines.append(f"  FAILED in {r['label']}: {c['name']}")
            for msg in c["failures"][:3]:
                lines.append(f"      {msg[:300]}")
    if r["unfinished_case"]:
        lines.append(f"  ENDED (crash or time limit) in {r['label']} during: {r['unfinished_case']}")
    if not r["passed"] and r["output_tail"]:
        lines.append(f"  last output of {r['label']}:")
        lines.extend("      " + l for l in r["output_tail"].splitlines()[-15:])
if bench:
    lines.append("")
    lines.append(f"{'benchmark (samples/s)':<24} {'precision':>9} {'batch':>6} {'cohort':>12} {'hand-written':>13} "
                 f"{'pytorch':>10} {'cohort/hand':>11}")
    rows = {}
    for b in bench:
        key = (b.get("precision"), b.get("batch"))
        row = rows.setdefault(key, {})
        if b.get("system") == "pytorch":
            row["pytorch"] = b.get("samples_per_second")
        elif "cohort_samples_per_second" in b:
            row["cohort"] = b["cohort_samples_per_second"]
            row["hand"] = b["hand_written_samples_per_second"]
            row["ratio"] = b["cohort_over_hand_written"]
        row["data"] = b.get("data")
    fmt = lambda v, w: f"{v:>{w},.0f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"
    for (prec, batch), row in sorted(rows.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)):
        ratio = f"{row['ratio']:>11.3f}" if "ratio" in row else f"{'-':>11}"
        lines.append(f"{'mlp, ' + str(row.get('data')):<24} {prec:>9} {batch:>6} {fmt(row.get('cohort'), 12)} "
                     f"{fmt(row.get('hand'), 13)} {fmt(row.get('pytorch'), 10)} {ratio}")
text = "\n".join(lines) + "\n"
with open(os.path.join(out, "summary.txt"), "w") as f:
    f.write(text)
print("=" * 78)
print(text, end="")
print("=" * 78)
PY
  # Everything else worth keeping, in one file.
  ( cd "$BUILD" && tar -czf "$OUT/details.tar.gz" --ignore-failed-read gpu-check \
      $(ls CMakeCache.txt CMakeFiles/CMakeOutput.log CMakeFiles/CMakeError.log CMakeFiles/CMakeConfigureLog.yaml \
          .ninja_log 2>/dev/null) ) 2>/dev/null || true
  if [ -f "$OUT/summary.json" ] && grep -q '"result": "pass"' "$OUT/summary.json"; then
    log "RESULT: PASS (summary in $OUT)" | tee -a "$LOG"; exit 0
  fi
  if [ -f "$OUT/summary.json" ] && grep -q '"result": "no-gpu"' "$OUT/summary.json"; then
    log "RESULT: NO GPU: built and ran, but the [cuda] tests returned early (summary in $OUT)" | tee -a "$LOG"; exit 3
  fi
  [ ! -f "$OUT/summary.json" ] && log "no summary could be written (did $PYTHON run?)" | tee -a "$LOG"
  log "RESULT: FAIL (summary in $OUT)" | tee -a "$LOG"
  [ "$inner" = 124 ] || [ "$inner" = 137 ] && exit 124
  exit 1
fi

# =============================================================================
# The inner half: each step logged with its time, recorded in steps.tsv. Its
# own time limits use --foreground, so that everything stays in the process
# group the outer timeout stops at the budget.
# =============================================================================
START=${GPU_CHECK_START:-$(date +%s)}
STEPS="$WORK/steps.tsv" RUNS="$WORK/runs.tsv"
: >"$STEPS"; : >"$RUNS"
FAILED=0

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$STEPS"; }
fail_step() { record "$1" failed "${3:-0}" "$2"; log "FAILED: $1: $2"; FAILED=1; }
die() { fail_step "$1" "$2"; log "stopping here"; exit 1; }

log "Cohort GPU check in $SRC; build tree $BUILD; results to $OUT; budget ${BUDGET}s, $JOBS jobs"

# ---- the machine ------------------------------------------------------------
t0=$(date +%s)
command -v "$PYTHON" >/dev/null || die environment "no $PYTHON here (give --python)"
CXX_BIN="${CXX:-$(command -v g++ || command -v c++ || command -v clang++ || true)}"
[ -n "$CXX_BIN" ] || die environment "no C++ compiler (g++, c++ or clang++) on PATH"
command -v cmake >/dev/null || die environment "no cmake on PATH"
if command -v ninja >/dev/null; then GENERATOR=Ninja; else GENERATOR="Unix Makefiles"; log "no ninja: using make"; fi
# nvcc: LibTorch's CMake files need the CUDA toolkit (enable_language(CUDA)).
if ! command -v nvcc >/dev/null; then
  site=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
  for d in ${CUDA_HOME:+"$CUDA_HOME/bin"} /usr/local/cuda/bin /usr/local/cuda-13.0/bin /usr/local/cuda-13/bin /opt/cuda/bin \
           ${site:+"$site/nvidia/cu13/bin" "$site/nvidia/cuda_nvcc/bin"}; do
    [ -x "$d/nvcc" ] && { export PATH="$d:$PATH"; break; }
  done
fi
if command -v nvcc >/dev/null; then log "nvcc: $(command -v nvcc)"
else log "warning: no nvcc found (PATH, CUDA_HOME, /usr/local/cuda): LibTorch's CMake files need the CUDA toolkit"; fi

GPU_CHECK_JOBS=$JOBS GPU_CHECK_CXX="$CXX_BIN" "$PYTHON" - >"$WORK/info.json" 2>"$WORK/logs/info.err" <<'PY'
import json, os, platform, shutil, subprocess
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:
        return ""
info = {"cpus": os.cpu_count(), "jobs": int(os.environ["GPU_CHECK_JOBS"]), "python": platform.python_version()}
try:
    info["os"] = dict(l.strip().split("=", 1) for l in open("/etc/os-release") if "=" in l)["PRETTY_NAME"].strip('"')
except Exception:
    info["os"] = platform.platform()
info["cxx"] = (run(os.environ["GPU_CHECK_CXX"], "--version").splitlines() or ["?"])[0]
info["cmake"] = (run("cmake", "--version").splitlines() or ["?"])[0].replace("cmake version ", "")
nvcc = run("nvcc", "--version")
info["nvcc"] = nvcc.splitlines()[-1] if nvcc else None
smi = run("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader")
if smi:
    name, driver, memory = [s.strip() for s in smi.splitlines()[0].split(",")][:3]
    info.update(gpu_name=name, driver=driver, nvidia_smi_memory=memory, gpus=len(smi.splitlines()))
try:
    import torch
    info["torch"] = torch.__version__
    info["torch_cuda"] = torch.version.cuda
    info["cmake_prefix_path"] = torch.utils.cmake_prefix_path
    info["site_packages"] = os.path.dirname(os.path.dirname(torch.__file__))
    info["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.setdefault("gpu_name", p.name)
        info["capability"] = f"{p.major}.{p.minor}"
        info["gpu_memory_gib"] = round(p.total_memory / 2**30, 1)
        info["device_count"] = torch.cuda.device_count()
        try:
            info["cuda_driver_api"] = torch._C._cuda_getDriverVersion()
        except Exception:
            pass
    try:
        info["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
    except Exception:
        info["nccl"] = None
except Exception as e:
    info["torch_error"] = f"{type(e).__name__}: {e}"
info.setdefault("gpu_name", None)
info.setdefault("driver", None)
print(json.dumps(info, indent=1))
PY
info() { "$PYTHON" -c "import json,sys; v=json.load(open('$WORK/info.json')).get('$1'); print('' if v is None else v)" 2>/dev/null; }
[ -n "$(info torch)" ] || die environment "$PYTHON cannot import torch: $(info torch_error)$(tail -n 3 "$WORK/logs/info.err")"
log "GPU: $(info gpu_name | sed "s/^$/none seen/") (compute $(info capability | sed "s/^$/-/")), driver $(info driver | sed "s/^$/-/"); torch $(info torch), CUDA $(info torch_cuda), NCCL $(info nccl)"
log "host: $(info cpus) CPUs, $(info os); $(info cxx); cmake $(info cmake); nvcc: $(info nvcc)"
[ "$(info cuda_available)" = True ] || log "warning: torch sees no CUDA device: the [cuda] tests will return early"
record environment ok $(( $(date +%s) - t0 )) "$(info gpu_name | sed "s/^$/no GPU seen/"); torch $(info torch)"

# ---- LibTorch, NCCL and the unpacked packages --------------------------------
TORCH_DIR="$(info cmake_prefix_path)/Torch"
[ -f "$TORCH_DIR/TorchConfig.cmake" ] || die environment "no TorchConfig.cmake in $TORCH_DIR"
SITE="$(info site_packages)"
NCCL_ARGS=()
if [ -f "$SITE/nvidia/nccl/include/nccl.h" ]; then
  nccl_lib=$(ls "$SITE"/nvidia/nccl/lib/libnccl.so "$SITE"/nvidia/nccl/lib/libnccl.so.2 2>/dev/null | head -n 1)
  if [ -n "$nccl_lib" ]; then
    NCCL_ARGS=(-DCOHORT_NCCL_INCLUDE_DIR="$SITE/nvidia/nccl/include" -DCOHORT_NCCL_LIBRARY="$nccl_lib")
    log "NCCL: $nccl_lib"
  fi
fi
[ ${#NCCL_ARGS[@]} -gt 0 ] || log "warning: no nccl.h and libnccl in $SITE/nvidia/nccl: CMake searches on its own"

DEP_ARGS=()
MPIRUN=""
ORIGINAL_LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
if [ -n "$DEPS" ]; then
  MA=x86_64-linux-gnu
  # Open MPI (and PMIx) were built for /usr: these point them at the tree instead.
  export OPAL_PREFIX="$DEPS/usr"
  export OPAL_SYSCONFDIR="$DEPS/etc/openmpi"
  P="$DEPS/usr/lib/$MA/pmix2"
  export PMIX_PREFIX="$P" PMIX_LIBDIR="$P/lib" PMIX_PKGLIBDIR="$P/lib/pmix" PMIX_DATADIR="$P/share" \
         PMIX_PKGDATADIR="$P/share/pmix" PMIX_SYSCONFDIR="$P/share" PMIX_MCA_mca_base_component_path="$P/lib/pmix"
  # The linker and the loader find the libraries libmpi needs (hwloc, libevent, PMIx, ...) here.
  export LD_LIBRARY_PATH="$DEPS/usr/lib/$MA:$DEPS/usr/lib/$MA/openmpi/lib:$DEPS/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PATH="$DEPS/usr/bin:$PATH"
  DEP_ARGS=(-DCMAKE_PREFIX_PATH="$DEPS/usr" -DZLIB_ROOT="$DEPS/usr"
            -DMPI_CXX_COMPILER="$DEPS/usr/bin/mpicxx" -DMPIEXEC_EXECUTABLE="$DEPS/usr/bin/mpirun")
  MPIRUN="$DEPS/usr/bin/mpirun"
  log "packages from $DEPS ($(wc -l <"$DEPS/MANIFEST" 2>/dev/null || echo '?') packages)"
else
  MPIRUN="$(command -v mpirun || true)"
fi
# Open MPI as root (containers), on one machine without ssh (the isolated
# launcher), over shared memory only (ob1 with self and vader: no network
# plugin is loaded, so none probes for InfiniBand, PSM or UCX hardware).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated \
       OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none \
       OMPI_MCA_btl_base_warn_component_unused=0

# ---- configure --------------------------------------------------------------
ARCH="$(info capability)"
t0=$(date +%s)
mkdir -p "$BUILD/.cmake/api/v1/query"
: >"$BUILD/.cmake/api/v1/query/codemodel-v2"
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=$GENERATOR\$" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
fi
# CMAKE_POLICY_VERSION_MINIMUM: CMake 4 (pip's) refuses package files that ask
# for policies older than 3.5; older CMake ignores it.
log "configuring ($GENERATOR, Release; Torch_DIR=$TORCH_DIR)"
timeout --foreground $(( $(left) < 240 ? $(left) : 240 )) cmake -S "$SRC" -B "$BUILD" -G "$GENERATOR" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DTorch_DIR="$TORCH_DIR" -DTORCH_CUDA_ARCH_LIST="${ARCH:-9.0}" \
  -DCOHORT_BUILD_TESTS=ON -DCOHORT_BUILD_APPS=ON -DCOHORT_BUILD_BENCH=ON -DCMAKE_POLICY_VERSION_MINIMUM=3.5 --no-warn-unused-cli \
  "${NCCL_ARGS[@]}" "${DEP_ARGS[@]}" \
  >"$WORK/logs/configure.log" 2>&1
rc=$?
grep -E 'Cohort:|PyTorch: CUDA detected|Found MPI|Found ZLIB|CMake Error|CMake Warning \(dev\)|Could NOT' \
  "$WORK/logs/configure.log" | grep -v '^$' | head -n 30 | sed 's/^/    /'
if [ $rc -ne 0 ]; then
  tail -n 40 "$WORK/logs/configure.log" | sed 's/^/    /'
  die configure "cmake exited with $rc (gpu-check/logs/configure.log in details.tar.gz)" $(( $(date +%s) - t0 ))
fi
record configure ok $(( $(date +%s) - t0 )) "$(grep -o 'CUDA code paths [A-Z]*; NCCL [A-Z]*' "$WORK/logs/configure.log" | head -n 1)"
grep -q 'CUDA code paths ON; NCCL ON' "$WORK/logs/configure.log" ||
  log "warning: Cohort is not compiling both its CUDA and NCCL code (see above)"

# ---- which executables ------------------------------------------------------
# CMake's file API names every executable target and where it will be.
"$PYTHON" - "$BUILD" >"$WORK/targets.tsv" <<'PY'
import glob, json, os, sys
build = sys.argv[1]
reply = os.path.join(build, ".cmake", "api", "v1", "reply")
index = sorted(glob.glob(os.path.join(reply, "index-*.json")))[-1]
model = json.load(open(index))["reply"]["codemodel-v2"]["jsonFile"]
model = json.load(open(os.path.join(reply, model)))
for config in model["configurations"][:1]:
    for target in config["targets"]:
        t = json.load(open(os.path.join(reply, target["jsonFile"])))
        if t.get("type") == "EXECUTABLE":
            artifact = t.get("artifacts", [{}])[0].get("path", "")
            print(f"{t['name']}\t{os.path.join(build, artifact) if artifact else ''}")
PY
TESTS=() BENCH_TARGETS=()
while IFS=$'\t' read -r name path; do
  case "$name" in
    cohort-tuner-tests) ;;  # no LibTorch, no [cuda] tests
    *-tests) TESTS+=("$name") ;;
  esac
done <"$WORK/targets.tsv"
[ ${#TESTS[@]} -gt 0 ] || die discover "the build defines no *-tests executables"
if [ $BENCH = 1 ]; then
  grep -q '^cohort-bench-single	' "$WORK/targets.tsv" && BENCH_TARGETS=(cohort-bench-single) ||
    log "warning: --bench: the build has no cohort-bench-single"
fi
record discover ok 0 "${TESTS[*]}"
log "test executables: ${TESTS[*]}"
exe_path() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$WORK/targets.tsv"; }

# ---- build ------------------------------------------------------------------
# Leave time for the tests: all of them take well under a minute on a GPU.
t0=$(date +%s)
echo "$t0" >"$WORK/build.start"
reserve=$(( BENCH == 1 ? 150 : 75 ))
build_limit=$(( $(left) - reserve ))
[ $build_limit -gt 60 ] || build_limit=60
log "building ${TESTS[*]} ${BENCH_TARGETS[*]} with $JOBS jobs (limit ${build_limit}s)"
if [ "$GENERATOR" = Ninja ]; then
  # -k 0: a target that fails to compile does not stop the others.
  timeout --foreground "$build_limit" ninja -C "$BUILD" -j "$JOBS" -k 0 "${TESTS[@]}" "${BENCH_TARGETS[@]}" >"$WORK/logs/build.log" 2>&1
else
  timeout --foreground "$build_limit" cmake --build "$BUILD" -j "$JOBS" --target "${TESTS[@]}" "${BENCH_TARGETS[@]}" -- -k \
    >"$WORK/logs/build.log" 2>&1
fi
rc=$?
secs=$(( $(date +%s) - t0 ))
if [ $rc -eq 0 ]; then
  record build ok $secs "$(grep -c '^\[' "$WORK/logs/build.log") build steps"
  log "built in ${secs}s"
else
  grep -E 'error|Error|FAILED' "$WORK/logs/build.log" | head -n 40 | sed 's/^/    /'
  [ $rc -eq 124 ] && why="stopped at its ${build_limit}s limit" || why="exit status $rc"
  fail_step build "$why; whatever did build is tested (build.log in details.tar.gz)" $secs
fi

# ---- the [cuda] tests, one process each -------------------------------------
# A run: label, how it is started, the executable; Catch2's XML report and the
# run's output are kept, the counts read by the summary.
run_tests() {
  local label="$1" mode="$2" exe="$3"; shift 3
  local limit=$(( $(left) - 10 )) t0 rc
  [ $limit -gt 300 ] && limit=300
  if [ $limit -lt 10 ]; then fail_step "run $label" "no time left"; return; fi
  local xml="$WORK/results/$label.xml" out="$WORK/logs/$label.log"
  log "running $label (limit ${limit}s)"
  t0=$(date +%s)
  timeout --foreground -k 10 "$limit" "$@" "$exe" "[cuda]" -r xml -d yes -o "$xml" >"$out" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(basename "$exe")" "$mode" "$rc" "$(( $(date +%s) - t0 ))" "$xml" "$out" >>"$RUNS"
  sed 's/^/    | /' "$out" | tail -n 40
  if grep -q 'No test cases matched' "$out"; then
    log "$label: no [cuda] tests"
  else
    log "$label: exit status $rc, $(grep -o '<OverallResultsCases[^>]*>' "$xml" 2>/dev/null | tail -n 1 | sed 's/<OverallResultsCases //; s/ *\/>//')"
  fi
  [ $rc -eq 0 ] || grep -q 'No test cases matched' "$out" || FAILED=1
}

built=()
for t in "${TESTS[@]}"; do
  p="$(exe_path "$t")"
  if [ -x "$p" ]; then built+=("$t"); else log "$t was not built: not run"; record "run $t" failed 0 "not built"; FAILED=1; fi
done
for t in "${built[@]}"; do
  # COHORT_MPI=0: the local back-end, as CTest's one-process runs use.
  run_tests "$t" direct "$(exe_path "$t")" env COHORT_MPI=0
done

# ---- the distributed ones under mpirun, one rank ----------------------------
if [ $MPI = 1 ]; then
  mpi_tests=()
  for t in "${built[@]}"; do case "$t" in *distributed*|*ddp*) mpi_tests+=("$t") ;; esac; done
  if [ ${#mpi_tests[@]} -eq 0 ]; then
    log "no distributed test executable built: nothing to run under mpirun"
  elif [ -z "$MPIRUN" ] || [ ! -x "$MPIRUN" ]; then
    record mpirun skipped 0 "no mpirun (give --deps): runs under mpirun skipped"
    log "no mpirun: the runs under mpirun are skipped"
  else
    t0=$(date +%s)
    MPI_FLAGS=(-np 1 --oversubscribe --bind-to none)
    if timeout --foreground 60 "$MPIRUN" "${MPI_FLAGS[@]}" hostname >"$WORK/logs/mpirun-smoke.log" 2>&1; then
      record mpirun ok $(( $(date +%s) - t0 )) "$("$MPIRUN" --version 2>/dev/null | head -n 1)"
      for t in "${mpi_tests[@]}"; do
        run_tests "mpirun-np1-$t" mpirun "$(exe_path "$t")" "$MPIRUN" "${MPI_FLAGS[@]}"
      done
    else
      sed 's/^/    | /' "$WORK/logs/mpirun-smoke.log" | tail -n 20
      # Not Cohort's failure: the one-process runs above stand for the MPI ones.
      record mpirun skipped $(( $(date +%s) - t0 )) "mpirun -np 1 hostname failed (mpirun-smoke.log): runs under mpirun skipped"
      log "mpirun does not work here: the runs under mpirun are skipped; the one-process runs above stand"
    fi
  fi
fi

# ---- the optional benchmark -------------------------------------------------
if [ $BENCH = 1 ]; then
  t0=$(date +%s)
  bench_exe="$(exe_path cohort-bench-single)"
  : >"$WORK/bench.jsonl"
  bench_ok=1
  for precision in fp32 bf16; do
    for batch in 64 1024; do
      [ $(left) -gt 30 ] || { log "benchmark: no time left"; bench_ok=0; break 2; }
      if [ -x "$bench_exe" ]; then
        log "benchmark: cohort-bench-single --device cuda --precision $precision --batch $batch"
        timeout --foreground 120 "$bench_exe" --device cuda --precision $precision --batch $batch --repeats 3 --threads 1 \
          2>>"$WORK/logs/bench.log" | tee -a "$WORK/logs/bench.log" | grep '^{' >>"$WORK/bench.jsonl" || bench_ok=0
      else
        bench_ok=0
      fi
      log "benchmark: bench/peers/pytorch_single.py --device cuda --precision $precision --batch $batch"
      # Python as it is set up, without the unpacked packages' libraries (zlib, ...).
      LD_LIBRARY_PATH="$ORIGINAL_LD_LIBRARY_PATH" timeout --foreground 120 "$PYTHON" "$SRC/bench/peers/pytorch_single.py" --device cuda --precision $precision --batch $batch \
        --repeats 3 --threads 1 2>>"$WORK/logs/bench.log" | tee -a "$WORK/logs/bench.log" | grep '^{' >>"$WORK/bench.jsonl" ||
        bench_ok=0
    done
  done
  if [ $bench_ok = 1 ]; then record bench ok $(( $(date +%s) - t0 )) "$(wc -l <"$WORK/bench.jsonl") results"
  else fail_step bench "some benchmark runs failed (bench.log in details.tar.gz)" $(( $(date +%s) - t0 )); fi
fi

log "done"
exit $FAILED
