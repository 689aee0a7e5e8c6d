#include "cohort/models/cnn.h"

#include <torch/torch.h>

namespace cohort::models {

CnnImpl::CnnImpl(CnnOptions options_) : options(std::move(options_)) { reset(); }

void CnnImpl::reset() {
  TORCH_CHECK(options.input_shape().size() == 3, "a CNN needs image inputs {channels, height, width}");
  int64_t channels = options.input_shape()[0];
  int64_t height = options.input_shape()[1];
  int64_t width = options.input_shape()[2];
  features_ = torch::nn::Sequential();
  for (const int64_t out_channels : options.channels()) {
    TORCH_CHECK(height >= 2 && width >= 2, "the CNN has more conv blocks than the image size allows");
    features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out_channels, 3).padding(1)));
    features_->push_back(torch::nn::ReLU());
    features_->push_back(torch::nn::MaxPool2d(2));
    channels = out_channels;
    height /= 2;
    width /= 2;
  }
  classifier_ = torch::nn::Sequential(torch::nn::Linear(channels * height * width, options.hidden()),
                                      torch::nn::ReLU());
  if (options.dropout() > 0) classifier_->push_back(torch::nn::Dropout(options.dropout()));
  classifier_->push_back(torch::nn::Linear(options.hidden(), options.num_classes()));
  register_module("features", features_);
  register_module("classifier", classifier_);
}

torch::Tensor CnnImpl::forward(torch::Tensor input) {
  return classifier_->forward(features_->forward(input).flatten(1));
}

torch::nn::Sequential CnnImpl::layers() const {
  torch::nn::Sequential layers;
  for (const auto& layer : *features_) layers->push_back(layer);
  layers->push_back(torch::nn::Flatten{});
  for (const auto& layer : *classifier_) layers->push_back(layer);
  return layers;
}

}  // namespace cohort::models
