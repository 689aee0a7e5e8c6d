#include "cohort/memory/batch_size_finder.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/memory/memory_report.h"
#include "cohort/memory/oom.h"

#ifdef COHORT_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace cohort::memory {
namespace {


/// `size` examples of `dataset`, repeated when it has fewer.
data::Batch make_batch(const data::Dataset& dataset, int64_t size) {
  return dataset.get_batch(torch::arange(size, torch::kLong).remainder(dataset.size()));
}

/// One real training step on a batch of `size`, leaving no gradients behind.
void training_step(strategy::Strategy& strategy, const task::Task& task, const data::Dataset& dataset,
                   int64_t size, std::optional<torch::ScalarType> autocast) {
  const auto batch = make_batch(dataset, size);
  strategy::MicroStep micro;
  micro.autocast = autocast;
  strategy.zero_grad();
  strategy.forward_backward(batch, task, micro);
  strategy.step();
  strategy.zero_grad();
}

/// Forgets the peak resident set (Linux >= 4.0); false where that is refused.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return bool(clear);
}

double read_number(const std::string& path) {
  std::ifstream in(path);
  double value = -1.0;
  if (!(in >> value)) return -1.0;  // absent, or "max"
  return value;
}

double meminfo_bytes(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  const std::string prefix = field + ":";
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, prefix.size(), prefix) == 0) return std::stod(line.substr(prefix.size())) * 1024.0;
  return 0.0;
}

using Trial = std::function<BatchSizeTrial(int64_t)>;

/// Doubles from 1 while sizes fit, then bisects to within ~3%. `shortcut` may
/// declare the next size too big without trying it, and name one to try instead.
void search(const Trial& trial, int64_t max_size, BatchSizeSearchResult& result,
            const std::function<std::optional<int64_t>(int64_t lo, int64_t next)>& shortcut = nullptr) {
  int64_t lo = 0, hi = 0;
  auto record = [&](int64_t size) {
    result.trials.push_back(trial(size));
    const auto& done = result.trials.back();
    spdlog::info("batch size {}: {} (peak {})", size, done.fits ? "fits" : "does not fit", format_bytes(done.peak_bytes));
    return done.fits;
  };
  for (int64_t size = 1;; size = std::min(2 * size, max_size)) {
    if (lo > 0 && shortcut) {
      if (auto guess = shortcut(lo, size)) {
        // The line says `guess` fills the budget: sizes above it are predicted
        // not to fit and are never tried; below it, bisect.
        hi = lo + 1;
        if (*guess > lo && *guess < size) {
          if (record(*guess)) {
            lo = *guess;
            hi = lo + std::max<int64_t>(1, lo / 32);  // within the search's precision: done
          } else {
            hi = *guess;
          }
        }
        break;
      }
    }
    if (!record(size)) {
      hi = size;
      break;
    }
    lo = size;
    if (size >= max_size) {
      result.reached_max = true;
      break;
    }
  }
  while (hi > 0 && hi - lo > std::max<int64_t>(1, lo / 32)) {
    const int64_t mid = lo + (hi - lo) / 2;
    (record(mid) ? lo : hi) = mid;
  }
  result.micro_batch_size = lo;
  for (const auto& done : result.trials)
    if (done.batch_size == lo) result.peak_bytes = done.peak_bytes;
}

#ifdef COHORT_WITH_CUDA
void search_cuda(strategy::Strategy& strategy, const task::Task& task, const data::Dataset& dataset,
                 const BatchSizeSearchOptions& options, BatchSizeSearchResult& result) {
  namespace allocator = c10::cuda::CUDACachingAllocator;
  const auto device = strategy.input_device().index() < 0 ? c10::DeviceIndex(0) : strategy.input_device().index();
  result.method = "tried";
  result.budget_bytes = options.fraction() * double(at::cuda::getDeviceProperties(device)->totalGlobalMem);
  allocator::setMemoryFraction(options.fraction(), device);
  const auto trial = [&](int64_t size) {
    BatchSizeTrial done{size, false, 0.0};
    allocator::resetPeakStats(device);
    try {
      training_step(strategy, task, dataset, size, options.autocast());
      torch::cuda::synchronize(device);
      done.fits = true;
    } catch (...) {
      if (!is_out_of_memory(std::current_exception())) throw;
      strategy.zero_grad();
    }
    using c10::CachingAllocator::StatType;
    done.peak_bytes =
        double(allocator::getDeviceStats(device).allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak);
    release_memory();
    return done;
  };
  try {
    search(trial, options.max_batch_size(), result);
  } catch (...) {
    allocator::setMemoryFraction(1.0, device);
    throw;
  }
  allocator::setMemoryFraction(1.0, device);
}
#endif

