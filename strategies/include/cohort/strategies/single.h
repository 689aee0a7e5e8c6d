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
  trainer::Stats train_step(const data::Batch& batch, const LossFn& loss) override;
  trainer::Stats eval_step(const data::Batch& batch, const LossFn& loss) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::Device device() const { return options_.device(); }

 private:
  SingleOptions options_;
  torch::nn::AnyModule model_;
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
};

/// Statistics of one batch from its outputs, targets and mean loss. Accuracy
/// counts only for {N, classes} outputs with {N} class targets.
trainer::Stats batch_stats(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& loss);

}  // namespace cohort::strategies
