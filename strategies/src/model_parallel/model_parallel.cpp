#include "cohort/strategies/model_parallel/model_parallel.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/models/shape_error.h"
#include "cohort/models/staged.h"
#include "cohort/precision/autocast.h"
#include "cohort/strategies/stages.h"

namespace cohort::strategies {
namespace {

/// A parameter outside the layers would belong to no stage: nothing would put
/// it on a device, and forward(), which runs only the stages, would skip it.
void check_layers_hold_every_parameter(const torch::nn::AnyModule& model, const torch::nn::Sequential& layers) {
  const auto in_model = model.ptr()->parameters().size(), in_layers = layers->parameters().size();
  if (in_model != in_layers)
    throw InputError(fmt::format("model_parallel cannot cut the model \"{}\": {} of its {} parameter tensors are "
                                 "outside the layers its forward() is made of.",
                                 model.ptr()->name(), in_model - in_layers, in_model));
}

}  // namespace

ModelParallel::ModelParallel(ModelParallelOptions options)
    // The base's device is the last one: where outputs, targets and the loss are.
    : LocalModel(options.devices().empty() ? torch::Device(torch::kCPU) : options.devices().back(),
                 options.writer()),
      model_parallel_options_(std::move(options)) {
  if (devices().empty()) throw InputError("model_parallel needs at least one device in \"devices\".");
}

void ModelParallel::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  const auto layers = models::layers_of(model);
  check_layers_hold_every_parameter(model, layers);
  balance_ = balance_stages(layers, static_cast<int64_t>(devices().size()), model_parallel_options_.balance());
  stages_ = split_stages(layers, balance_);
  LocalModel::prepare(std::move(model), std::move(optimizer));
}

void ModelParallel::place_model() {
  // Module::to() swaps each parameter's data in place, and the stages share
  // the model's own layer modules, so this moves the model itself.
  for (size_t i = 0; i < stages_.size(); ++i) stages_[i]->to(devices()[i]);
}

torch::Tensor ModelParallel::forward(const data::Batch& batch, const task::Task& task,
                                     const strategy::MicroStep& micro_step) {
  const auto& input = single_input(batch, task, "model_parallel");
  // A size mismatch names the layer, as under single (the layers are run
  // again where they live, stage by stage).
  return models::explain_shape_errors(model_, [&] { return input; }, [&] {
    torch::Tensor activation = input;
    for (size_t i = 0; i < stages_.size(); ++i) {
      const auto& device = devices()[i];
      precision::AutocastGuard autocast(device.type(), micro_step.autocast);
      // Non-blocking only towards a GPU: a non-blocking copy to the CPU may be
      // read before it has landed.
      activation = stages_[i]->forward(activation.to(device, /*non_blocking=*/device.is_cuda()));
    }
    return activation;
  });
}

}  // namespace cohort::strategies
