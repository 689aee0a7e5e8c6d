# Sourced by the benchmark scripts that run a PyTorch peer: sets PYTHON
# (python3 unless set) and a PYTHONPATH under which it imports torch (the
# project's pinned wheel in /opt/cohort/torch-2.11.0 when the default Python
# has none), exported for mpirun's -x; exits 2 with one sentence naming the
# script when torch cannot be imported. Also lets Open MPI run as root (as in
# containers).
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  export PYTHONPATH="/opt/cohort/torch-2.11.0${PYTHONPATH:+:$PYTHONPATH}"
  if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "$(basename "$0"): $PYTHON cannot import torch; set PYTHONPATH." >&2
    exit 2
  fi
fi
export PYTHONPATH="${PYTHONPATH:-}"
export PYTHONWARNINGS=ignore  # torch warns that numpy is missing; the peers do not use it
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
