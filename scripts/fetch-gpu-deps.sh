#!/usr/bin/env bash
# Gathers, on a Debian 12 machine with network, every C++ dependency Cohort
# needs besides LibTorch and NCCL, for a GPU machine that has Python's CUDA
# torch but neither network nor apt (see docs/gpu.md).
#
#   scripts/fetch-gpu-deps.sh [DIR]        default DIR: .gpu-deps (ignored by git)
#
# Downloads the Debian packages (apt-get download: nothing is installed) into
# DIR/debs and unpacks them with dpkg -x into DIR/root, so that DIR/root/usr
# holds include/, lib/x86_64-linux-gnu/ (with the packages' CMake files), bin/
# (mpirun, mpicxx) and share/openmpi/. Then it makes that tree relocatable:
#   - /lib/x86_64-linux-gnu (Debian is /usr-merged) goes under usr/lib/;
#   - links that point to absolute paths are made relative to the tree;
#   - mpirun, mpiexec, mpicc, mpicxx links are made (Debian makes them with
#     update-alternatives, which dpkg -x does not run);
#   - documentation, manual pages, static libraries (but the one Catch2's CMake
#     files name) and the Fortran and Java bindings are removed (the tree travels to the GPU machine: small is good).
# DIR/root/MANIFEST lists the packages and versions. Only DIR/root is needed on
# the GPU machine: scripts/gpu-check.sh OUT --deps DIR/root.
#
# Run again: the downloads are kept, the tree is unpacked afresh.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR="${1:-.gpu-deps}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
DEBS="$DIR/debs"
ROOT="$DIR/root"
MULTIARCH=x86_64-linux-gnu

log() { echo "[fetch-gpu-deps $(date +%H:%M:%S)] $*" >&2; }

# Open MPI and the shared libraries it (with its plugins) loads, less what every
# Ubuntu 24.04 image has (libc6, libgcc-s1, libstdc++6, libuuid1): each is
# newer there and backwards compatible.
MPI_PACKAGES=(
  openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev
  libpmix2 libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7 libmunge2 libudev1
  libfabric1 libibverbs1 ibverbs-providers librdmacm1 libnl-3-200 libnl-route-3-200
  libpsm-infinipath1 libpsm2-2 libucx0 libnuma1 libatomic1
)
# The C++ libraries, header-only or not, with the CMake package files they ship.
CXX_PACKAGES=(
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev libcli11-dev catch2
  zlib1g-dev zlib1g
)
PACKAGES=("${MPI_PACKAGES[@]}" "${CXX_PACKAGES[@]}")

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
  log "needs apt-get and dpkg-deb (Debian 12)"; exit 1; }
if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" != bookworm ]; then
  log "warning: this is not Debian 12 (bookworm); the packages are meant to be Debian 12's"
fi

# ---- download ---------------------------------------------------------------
mkdir -p "$DEBS"
missing=()
for p in "${PACKAGES[@]}"; do
  compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} packages into $DEBS"
  # apt-get download writes to the current directory; as root it warns that the
  # download is not sandboxed (the _apt user cannot write here), which is harmless.
  if ! (cd "$DEBS" && apt-get download -q "${missing[@]}" >/dev/null 2>"$DIR/download.err"); then
    log "apt-get download failed; refreshing the package lists and trying again"
    apt-get update -qq
    (cd "$DEBS" && apt-get download -q "${missing[@]}" >/dev/null 2>"$DIR/download.err") || {
      cat "$DIR/download.err" >&2; exit 1; }
  fi
fi
for p in "${PACKAGES[@]}"; do
  n=$(compgen -G "$DEBS/${p}_*.deb" | wc -l)
  [ "$n" -eq 1 ] || { log "expected one $p package in $DEBS, found $n (remove $DEBS and run again)"; exit 1; }
done

# ---- unpack -----------------------------------------------------------------
staging="$ROOT.partial"
rm -rf "$staging"
mkdir -p "$staging"
: >"$staging/MANIFEST"
for p in "${PACKAGES[@]}"; do
  deb=$(compgen -G "$DEBS/${p}_*.deb")
  dpkg-deb -x "$deb" "$staging"
  dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | paste -sd' ' >>"$staging/MANIFEST"
done
log "unpacked ${#PACKAGES[@]} packages"

# /lib/<multiarch> -> /usr/lib/<multiarch> (Debian 12 is /usr-merged).
if [ -d "$staging/lib" ]; then
  mkdir -p "$staging/usr/lib"
  cp -a "$staging/lib/." "$staging/usr/lib/"
  rm -rf "$staging/lib"
fi

