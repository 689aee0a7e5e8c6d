#pragma once
// Learning-rate schedules as pure functions of the step, so a resumed run
// continues exactly where it stopped: constant, step decay, cosine, each with
// an optional linear warm-up.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include "cohort/core/registry.h"

namespace cohort::optim {

enum class LrScheduleKind { kConstant, kStep, kCosine };

/// A schedule of the user's: the multiplier of the base rate for the 0-based
/// `step` of `total_steps`. It must be a pure function of its arguments, so a
/// resumed run continues exactly.
using LrFunction = std::function<double(int64_t step, int64_t total_steps)>;

struct LrScheduleOptions {
  TORCH_ARG(LrScheduleKind, kind) = LrScheduleKind::kConstant;
  /// Steps over which the rate rises linearly from base/warmup_steps to base.
  TORCH_ARG(int64_t, warmup_steps) = 0;
  /// kStep: multiply by gamma every step_epochs epochs.
  TORCH_ARG(int64_t, step_epochs) = 1;
  TORCH_ARG(double, gamma) = 0.1;
  /// kCosine: the final rate as a fraction of the base rate.
  TORCH_ARG(double, min_factor) = 0.0;
  /// When set, replaces kind and warm-up: the multiplier is function(step, total_steps).
  TORCH_ARG(LrFunction, function) = nullptr;
};

class LrSchedule {
 public:
  /// `base_rates` are the rates of the optimizer's parameter groups as
  /// configured (before any checkpoint replaced them).
  LrSchedule(LrScheduleOptions options, std::vector<double> base_rates);

  /// Multiplier of the base rate for the 0-based `step` about to run.
  double factor(int64_t step, int64_t steps_per_epoch, int64_t total_steps) const;

  /// Sets every parameter group of `optimizer` to base * factor(...) *
  /// `scale` (a reduce-on-plateau's factor). Returns the first group's new rate.
  double apply(torch::optim::Optimizer& optimizer, int64_t step, int64_t steps_per_epoch, int64_t total_steps,
               double scale = 1.0) const;

  const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
  std::vector<double> base_rates_;
};

using LrScheduleRegistry = Registry<LrScheduleOptions>;

/// The registry with `constant`, `step` and `cosine`.
LrScheduleRegistry& lr_schedule_registry();

}  // namespace cohort::optim
