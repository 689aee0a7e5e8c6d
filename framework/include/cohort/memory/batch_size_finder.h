#pragma once
// The largest micro-batch whose training step fits in memory.
//
// On a CUDA device it really tries: the caching allocator is capped at
// `fraction` of the device (setMemoryFraction), and full training steps
// (forward, backward, optimizer step) run at doubling sizes until one runs out
// of memory, then a bisection narrows the gap to about 3%.
//
// On the CPU running out of memory is not a clean error (the kernel's OOM
// killer ends the process), so it measures instead: the peak resident memory
// of the process (VmHWM, reset before each step through /proc/self/clear_refs)
// during one training step, at doubling sizes while a straight line through
// the last two measurements predicts the next one inside the budget; then it
// measures at the size the line predicts fills the budget, which is the answer
// if it fits, and otherwise bisects below it. A size predicted to be over the
// budget is never tried. The budget is
// `cpu_budget_mb`, or `fraction` of the memory the process may have (its
// resident set plus the system's MemAvailable, and within a cgroup limit).
//
// Both change the model's parameters (the steps are real): use a throwaway job.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/data/dataset.h"
#include "cohort/strategy/strategy.h"

namespace cohort::memory {

struct BatchSizeSearchOptions {
  /// CUDA: the share of the device's memory; CPU with no budget: of the memory available.
  TORCH_ARG(double, fraction) = 0.9;
  /// CPU: the most resident memory the process may reach, in MiB (0 = from fraction).
  TORCH_ARG(int64_t, cpu_budget_mb) = 0;
  /// The search stops here (and says so).
  TORCH_ARG(int64_t, max_batch_size) = 65536;
  /// Forward under autocast to this type, as training would.
  TORCH_ARG(std::optional<torch::ScalarType>, autocast) = std::nullopt;
};

struct BatchSizeTrial {
  int64_t batch_size = 0;
  bool fits = false;
  double peak_bytes = 0.0;  // CUDA: peak allocated; CPU: peak resident set
};

struct BatchSizeSearchResult {
  int64_t micro_batch_size = 0;  // 0: not even one example fits
  bool reached_max = false;      // max_batch_size fit; larger ones were not tried
  std::string device;
  std::string method;  // "tried" (CUDA) or "measured" (CPU)
  double budget_bytes = 0.0;
  double peak_bytes = 0.0;  // at micro_batch_size
  std::vector<BatchSizeTrial> trials;

  nlohmann::json to_json() const;
};

/// Searches on `strategy`'s input device with batches drawn from `dataset`.
/// The strategy must run on one process (data_parallel_size() == 1).
BatchSizeSearchResult find_batch_size(strategy::Strategy& strategy, const task::Task& task,
                                      const data::Dataset& dataset, const BatchSizeSearchOptions& options = {});

/// Bytes this process may still come to hold on the CPU: its resident set plus
/// MemAvailable, less where a cgroup (v2) limit is lower.
double cpu_memory_available();

}  // namespace cohort::memory
