#pragma once
// What a model is before it trains, in the manner of torchsummary: each
// layer's output shape, parameters and activation memory at one batch, and
// the memory a training step will need against what the device has.
//
//   auto report = cohort::models::summary(model, batch_input);
//   std::cout << report.format(cohort::models::SummaryOptions().optimizer_states(2));

#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

namespace cohort::models {

/// How format() prices a training step.
struct SummaryOptions {
  /// Tensors the optimizer keeps per parameter: 0 for plain SGD, 1 with
  /// momentum, 2 for Adam and AdamW.
  TORCH_ARG(int64_t, optimizer_states) = 0;
  /// The memory the device has, in bytes (0 = unknown: not compared).
  TORCH_ARG(double, device_bytes) = 0;
  /// The device's name in the comparison, e.g. "cuda:0".
  TORCH_ARG(std::string, device) = "cpu";
};

/// One row: a layer, or for a model whose layers are unknown, a submodule.
struct LayerSummary {
  std::string path;                   // "classifier.0"; the index for a layer the model adds itself
  std::string type;                   // "Linear"
  std::vector<int64_t> output_shape;  // empty for a submodule row
  int64_t trainable = 0;              // parameters with requires_grad
  int64_t frozen = 0;                 // parameters without
  int64_t activation_bytes = 0;       // the output's bytes at this batch
};

struct ModelSummary {
  std::string type;                // the model's type, e.g. "Cnn"
  std::vector<int64_t> input_shape;
  bool by_layer = false;           // rows are layers run in order (false: submodules, no shapes)
  std::vector<LayerSummary> rows;
  int64_t trainable = 0;
  int64_t frozen = 0;
  int64_t parameter_bytes = 0;     // trainable and frozen
  int64_t trainable_bytes = 0;
  int64_t activation_bytes = 0;    // the rows' outputs at this batch

  /// Weights + gradients + optimizer state + activations.
  int64_t step_bytes(int64_t optimizer_states) const;
  /// The table, the totals, the model's size and the step's memory.
  std::string format(const SummaryOptions& options = {}) const;
};

/// The summary of `module` on `example_batch` (its input, batch first). A
/// model whose layers are known (models::layers_of) is run layer by layer, in
/// eval mode without gradients, with the CPU generator restored: the model,
/// the RNG and a following run are unchanged. Any other model gets its
/// parameters by submodule and no shapes.
ModelSummary summary(const torch::nn::AnyModule& module, const torch::Tensor& example_batch);

}  // namespace cohort::models
