#include "cohort/device/device.h"

#include <cstdlib>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <ATen/Version.h>

#include "cohort/core/error.h"
#include "cohort/distributed/runtime.h"

namespace cohort::device {
namespace {

int env_int(std::initializer_list<const char*> names, int fallback) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return fallback;
}

// Once MPI is up its answers win (the local ones come from
// MPI_Comm_split_type, which works under any launcher); before that, and in a
// single process, the launcher's environment. Never brings MPI up itself.
bool mpi_up() { return distributed::is_initialized() && distributed::mpi_active(); }

}  // namespace

int launcher_rank() {
  if (mpi_up()) return distributed::world_rank();
  return env_int({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}, 0);
}
int launcher_local_rank() {
  if (mpi_up()) return distributed::local_rank();
  return env_int({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}, 0);
}
int launcher_local_size() {
  if (mpi_up()) return distributed::local_size();
  return env_int({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}, 1);
}

torch::Device parse_device(const std::string& text) {
  const bool has_cuda = torch::cuda::is_available();
  if (text == "auto") {
    if (!has_cuda) return torch::Device(torch::kCPU);
    const int count = static_cast<int>(torch::cuda::device_count());
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launcher_local_rank() % count));
  }
  if (text == "cpu") return torch::Device(torch::kCPU);
  static const std::regex cuda_pattern("cuda(:([0-9]+))?");
  std::smatch match;
  if (!std::regex_match(text, match, cuda_pattern))
    throw InputError(fmt::format("unknown device \"{}\" (use auto, cpu, cuda or cuda:N).", text));
  if (!has_cuda) throw InputError(fmt::format("device \"{}\" asked for, but this machine has no CUDA GPU.", text));
  const int index = match[2].matched ? std::stoi(match[2].str()) : 0;
  if (index >= static_cast<int>(torch::cuda::device_count()))
    throw InputError(fmt::format("device \"{}\" asked for, but this machine has {} CUDA GPU(s).", text,
                                 torch::cuda::device_count()));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int configure_threads(int requested) {
  int threads = requested;
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, launcher_local_size()));
  }
  torch::set_num_threads(threads);
  return threads;
}

std::string build_summary() {
  return fmt::format("LibTorch {}; CUDA code {}; NCCL {}; CUDA devices visible {}\n{}", TORCH_VERSION,
#ifdef COHORT_WITH_CUDA
                     "compiled",
#else
                     "not compiled",
#endif
#ifdef COHORT_WITH_NCCL
                     "compiled",
#else
                     "not compiled",
#endif
                     torch::cuda::is_available() ? torch::cuda::device_count() : 0, torch::show_config());
}

}  // namespace cohort::device
