#include "cohort/strategies/local_model.h"

#include <torch/torch.h>

#include "cohort/precision/autocast.h"

namespace cohort::strategies {

LocalModel::LocalModel(torch::Device device, bool writer) : device_(device), writer_(writer) {}

void LocalModel::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  model_ = std::move(model);
  optimizer_ = std::move(optimizer);
  place_model();
}

void LocalModel::place_model() {
  // Module::to() swaps each parameter's data in place, so the optimizer's
  // references to the parameters stay valid.
  model_.ptr()->to(device_);
}

void LocalModel::zero_grad() { optimizer_->zero_grad(); }

torch::Tensor LocalModel::forward(const torch::Tensor& input, const strategy::MicroStep& micro_step) {
  precision::AutocastGuard autocast(device_.type(), micro_step.autocast);
  return model_.forward(input.to(device_, /*non_blocking=*/true));
}

trainer::Stats LocalModel::forward_backward(const data::Batch& micro, const strategy::LossFn& loss, const strategy::MicroStep& micro_step) {
  const auto target = micro.target.to(device_, /*non_blocking=*/true);
  const auto output = forward(micro.data, micro_step);
  const auto value = loss(output, target);
  if (micro_step.loss_weight == 1.0)
    value.backward();
  else
    (value * micro_step.loss_weight).backward();
  return batch_stats(output.detach(), target, value.detach());
}

void LocalModel::step() { optimizer_->step(); }

trainer::Stats LocalModel::eval_step(const data::Batch& batch, const strategy::LossFn& loss) {
  const auto target = batch.target.to(device_, /*non_blocking=*/true);
  const auto output = forward(batch.data, strategy::MicroStep{});
  return batch_stats(output, target, loss(output, target));
}

std::vector<torch::Tensor> LocalModel::parameters() const { return model_.ptr()->parameters(); }

void LocalModel::save(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model_.ptr()->save(model_archive);
  optimizer_->save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
}

void LocalModel::load(torch::serialize::InputArchive& archive) {
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
