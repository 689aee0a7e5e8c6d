#pragma once
// The `single` strategy: the whole model on one device, CPU or cuda:N.

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/strategies/strategy.h"

namespace cohort::strategies {

struct SingleOptions {
  TORCH_ARG(torch::Device, device) = torch::Device(torch::kCPU);
};

class Single : public Strategy {
 public:
  explicit Single(SingleOptions options = {});

  std::string name() const override { return "single"; }
  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  void zero_grad() override;
  trainer::Stats forward_backward(const data::Batch& micro, const LossFn& loss, const MicroStep& micro_step) override;
  void step() override;
  trainer::Stats eval_step(const data::Batch& batch, const LossFn& loss) override;
  std::vector<torch::Tensor> parameters() const override;
  torch::Device input_device() const override { return options_.device(); }
  /// Under mpirun every rank runs the whole job alone; only the world's rank 0
  /// (of a sweep trial's group, inside a distributed::WorldScope) writes, so
  /// the ranks do not all write the same output_dir.
  bool is_writer() const override { return writer_; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::Device device() const { return options_.device(); }

 protected:
  /// Puts the model on its device; prepare() and load() call it. Strategies
  /// that spread one model over several devices (model_parallel) override it.
  virtual void place_model();
  /// The model's output on `input` (moved to the device), under autocast when
  /// asked; forward_backward() and eval_step() take targets to device().
  virtual torch::Tensor forward(const torch::Tensor& input, const MicroStep& micro_step);

  SingleOptions options_;
  torch::nn::AnyModule model_;
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
  bool writer_ = true;  // decided in prepare(), which every rank calls together
};

/// Statistics of one batch from its outputs, targets and mean loss. Accuracy
/// counts only for {N, classes} outputs with {N} class targets.
trainer::Stats batch_stats(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& loss);

}  // namespace cohort::strategies
