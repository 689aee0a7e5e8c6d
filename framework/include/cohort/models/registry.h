#pragma once
// Models by name, for configs. Embedding code passes its own module to the
// Trainer directly and never needs this.

#include <cstdint>
#include <vector>

#include <torch/nn/modules/container/any.h>

#include "cohort/core/registry.h"

namespace cohort::models {

/// What a model factory learns from the data it will see.
struct ModelInputs {
  std::vector<int64_t> sample_shape;
  int64_t num_classes = 0;
  /// Text: token ids run 0..vocab_size-1 (0 for data that is not text).
  int64_t vocab_size = 0;
  /// Text: the id that pads a sequence to its batch's length; -1 if none.
  int64_t pad_index = -1;
};

using ModelRegistry = Registry<torch::nn::AnyModule, const ModelInputs&>;

/// The registry with the built-in `mlp` and `cnn` and the text models
/// `embedding_bag`, `lstm`, `gru` and `transformer`; add() your own to it.
ModelRegistry& model_registry();

}  // namespace cohort::models
