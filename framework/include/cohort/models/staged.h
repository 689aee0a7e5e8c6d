#pragma once
// Models that can be cut into consecutive stages, for the strategies that put
// parts of one model on different devices or ranks (model_parallel, pipeline).

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>

namespace cohort::models {

/// A model whose forward() is its layers' forwards applied in order. The
/// layers are the model's own modules (shared, not copies), so training them
/// trains the model, and a checkpoint of the model holds them.
class Staged {
 public:
  virtual ~Staged() = default;
  /// The layers in order; a Sequential over the model's own submodules.
  virtual torch::nn::Sequential layers() const = 0;
};

/// The layers of `model`: the model itself when it is a torch::nn::Sequential,
/// its layers() when it implements Staged. Throws cohort::InputError saying
/// so for any other model (its forward cannot be cut without knowing it).
torch::nn::Sequential layers_of(const torch::nn::AnyModule& model);

}  // namespace cohort::models
