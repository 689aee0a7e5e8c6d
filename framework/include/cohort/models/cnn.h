#pragma once
// A small convolutional classifier: blocks of 3x3 conv + ReLU + 2x2 max-pool,
// then one hidden fully connected layer.

#include <cstdint>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "cohort/models/staged.h"

namespace cohort::models {

struct CnnOptions {
  /// `input_shape` is one image, {channels, height, width}.
  CnnOptions(std::vector<int64_t> input_shape, int64_t num_classes)
      : input_shape_(std::move(input_shape)), num_classes_(num_classes) {}
  TORCH_ARG(std::vector<int64_t>, input_shape);
  TORCH_ARG(int64_t, num_classes);
  /// Output channels of each conv block; each block halves height and width.
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64};
  /// Width of the fully connected layer before the classifier.
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(double, dropout) = 0.25;
};

class CnnImpl : public torch::nn::Cloneable<CnnImpl>, public Staged {
 public:
  explicit CnnImpl(CnnOptions options);
  void reset() override;
  /// Input {N, C, H, W}; returns logits {N, num_classes}.
  torch::Tensor forward(torch::Tensor input);
  /// Flatten and the layers, in order, for model_parallel and pipeline.
  torch::nn::Sequential layers() const override;

  CnnOptions options;

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};
TORCH_MODULE(Cnn);

}  // namespace cohort::models
