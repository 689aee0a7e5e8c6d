#pragma once
// The `model_parallel` strategy: one process, the model's layers cut into
// consecutive stages (models::layers_of, balance_stages, split_stages), stage
// i on device i. Forward carries the activations from device to device;
// backward flows back through autograd; the outputs, targets and loss live on
// the last device. It is for a model too large for one device's memory: the
// devices work one after another, never at once, so it is no faster than one
// device (the `pipeline` strategy overlaps them with micro-batches, over ranks).
// Checkpoints hold the whole model and its optimizer as `single` writes them,
// so they load into either strategy.

#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include "cohort/strategies/local_model.h"

namespace cohort::strategies {

struct ModelParallelOptions {
  /// One stage per entry, the input side first. A device may repeat (the
  /// tests cut a model over {cpu, cpu}).
  TORCH_ARG(std::vector<torch::Device>, devices) = std::vector<torch::Device>{torch::kCPU, torch::kCPU};
  /// Whether this process writes logs, metrics and checkpoints (see
  /// SingleOptions::writer: one process of several under mpirun should).
  TORCH_ARG(bool, writer) = true;
  /// Layers per stage: one entry per device, adding up to the model's number
  /// of layers. Empty: stages balanced by parameter count (balance_stages()).
  TORCH_ARG(std::vector<int64_t>, balance) = {};
};

class ModelParallel : public LocalModel {
 public:
  /// Throws cohort::InputError when `options.devices()` is empty.
  explicit ModelParallel(ModelParallelOptions options = {});

  std::string name() const override { return "model_parallel"; }
  /// Cuts the model into stages and moves each onto its device in place (the
  /// optimizer's references to the parameters stay valid). The model must be
  /// a torch::nn::Sequential or implement models::Staged; a bad balance, too
  /// few layers, or parameters outside the layers are a cohort::InputError.
  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  torch::Device input_device() const override { return devices().front(); }

  const std::vector<torch::Device>& devices() const { return model_parallel_options_.devices(); }
  /// The layers per stage in use: the given balance or the computed one (after prepare()).
  const std::vector<int64_t>& balance() const { return balance_; }
  const std::vector<torch::nn::Sequential>& stages() const { return stages_; }

 protected:
  /// Each stage onto its device; prepare() and load() call it.
  void place_model() override;
  /// The stages in order, each under autocast for its own device type.
  torch::Tensor forward(const data::Batch& batch, const task::Task& task,
                        const strategy::MicroStep& micro_step) override;

 private:
  ModelParallelOptions model_parallel_options_;
  std::vector<int64_t> balance_;
  std::vector<torch::nn::Sequential> stages_;
};

}  // namespace cohort::strategies