void search_cpu(strategy::Strategy& strategy, const task::Task& task, const data::Dataset& dataset,
                const BatchSizeSearchOptions& options, BatchSizeSearchResult& result) {
  result.method = "measured";
  result.budget_bytes = options.cpu_budget_mb() > 0 ? double(options.cpu_budget_mb()) * kMiB
                                                    : options.fraction() * cpu_memory_available();
  // The first step allocates the gradients and the optimizer's state for good.
  training_step(strategy, task, dataset, 1, options.autocast());
  bool exact = true;
  const auto trial = [&](int64_t size) {
    ::malloc_trim(0);
    exact = reset_peak_rss() && exact;
    training_step(strategy, task, dataset, size, options.autocast());
    const double peak = double(proc_status_bytes("VmHWM"));
    return BatchSizeTrial{size, peak <= result.budget_bytes, peak};
  };
  // A line through the last two measurements: the size predicted to fill the
  // budget, once the next doubling is predicted to overflow it.
  const auto shortcut = [&](int64_t lo, int64_t next) -> std::optional<int64_t> {
    const auto& trials = result.trials;
    if (trials.size() < 2) return std::nullopt;
    const auto& a = trials[trials.size() - 2];
    const auto& b = trials.back();
    const double slope = (b.peak_bytes - a.peak_bytes) / double(b.batch_size - a.batch_size);
    if (slope <= 0.0 || b.peak_bytes + slope * double(next - b.batch_size) <= result.budget_bytes) return std::nullopt;
    return b.batch_size + int64_t(std::floor((result.budget_bytes - b.peak_bytes) / slope));
  };
  search(trial, options.max_batch_size(), result, shortcut);
  if (!exact)
    spdlog::warn("this system does not let a process reset its peak resident memory (/proc/self/clear_refs); the "
                 "peaks measured include earlier ones, so the size found errs small.");
}

}  // namespace

double cpu_memory_available() {
  const double rss = double(proc_status_bytes("VmRSS"));
  double available = rss + meminfo_bytes("MemAvailable");
  const double limit = read_number("/sys/fs/cgroup/memory.max");
  const double used = read_number("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) available = std::min(available, rss + std::max(0.0, limit - used));
  return available;
}

BatchSizeSearchResult find_batch_size(strategy::Strategy& strategy, const task::Task& task,
                                      const data::Dataset& dataset, const BatchSizeSearchOptions& options) {
  if (strategy.data_parallel_size() != 1)
    throw std::invalid_argument("the batch-size search runs on one process; run it without mpirun");
  BatchSizeSearchResult result;
  result.device = strategy.input_device().str();
  if (strategy.input_device().is_cuda()) {
#ifdef COHORT_WITH_CUDA
    search_cuda(strategy, task, dataset, options, result);
#else
    throw std::runtime_error("this build of Cohort has no CUDA code");
#endif
  } else {
    search_cpu(strategy, task, dataset, options, result);
  }
  return result;
}

nlohmann::json BatchSizeSearchResult::to_json() const {
  nlohmann::json tried = nlohmann::json::array();
  for (const auto& trial : trials)
    tried.push_back({{"batch_size", trial.batch_size}, {"fits", trial.fits}, {"peak_mb", trial.peak_bytes / kMiB}});
  return {{"event", "find_batch_size"}, {"micro_batch_size", micro_batch_size}, {"reached_max", reached_max},
          {"device", device},           {"method", method},                     {"budget_mb", budget_bytes / kMiB},
          {"peak_mb", peak_bytes / kMiB}, {"trials", tried}};
}

}  // namespace cohort::memory
