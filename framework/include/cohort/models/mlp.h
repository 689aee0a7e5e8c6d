#pragma once
// A multi-layer perceptron: flatten, then Linear + ReLU (+ dropout) per hidden layer.

#include <cstdint>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "cohort/models/staged.h"

namespace cohort::models {

struct MlpOptions {
  MlpOptions(int64_t in_features, int64_t num_classes) : in_features_(in_features), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, num_classes);
  /// Width of each hidden layer, input side first.
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{256, 256};
  /// Dropout probability after each hidden activation (0 = none).
  TORCH_ARG(double, dropout) = 0.0;
};

class MlpImpl : public torch::nn::Cloneable<MlpImpl>, public Staged {
 public:
  explicit MlpImpl(MlpOptions options);
  void reset() override;
  /// Any input shape {N, ...}; it is flattened to {N, in_features}. Returns logits {N, num_classes}.
  torch::Tensor forward(torch::Tensor input);
  /// Flatten and the layers, in order, for model_parallel and pipeline.
  torch::nn::Sequential layers() const override;

  MlpOptions options;

 private:
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace cohort::models
