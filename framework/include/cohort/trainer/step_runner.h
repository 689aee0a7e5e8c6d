#pragma once
// One training step of a batch through a strategy: the batch is cut into
// micro-batches whose gradients accumulate (each micro-batch's loss weighted
// by its share of the batch, so the step equals one on the whole batch), and
// the optimizer steps once.
//
// The step is also where things go wrong, and where they are answered:
// - out of memory: the gradients and cached memory are released, the
//   micro-batch halved and the accumulation doubled (the effective batch, and
//   so the result, stay the same), and the same batch tried again; the new
//   size stays for later steps. Every rank takes the new size together.
// - a non-finite loss: the step is skipped, or training stops, by policy.
// - fp16: the loss is scaled before backward, the gradients unscaled before
//   the optimizer step, and a step whose gradients overflowed is skipped.
// Every rank calls Strategy::any_rank() once per step (more only when
// something went wrong), so all ranks take the same decision.

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <torch/arg.h>

#include "cohort/data/dataset.h"
#include "cohort/memory/memory_report.h"
#include "cohort/memory/oom.h"
#include "cohort/precision/loss_scaler.h"
#include <spdlog/logger.h>

#include "cohort/strategy/strategy.h"
#include "cohort/trainer/stats.h"

namespace cohort::trainer {

/// The type forward runs in: fp32 as is, or under autocast to fp16 / bf16.
enum class Precision { kFp32, kFp16, kBf16 };

/// What a step with a non-finite (inf or NaN) loss does.
enum class NonFiniteLoss {
  kSkip,  // drop its gradients, warn, go on with the next batch
  kFail,  // stop training, naming the step and the last finite loss
};

struct StepOptions {
  /// Micro-batches per step: the batch is cut into this many (nearly) equal parts.
  TORCH_ARG(int64_t, accumulation_steps) = 1;
  TORCH_ARG(Precision, precision) = Precision::kFp32;
  /// The loss scaling of fp16 (unused otherwise).
  TORCH_ARG(precision::LossScalerOptions, loss_scaler) = {};
  TORCH_ARG(memory::OomPolicy, oom_policy) = memory::OomPolicy::kShrink;
  TORCH_ARG(NonFiniteLoss, nonfinite_loss) = NonFiniteLoss::kFail;
  /// Scales the gradients so that their norm (over every parameter of the
  /// model, all ranks' stages together) is at most this (0 = off), as
  /// torch::nn::utils::clip_grad_norm_ does. Applied after the data-parallel
  /// reduction and after unscaling under fp16, just before the optimizer step.
  TORCH_ARG(double, clip_grad_norm) = 0.0;
  /// Clamps every gradient element to [-value, value] (0 = off), before the
  /// norm clipping when both are set.
  TORCH_ARG(double, clip_grad_value) = 0.0;
};

/// A step that cannot go on: out of memory at one example, a non-finite loss
/// under the "fail" policy. `what()` is one sentence for the person running it.
class StepError : public std::runtime_error {
 public:
  explicit StepError(const std::string& message) : std::runtime_error(message) {}
};

class StepRunner {
 public:
  /// `logger` says what a step does about it (out of memory, a skipped
  /// step); null = spdlog's default logger.
  explicit StepRunner(StepOptions options = {}, std::shared_ptr<spdlog::logger> logger = nullptr);

  /// Runs one step of `batch` through `strategy`; returns the batch's
  /// statistics (none for a skipped step). `step` (1-based) names the step in
  /// messages.
  Stats run(const data::Batch& batch, strategy::Strategy& strategy, const task::Task& task,
            int64_t step = 0);

  /// Examples per micro-batch for a batch of `batch_size`, after any shrinking.
  int64_t micro_batch_size(int64_t batch_size) const;
  /// Micro-batches per batch now: the configured accumulation, doubled at each shrink.
  int64_t accumulation_steps() const { return parts_; }
  /// How often the micro-batch was halved after running out of memory.
  int64_t shrinks() const { return shrinks_; }
  /// Steps skipped for a non-finite loss, and (fp16) for overflowing gradients.
  int64_t skipped_nonfinite() const { return skipped_nonfinite_; }
  int64_t skipped_overflow() const { return skipped_overflow_; }
  /// The fp16 loss scaler; null under fp32 and bf16.
  precision::LossScaler* loss_scaler() { return scaler_.get(); }
  const precision::LossScaler* loss_scaler() const { return scaler_.get(); }
  /// The autocast type of forward, none under fp32.
  std::optional<torch::ScalarType> autocast() const;

  const StepOptions& options() const { return options_; }
  /// The gradient norm of the last step, before clipping (0 unless
  /// clip_grad_norm is set).
  double grad_norm() const { return grad_norm_; }

  /// True while, or when an error left, the optimizer part-way through
  /// updating the parameters: the model is then neither before nor after the
  /// step, and not worth a checkpoint.
  bool updating() const { return updating_; }

 private:
  /// What one try at the step found.
  struct Attempt {
    Stats stats;
    int64_t micro = 0;
    bool out_of_memory = false;
    bool nonfinite_loss = false;
    bool overflow = false;  // fp16 gradients with inf or NaN
    std::exception_ptr error;
    memory::MemoryReport memory;
    bool problem() const { return out_of_memory || nonfinite_loss || overflow; }
  };

  Attempt attempt(const data::Batch& batch, strategy::Strategy& strategy, const task::Task& task);
  void run_micro_batches(const data::Batch& batch, strategy::Strategy& strategy, const task::Task& task,
                         Attempt& attempt);
  void recover_from_oom(const Attempt& attempt, strategy::Strategy& strategy, int64_t batch_size, int64_t step);
  Stats skip_nonfinite(const Attempt& attempt, strategy::Strategy& strategy, int64_t step);
  Stats skip_overflow(const Attempt& attempt, strategy::Strategy& strategy, int64_t step);
  void finish(const Attempt& attempt, int64_t batch_size, int64_t step);
  void clip_gradients(strategy::Strategy& strategy);

  StepOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<precision::LossScaler> scaler_;
  int64_t parts_ = 1;
  int64_t shrinks_ = 0;
  bool updating_ = false;
  bool announce_size_ = false;
  int64_t skipped_nonfinite_ = 0;
  int64_t skipped_overflow_ = 0;
  double last_finite_loss_ = 0.0;
  int64_t last_finite_step_ = 0;
  double grad_norm_ = 0.0;
};

/// `batch` in `parts` consecutive slices whose sizes differ by at most one
/// (the first size % parts hold one example more), e.g. 25 over 3: 9, 8, 8.
/// Slices past the batch's end are empty when it has fewer examples than parts.
std::vector<data::Batch> split_evenly(const data::Batch& batch, int64_t parts);

/// "fp32", "fp16", "bf16" and back; std::invalid_argument for another name.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

}  // namespace cohort::trainer
