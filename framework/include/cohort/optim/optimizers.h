#pragma once
// Optimizers by name for configs: sgd (momentum, Nesterov, weight decay), adam, adamw.

#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>

#include "cohort/core/registry.h"

namespace cohort::optim {

using OptimizerRegistry = Registry<std::shared_ptr<torch::optim::Optimizer>, std::vector<torch::Tensor>>;

/// The registry with the built-in `sgd`, `adam` and `adamw`.
OptimizerRegistry& optimizer_registry();

/// The learning rate of each parameter group.
std::vector<double> learning_rates(const torch::optim::Optimizer& optimizer);

}  // namespace cohort::optim
