#include "cohort/models/mlp.h"

#include <torch/torch.h>

namespace cohort::models {

MlpImpl::MlpImpl(MlpOptions options_) : options(std::move(options_)) { reset(); }

void MlpImpl::reset() {
  layers_ = torch::nn::Sequential();
  int64_t width = options.in_features();
  for (const int64_t hidden : options.hidden()) {
    layers_->push_back(torch::nn::Linear(width, hidden));
    layers_->push_back(torch::nn::ReLU());
    if (options.dropout() > 0) layers_->push_back(torch::nn::Dropout(options.dropout()));
    width = hidden;
  }
  layers_->push_back(torch::nn::Linear(width, options.num_classes()));
  register_module("layers", layers_);
}

torch::Tensor MlpImpl::forward(torch::Tensor input) { return layers_->forward(input.flatten(1)); }

torch::nn::Sequential MlpImpl::layers() const {
  torch::nn::Sequential layers(torch::nn::Flatten{});
  for (const auto& layer : *layers_) layers->push_back(layer);
  return layers;
}

}  // namespace cohort::models
