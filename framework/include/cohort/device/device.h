#pragma once
// Device choice and CPU thread budget for one process.

#include <string>

#include <torch/types.h>

namespace cohort::device {

/// "auto" (cuda:<local rank> when CUDA is there, else cpu), "cpu", "cuda" or
/// "cuda:N". Throws cohort::InputError for anything else, or for a CUDA device
/// this machine does not have.
torch::Device parse_device(const std::string& text);

/// This process's rank and the number of ranks on its node: from MPI once
/// cohort::distributed::initialize() has brought it up, otherwise as the
/// launcher (Open MPI, MPICH/PMI, Slurm) announces them; 0 and 1 without a
/// launcher. They never bring MPI up themselves.
int launcher_rank();
int launcher_local_rank();
int launcher_local_size();

/// Sets LibTorch's intra-op thread count: `requested`, or when 0 the cores of
/// this node shared evenly by the ranks on it (at least 1). Returns the count.
int configure_threads(int requested);

/// What this build and this LibTorch can do, for start-up debug logs.
std::string build_summary();

}  // namespace cohort::device
