#include "cohort/models/staged.h"

#include <torch/torch.h>

#include "cohort/core/error.h"

namespace cohort::models {

torch::nn::Sequential layers_of(const torch::nn::AnyModule& model) {
  const auto module = model.ptr();
  if (auto sequential = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(module))
    return torch::nn::Sequential(std::move(sequential));
  if (const auto* staged = dynamic_cast<const Staged*>(module.get())) return staged->layers();
  throw InputError("the model \"" + module->name() +
                   "\" cannot be cut into stages: it must be a torch::nn::Sequential or implement "
                   "cohort::models::Staged (layers() in the order forward() applies them).");
}

}  // namespace cohort::models
