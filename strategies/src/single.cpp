#include "cohort/strategies/single.h"

#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/precision/autocast.h"

namespace cohort::strategies {

Single::Single(SingleOptions options) : options_(std::move(options)) {}

void Single::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  model_ = std::move(model);
  optimizer_ = std::move(optimizer);
  place_model();
  writer_ = !distributed::mpi_active() || distributed::world(torch::kCPU)->rank() == 0;
}

void Single::place_model() {
  // Module::to() swaps each parameter's data in place, so the optimizer's
  // references to the parameters stay valid.
  model_.ptr()->to(options_.device());
}

void Single::zero_grad() { optimizer_->zero_grad(); }

torch::Tensor Single::forward(const torch::Tensor& input, const MicroStep& micro_step) {
  precision::AutocastGuard autocast(options_.device().type(), micro_step.autocast);
  return model_.forward(input.to(options_.device(), /*non_blocking=*/true));
}

trainer::Stats Single::forward_backward(const data::Batch& micro, const LossFn& loss, const MicroStep& micro_step) {
  const auto target = micro.target.to(options_.device(), /*non_blocking=*/true);
  const auto output = forward(micro.data, micro_step);
  const auto value = loss(output, target);
  if (micro_step.loss_weight == 1.0)
    value.backward();
  else
    (value * micro_step.loss_weight).backward();
  return batch_stats(output.detach(), target, value.detach());
}

void Single::step() { optimizer_->step(); }

trainer::Stats Single::eval_step(const data::Batch& batch, const LossFn& loss) {
  const auto target = batch.target.to(options_.device(), /*non_blocking=*/true);
  const auto output = forward(batch.data, MicroStep{});
  return batch_stats(output, target, loss(output, target));
}

std::vector<torch::Tensor> Single::parameters() const { return model_.ptr()->parameters(); }

void Single::save(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model_.ptr()->save(model_archive);
  optimizer_->save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
}

void Single::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive model_archive, optimizer_archive;
  archive.read("model", model_archive);
  archive.read("optimizer", optimizer_archive);
  model_.ptr()->load(model_archive);
  place_model();
  optimizer_->load(optimizer_archive);
}

trainer::Stats batch_stats(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& loss) {
  trainer::Stats stats;
  stats.samples = output.size(0);
  stats.loss_sum = loss.item<double>() * double(stats.samples);
  if (output.dim() == 2 && target.dim() == 1 && target.scalar_type() == torch::kInt64)
    stats.correct = output.argmax(1).eq(target).sum().item<int64_t>();
  return stats;
}

}  // namespace cohort::strategies