# Absolute links (e.g. libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) would
# point into the host system: point them into the tree, relative.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  inside="$staging$target"
  [ -e "$inside" ] || inside="$staging/usr$target"   # /lib/... now lives in /usr/lib/...
  if [ -e "$inside" ]; then
    ln -sfn "$(realpath --relative-to="$(dirname "$link")" "$inside")" "$link"
  else
    rm -f "$link"
  fi
done < <(find "$staging" -type l -lname '/*' -print0)

# What update-alternatives would have made (the packages' postinst scripts).
for name in mpirun mpiexec mpicc mpicxx mpic++; do
  [ -e "$staging/usr/bin/$name.openmpi" ] && ln -sfn "$name.openmpi" "$staging/usr/bin/$name"
done
lib="$staging/usr/lib/$MULTIARCH"
[ -e "$lib/openmpi/lib/libmpi.so" ] && ln -sfn openmpi/lib/libmpi.so "$lib/libmpi.so"
[ -e "$lib/openmpi/lib/libmpi_cxx.so" ] && ln -sfn openmpi/lib/libmpi_cxx.so "$lib/libmpi++.so"
[ -e "$lib/openmpi/include" ] && mkdir -p "$staging/usr/include/$MULTIARCH" &&
  ln -sfn ../../lib/$MULTIARCH/openmpi/include "$staging/usr/include/$MULTIARCH/mpi"
psm=$(ls "$staging"/usr/lib/libpsm1/libpsm_infinipath.so.1.* 2>/dev/null | head -n 1)
[ -n "$psm" ] && ln -sfn "../libpsm1/$(basename "$psm")" "$lib/libpsm_infinipath.so.1"

# Small is good: none of this is used to build or run.
rm -rf "$staging/usr/share/doc" "$staging/usr/share/man" "$staging/usr/share/lintian" \
       "$staging/usr/share/bug" "$staging/usr/share/java" \
       "$staging/usr/lib/$MULTIARCH/fortran" "$staging/usr/lib/$MULTIARCH/openmpi/lib/openmpi3/mca_fs_lustre.so"
find "$staging" \( \( -name '*.a' ! -name libCatch2WithMain.a \) -o -name '*.la' -o -name '*mpifh*' -o -name '*usempi*' -o -name '*mpi_java*' \
                   -o -name 'mpif77*' -o -name 'mpif90*' -o -name 'mpifort*' -o -name '*.mod' -o -name 'mpijava*' \) \
  -exec rm -rf {} +
# Open MPI's internal headers (for building its plugins) and its Fortran and
# OpenSHMEM headers: an MPI program needs mpi.h, mpi-ext.h and, through mpi.h,
# the C++ bindings' headers (openmpi/ompi/mpi/cxx) and openmpi/mpiext.
ompi_include="$staging/usr/lib/$MULTIARCH/openmpi/include"
if [ -d "$ompi_include/openmpi/ompi/mpi/cxx" ]; then
  keep="$staging/.keep-cxx"
  mv "$ompi_include/openmpi/ompi/mpi/cxx" "$keep"
  rm -rf "$ompi_include/openmpi/ompi" "$ompi_include/openmpi/opal" "$ompi_include/openmpi/orte" \
         "$ompi_include/openmpi/oshmem" "$ompi_include/openshmem" "$ompi_include"/mpif*.h \
         "$ompi_include"/*shmem* "$ompi_include/mpp"
  mkdir -p "$ompi_include/openmpi/ompi/mpi"
  mv "$keep" "$ompi_include/openmpi/ompi/mpi/cxx"
fi
# Links that now lead nowhere (into removed files).
find "$staging" -xtype l -delete

# The Open MPI tree must be whole: wrapper data, the wrappers and the launcher.
for f in usr/bin/mpirun usr/bin/mpicxx usr/bin/orted usr/share/openmpi/mpicxx-wrapper-data.txt \
         usr/lib/$MULTIARCH/openmpi/include/mpi.h usr/lib/$MULTIARCH/libmpi.so.40 \
         usr/lib/$MULTIARCH/openmpi/lib/libmpi.so usr/lib/$MULTIARCH/libz.so \
         usr/lib/$MULTIARCH/cmake/spdlog/spdlogConfig.cmake usr/lib/$MULTIARCH/cmake/fmt/fmt-config.cmake \
         usr/include/catch2/catch.hpp usr/include/CLI/CLI.hpp usr/include/nlohmann/json.hpp usr/include/zlib.h; do
  [ -e "$staging/$f" ] || { log "the unpacked tree lacks $f"; exit 1; }
done

rm -rf "$ROOT"
mv "$staging" "$ROOT"
log "ready: $ROOT ($(du -sh "$ROOT" | cut -f1); the downloads in $DEBS: $(du -sh "$DEBS" | cut -f1))"
log "on the GPU machine: scripts/gpu-check.sh OUTDIR --deps ${ROOT#"$PWD"/}"
