#!/usr/bin/env bash
# Installs everything Cohort needs on Debian 12, and does nothing that is already done.
#
#   scripts/setup.sh            Debian packages + LibTorch from the torch wheel
#                               + the tensorboard Python package (for the tests)
#
# LibTorch lands in a fixed place outside the checkout, keyed by version
# ($COHORT_DEPS/torch-<version>, default /opt/cohort), so a second clone or a
# second run reuses it. The directory of its CMake package is printed on the last
# line so the Makefile can hand it to CMake. A user's own LibTorch is used
# instead when Torch_DIR is set.
set -euo pipefail

TORCH_VERSION="${COHORT_TORCH_VERSION:-2.11.0}"
DEPS_ROOT="${COHORT_DEPS:-/opt/cohort}"
TORCH_PREFIX="$DEPS_ROOT/torch-$TORCH_VERSION"
TENSORBOARD_VERSION="${COHORT_TENSORBOARD_VERSION:-2.21.0}"

APT_PACKAGES=(
  build-essential cmake ccache git pkg-config python3 python3-pip
  openmpi-bin libopenmpi-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev catch2 zlib1g-dev dataset-fashion-mnist libjs-chart.js
  libprotobuf-dev protobuf-compiler libboost-dev chromium fortunes
)

log() { echo "[setup] $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; exit 1; fi
}

install_debian_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

pick_python() {
  # Only the wheel's C++ half is used, so any Python 3 with pip will do.
  for py in python3 /usr/bin/python3; do
    if "$py" -m pip --version >/dev/null 2>&1; then echo "$py"; return; fi
  done
  log "no Python with pip found"; exit 1
}

# A LibTorch the user points to: Torch_DIR, or a prefix in CMAKE_PREFIX_PATH.
users_libtorch() {
  if [ -n "${Torch_DIR:-}" ]; then echo "$Torch_DIR"; return; fi
  local prefix
  IFS=: read -r -a prefixes <<<"${CMAKE_PREFIX_PATH:-}"
  for prefix in "${prefixes[@]}"; do
    if [ -f "$prefix/share/cmake/Torch/TorchConfig.cmake" ]; then echo "$prefix/share/cmake/Torch"; return; fi
  done
}

# pip_install_once PREFIX REQUIREMENT [PYTHON]: REQUIREMENT's wheel and its
# dependencies into PREFIX, once (PREFIX/.complete marks a finished install).
# --target keeps it out of every Python environment; a staging directory keeps
# an interrupted install from looking finished.
pip_install_once() {
  local prefix="$1" requirement="$2" py="${3:-}"
  [ -f "$prefix/.complete" ] && return 0
  [ -n "$py" ] || py="$(pick_python)"
  log "installing $requirement into $prefix (once)"
  as_root mkdir -p "$DEPS_ROOT"
  local staging="$prefix.partial"
  as_root rm -rf "$staging"
  as_root "$py" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$staging" "$requirement" >&2
  as_root rm -rf "$prefix"
  as_root mv "$staging" "$prefix"
  as_root touch "$prefix/.complete"
}

install_libtorch() {
  local own; own="$(users_libtorch)"
  if [ -n "$own" ]; then log "using your LibTorch at $own"; echo "$own"; return; fi
  # The wheel's NVIDIA dependencies (cuDNN, cuBLAS, NCCL, ...) come with it so libtorch_cuda links.
  pip_install_once "$TORCH_PREFIX" "torch==$TORCH_VERSION"
  echo "$TORCH_PREFIX/torch/share/cmake/Torch"
}

# TensorBoard, to read Cohort's event files with its own loader in the tests and
# to screenshot it: installed like the wheel above, outside every Python
# environment, under $DEPS_ROOT/tensorboard-<version>-py<X.Y> (its compiled
# dependencies are per Python version). CMake finds it there for CTest's PYTHONPATH.
install_tensorboard() {
  local py; py="$(pick_python)"
  local pyver; pyver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  pip_install_once "$DEPS_ROOT/tensorboard-$TENSORBOARD_VERSION-py$pyver" "tensorboard==$TENSORBOARD_VERSION" "$py"
}

install_debian_packages
install_tensorboard
install_libtorch
