#pragma once
// Warns when memory grows step after step: the classic leak of a training
// loop that keeps tensors holding their autograd graphs alive, e.g.
// `total += loss` instead of `total += loss.item<double>()`.
//
// Every `every` steps it samples the memory in use: what CUDA's caching
// allocator has handed out on a CUDA device (exact), or the bytes malloc has
// handed out on the CPU (mallinfo2: unlike the resident set it does not count
// freed memory kept for reuse). It warns when the last `window` samples, after
// the first `warmup_samples` (allocator and optimizer warm-up), rose by at
// least `threshold_bytes` and rose steadily: three in four samples higher than
// the one before, a straight line fitting them closely (R^2 >= 0.9), and at
// least a quarter of the rise in the window's second half. Noise goes up and
// down, a one-off rise (the optimizer's state, a queue of prefetched batches
// filling) is a step, not a line, and a warm-up levels off, so none fires.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <torch/arg.h>
#include <torch/types.h>

namespace cohort::memory {

struct LeakDetectorOptions {
  /// Steps between samples; 0 turns the detector off.
  TORCH_ARG(int64_t, every) = 100;
  /// Samples a steady rise must span.
  TORCH_ARG(int64_t, window) = 10;
  /// Samples ignored at the start.
  TORCH_ARG(int64_t, warmup_samples) = 2;
  /// The least rise over the window that counts as a leak.
  TORCH_ARG(double, threshold_bytes) = 8.0 * 1024 * 1024;
};

struct LeakWarning {
  int64_t first_step = 0;
  int64_t last_step = 0;
  double growth_bytes = 0.0;    // last sample minus first
  double bytes_per_step = 0.0;  // slope of the fitted line
  std::string measure;          // what was sampled, e.g. "CPU heap in use"
  /// One sentence naming the growth per step and the likely cause.
  std::string message() const;
};

class LeakDetector {
 public:
  /// `measure` names what `sample` returns (bytes), for the warning.
  LeakDetector(LeakDetectorOptions options, std::function<double()> sample, std::string measure);
  /// Samples the memory in use on `device`: CUDA allocated there, else the CPU heap.
  LeakDetector(LeakDetectorOptions options, torch::Device device);

  /// Called after each step with the number of steps done; samples when due.
  std::optional<LeakWarning> after_step(int64_t steps_done);
  /// Adds one sample taken after `steps_done` steps (what after_step() does when due).
  std::optional<LeakWarning> add_sample(int64_t steps_done, double bytes);

  bool enabled() const { return options_.every() > 0; }
  int64_t warnings() const { return warnings_; }
  const LeakDetectorOptions& options() const { return options_; }

 private:
  std::optional<LeakWarning> check() const;

  LeakDetectorOptions options_;
  std::function<double()> sample_;
  std::string measure_;
  std::deque<std::pair<int64_t, double>> samples_;
  int64_t seen_ = 0;
  int64_t warnings_ = 0;
};

}  // namespace cohort::memory
