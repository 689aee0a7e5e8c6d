#pragma once
// The model and its optimizer held by this process on one device: what every
// built-in strategy computes with. `single` is exactly this; ddp, data_parallel,
// model_parallel and pipeline add their exchanges, replicas or stages on top.

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/strategy/strategy.h"

namespace cohort::strategies {

class LocalModel : public strategy::Strategy {
 public:
  /// The model's inputs, outputs and (unless a subclass places layers
  /// elsewhere) its parameters live on `device`. `writer`: whether this
  /// process writes the job's logs, metrics and checkpoints (strategies over
  /// several ranks decide it themselves).
  explicit LocalModel(torch::Device device, bool writer = true);

  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  void zero_grad() override;
  trainer::Stats forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) override;
  void step() override;
  trainer::Stats eval_step(const data::Batch& batch, const task::Task& task) override;
  std::vector<torch::Tensor> parameters() const override;
  torch::Device input_device() const override { return device_; }
  bool is_writer() const override { return writer_; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::Device device() const { return device_; }

 protected:
  /// Puts the model on its device; prepare() and load() call it. Strategies
  /// that spread one model over several devices (model_parallel) override it.
  virtual void place_model();
  /// The model's output on the task's inputs of `batch` (moved to the
  /// device), under autocast when asked.
  virtual torch::Tensor forward(const data::Batch& batch, const task::Task& task,
                                const strategy::MicroStep& micro_step);

  torch::Device device_;
  bool writer_;
  torch::nn::AnyModule model_;
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
};

/// The one input of `task` in `batch`, for strategies that pass one tensor
/// from stage to stage (model_parallel, pipeline); a task with several inputs
/// is refused with std::invalid_argument naming `strategy`.
const torch::Tensor& single_input(const data::Batch& batch, const task::Task& task, const char* strategy);

}  // namespace cohort::strategies
