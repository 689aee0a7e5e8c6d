#include "cohort/trainer/step_runner.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

namespace cohort::trainer {

StepRunner::StepRunner(StepOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      log_(logger ? std::move(logger) : spdlog::default_logger()),
      parts_(std::max<int64_t>(1, options_.accumulation_steps())) {
  if (options_.precision() == Precision::kFp16)
    scaler_ = std::make_unique<precision::LossScaler>(options_.loss_scaler());
}

int64_t StepRunner::micro_batch_size(int64_t batch_size) const {
  return std::max<int64_t>(1, (batch_size + parts_ - 1) / parts_);
}

std::optional<torch::ScalarType> StepRunner::autocast() const {
  switch (options_.precision()) {
    case Precision::kFp16: return torch::kHalf;
    case Precision::kBf16: return torch::kBFloat16;
    default: return std::nullopt;
  }
}

Stats StepRunner::run(const data::Batch& batch, strategy::Strategy& strategy, const task::Task& task,
                      int64_t step) {
  for (;;) {
    const auto tried = attempt(batch, strategy, task);
    // One collective per step: every rank learns whether any rank had a problem.
    if (!strategy.any_rank(tried.problem())) {
      clip_gradients(strategy);
      updating_ = true;
      strategy.step();
      updating_ = false;
      finish(tried, batch.size(), step);
      return tried.stats;
    }
    // Rarer paths, taken by every rank together: which problem, by priority.
    if (strategy.any_rank(tried.out_of_memory)) {
      recover_from_oom(tried, strategy, batch.size(), step);
      continue;
    }
    if (strategy.any_rank(tried.nonfinite_loss)) return skip_nonfinite(tried, strategy, step);
    return skip_overflow(tried, strategy, step);
  }
}

StepRunner::Attempt StepRunner::attempt(const data::Batch& batch, strategy::Strategy& strategy,
                                        const task::Task& task) {
  Attempt tried;
  tried.micro = micro_batch_size(batch.size());
  strategy.zero_grad();
  try {
    run_micro_batches(batch, strategy, task, tried);
  } catch (...) {
    tried.error = std::current_exception();
    if (!memory::is_out_of_memory(tried.error)) throw;
    tried.out_of_memory = true;
    tried.memory = memory::capture_memory_report();
    // Before anything else: peers may be waiting in this step's gradient exchange.
    strategy.abandon_step();
    return tried;
  }
  if (scaler_ && !tried.nonfinite_loss) tried.overflow = scaler_->unscale(strategy.parameters());
  return tried;
}

void StepRunner::run_micro_batches(const data::Batch& batch, strategy::Strategy& strategy,
                                   const task::Task& task, Attempt& tried) {
  const int64_t size = batch.size();
  const double scale = scaler_ ? scaler_->scale() : 1.0;
  for (int64_t begin = 0; begin < size; begin += tried.micro) {
    const int64_t end = std::min(size, begin + tried.micro);
    strategy::MicroStep micro_step;
    micro_step.loss_weight = double(end - begin) / double(size) * scale;
    micro_step.last = end == size;
    micro_step.autocast = autocast();
    const auto stats = strategy.forward_backward(batch.slice(begin, end), task, micro_step);
    tried.nonfinite_loss = tried.nonfinite_loss || !std::isfinite(stats.loss_sum);
    tried.stats += stats;
  }
}

void StepRunner::recover_from_oom(const Attempt& tried, strategy::Strategy& strategy, int64_t batch_size,
                                  int64_t step) {
  strategy.zero_grad();
  memory::release_memory();
  const auto where = tried.out_of_memory
                         ? fmt::format("{}; memory then: {}", memory::first_line(tried.error), tried.memory.format())
                         : std::string("another rank ran out of memory");
  if (options_.oom_policy() == memory::OomPolicy::kFail)
    throw StepError(fmt::format("step {} ran out of memory at a micro-batch of {} examples ({}). memory.oom_policy "
                                "is \"fail\"; set it to \"shrink\" to retry with smaller micro-batches.",
                                step, tried.micro, where));
  if (tried.micro <= 1)
    throw StepError(fmt::format("step {} ran out of memory even at a micro-batch of 1 example ({}). The model, its "
                                "optimizer state and one example's activations do not fit: use a smaller model, "
                                "precision bf16 or fp16, or a device with more memory.",
                                step, where));
  const int64_t before = parts_;
  parts_ *= 2;  // ceil(n / 2p) = ceil(ceil(n / p) / 2): the micro-batch halves
  ++shrinks_;
  announce_size_ = true;
  log_->warn("step {} ran out of memory at a micro-batch of {} examples ({}). Retrying the step with micro-batches "
               "of {} and {} accumulation steps instead of {}; the effective batch and the result stay the same.",
               step, tried.micro, where, micro_batch_size(batch_size), parts_, before);
}

Stats StepRunner::skip_nonfinite(const Attempt& tried, strategy::Strategy& strategy, int64_t step) {
  strategy.zero_grad();
  const double value = tried.stats.mean_loss();
  const auto what = tried.nonfinite_loss ? fmt::format("the loss is {}", std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf")
                                         : std::string("another rank's loss is not finite");
  if (options_.nonfinite_loss() == NonFiniteLoss::kFail) {
    const auto last = last_finite_step_ > 0 ? fmt::format("the last finite loss was {:.6g} at step {}",
                                                          last_finite_loss_, last_finite_step_)
                                            : std::string("no step had a finite loss before");
    throw StepError(fmt::format("step {}: {} ({}); training stopped because trainer.nonfinite_loss is \"fail\". Lower "
                                "the learning rate, check the data, or set trainer.nonfinite_loss to \"skip\".",
                                step, what, last));
  }
  ++skipped_nonfinite_;
  log_->warn("step {}: {}; the step is skipped and its gradients dropped (trainer.nonfinite_loss is \"skip\"; {} "
               "skipped so far).",
               step, what, skipped_nonfinite_);
  return Stats{};
}

Stats StepRunner::skip_overflow(const Attempt& tried, strategy::Strategy& strategy, int64_t step) {
  strategy.zero_grad();
  const double before = scaler_ ? scaler_->scale() : 0.0;
  if (scaler_) scaler_->update(/*found_inf=*/true);
  ++skipped_overflow_;
  const double after = scaler_ ? scaler_->scale() : 0.0;
  if (after < 1.0)
    log_->warn("step {}: fp16 gradients overflow even with the loss scale at {}; the step is skipped. fp16 cannot "
                 "hold this model's gradients: use precision bf16 or fp32.",
                 step, after);
  else
    log_->info("step {}: fp16 gradients overflowed at loss scale {}; the step is skipped and the scale lowered to {}.",
                 step, before, after);
  return tried.stats;
}

void StepRunner::clip_gradients(strategy::Strategy& strategy) {
  const double value = options_.clip_grad_value(), norm = options_.clip_grad_norm();
  if (value <= 0.0 && norm <= 0.0) return;
  std::vector<torch::Tensor> gradients;
  for (const auto& parameter : strategy.parameters())
    if (parameter.grad().defined()) gradients.push_back(parameter.grad());
  if (value > 0.0)
    for (auto& gradient : gradients) gradient.clamp_(-value, value);
  if (norm <= 0.0) return;
  // The norm of every gradient of the model: a strategy that splits the model
  // over ranks (pipeline stages) sums its parts, so each rank scales alike.
  // Summed on the first gradient's device (model_parallel spreads them over
  // several) and read back once, not once per parameter.
  std::vector<torch::Tensor> squares;
  for (const auto& gradient : gradients)
    squares.push_back(gradient.to(torch::kFloat64).square().sum().to(gradients.front().device()));
  const double local = squares.empty() ? 0.0 : torch::stack(squares).sum().item<double>();
  grad_norm_ = std::sqrt(strategy.sum_over_model(local));
  const double factor = norm / (grad_norm_ + 1e-6);  // as torch::nn::utils::clip_grad_norm_
  if (factor >= 1.0) return;
  for (auto& gradient : gradients) gradient.mul_(factor);
}

void StepRunner::finish(const Attempt& tried, int64_t batch_size, int64_t step) {
  if (scaler_) scaler_->update(/*found_inf=*/false);
  last_finite_loss_ = tried.stats.mean_loss();
  last_finite_step_ = step;
  if (!announce_size_) return;
  announce_size_ = false;
  log_->info("step {} fits with micro-batches of {} examples ({} accumulation steps per batch of {}); the run keeps "
               "this size from now on.",
               step, tried.micro, parts_, batch_size);
}

std::vector<data::Batch> split_evenly(const data::Batch& batch, int64_t parts) {
  const int64_t size = batch.size(), base = size / parts, longer = size % parts;
  std::vector<data::Batch> slices;
  for (int64_t part = 0, begin = 0; part < parts; ++part) {
    const int64_t end = begin + base + (part < longer ? 1 : 0);
    slices.push_back(batch.slice(begin, end));
    begin = end;
  }
  return slices;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  if (name == "bf16") return Precision::kBf16;
  throw std::invalid_argument("unknown precision \"" + name + "\" (use fp32, fp16 or bf16)");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
    default: return "fp32";
  }
}

}  // namespace cohort::trainer
