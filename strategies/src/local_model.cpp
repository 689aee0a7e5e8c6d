#include "cohort/strategies/local_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "cohort/models/shape_error.h"
#include "cohort/precision/autocast.h"
#include "cohort/task/invalid_example.h"
#include "cohort/trainer/checkpoint.h"

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

torch::Tensor LocalModel::forward(const data::Batch& batch, const task::Task& task,
                                  const strategy::MicroStep& micro_step) {
  precision::AutocastGuard autocast(device_.type(), micro_step.autocast);
  // A batch of another shape later in training (a last batch, a stray
  // example) gets the same sentence as the check before training.
  return models::explain_shape_errors(
      model_, [&] { return batch.at(task.inputs().front()).to(device_); },
      [&] { return task.forward(model_, batch, device_); });
}

trainer::Stats LocalModel::forward_backward(const data::Batch& micro, const task::Task& task,
                                            const strategy::MicroStep& micro_step) {
  int64_t classes = -1;
  return task::explain_invalid_examples(*model_.ptr(), micro, task, classes, [&] {
    const auto output = forward(micro, task, micro_step);
    classes = task::output_classes(output);
    const auto value = task.loss(output, micro);
    if (micro_step.loss_weight == 1.0)
      value.backward();
    else
      (value * micro_step.loss_weight).backward();
    return task.measure(output.detach(), micro, value.detach());
  });
}

void LocalModel::step() { optimizer_->step(); }

trainer::Stats LocalModel::eval_step(const data::Batch& batch, const task::Task& task) {
  int64_t classes = -1;
  return task::explain_invalid_examples(*model_.ptr(), batch, task, classes, [&] {
    const auto output = forward(batch, task, strategy::MicroStep{});
    classes = task::output_classes(output);
    return task.measure(output, batch, task.loss(output, batch));
  });
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
  trainer::check_state_matches(*model_.ptr(), model_archive);
  model_.ptr()->load(model_archive);
  place_model();
  optimizer_->load(optimizer_archive);
}

const torch::Tensor& single_input(const data::Batch& batch, const task::Task& task, const char* strategy) {
  if (task.inputs().size() != 1)
    throw std::invalid_argument(fmt::format(
        "the {} strategy passes one tensor from stage to stage, but the model's forward() takes {} batch tensors "
        "({}); use single, ddp or data_parallel for it",
        strategy, task.inputs().size(), fmt::join(task.inputs(), ", ")));
  return batch.at(task.inputs().front());
}

}  // namespace cohort::strategies
