# Finds every dependency of Cohort and decides which device back-ends to compile.
#
# LibTorch: a user's own (Torch_DIR / CMAKE_PREFIX_PATH) wins; otherwise the one
# that scripts/setup.sh installed from the torch wheel.
set(COHORT_TORCH_VERSION "2.11.0" CACHE STRING "LibTorch release installed by scripts/setup.sh")
set(COHORT_DEPS "/opt/cohort" CACHE PATH "Where scripts/setup.sh installs LibTorch")
find_package(Torch QUIET)
if(NOT Torch_FOUND)
  find_package(Torch REQUIRED CONFIG
    PATHS "${COHORT_DEPS}/torch-${COHORT_TORCH_VERSION}/torch/share/cmake/Torch" NO_DEFAULT_PATH)
endif()
message(STATUS "Cohort: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

find_package(MPI REQUIRED COMPONENTS CXX)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)  # apps and benchmarks only

# CUDA paths: on when this LibTorch was built with CUDA.
set(COHORT_WITH_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(COHORT_WITH_CUDA ON)
endif()

# NCCL: the wheel's own (site-packages/nvidia/nccl) first, then the system's.
set(COHORT_WITH_NCCL OFF)
if(COHORT_WITH_CUDA)
  get_filename_component(_cohort_site "${Torch_DIR}/../../../.." ABSOLUTE)
  find_path(COHORT_NCCL_INCLUDE_DIR nccl.h
    HINTS "${_cohort_site}/nvidia/nccl/include" ENV NCCL_ROOT
    PATH_SUFFIXES include)
  find_library(COHORT_NCCL_LIBRARY NAMES nccl libnccl.so.2
    HINTS "${_cohort_site}/nvidia/nccl/lib" ENV NCCL_ROOT
    PATH_SUFFIXES lib lib64)
  if(COHORT_NCCL_INCLUDE_DIR AND COHORT_NCCL_LIBRARY)
    set(COHORT_WITH_NCCL ON)
  endif()
endif()
message(STATUS "Cohort: CUDA code paths ${COHORT_WITH_CUDA}; NCCL ${COHORT_WITH_NCCL}"
               " (${COHORT_NCCL_INCLUDE_DIR})")

# LibTorch's include directory carries its own, newer fmt, which Debian's spdlog
# cannot compile against. A directory holding only a link to the fmt that spdlog
# was built for goes first on the include path (-I is searched before LibTorch's
# -isystem directories), so every <fmt/...> means that fmt. LibTorch's public
# headers do not include fmt, so they are unaffected.
find_path(COHORT_FMT_INCLUDE_DIR fmt/core.h HINTS "${fmt_DIR}/../../../include")
set(COHORT_FMT_SHIM_DIR "${PROJECT_BINARY_DIR}/fmt-shim")
file(MAKE_DIRECTORY "${COHORT_FMT_SHIM_DIR}")
file(CREATE_LINK "${COHORT_FMT_INCLUDE_DIR}/fmt" "${COHORT_FMT_SHIM_DIR}/fmt" SYMBOLIC)
