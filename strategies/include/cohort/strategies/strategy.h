#pragma once
// A strategy decides how one training step runs on the devices and ranks it is
// given. The Trainer talks only to this interface.

#include <functional>
#include <memory>
#include <string>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "cohort/data/dataset.h"
#include "cohort/trainer/stats.h"

namespace cohort::strategies {

/// A loss reduced to the mean over the batch, e.g. cross entropy on logits.
using LossFn = std::function<torch::Tensor(const torch::Tensor& output, const torch::Tensor& target)>;

class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string name() const = 0;

  /// Takes charge of the model and its optimizer (built over the model's
  /// parameters): places them on the strategy's devices. Called once, before
  /// any step or load().
  virtual void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) = 0;

  /// zero_grad, forward, loss, backward and optimizer step on one batch.
  /// Returns this rank's statistics of the batch.
  virtual trainer::Stats train_step(const data::Batch& batch, const LossFn& loss) = 0;

  /// Forward and loss only; the caller has put the model in eval mode under
  /// torch::NoGradGuard.
  virtual trainer::Stats eval_step(const data::Batch& batch, const LossFn& loss) = 0;

  /// Combines statistics over every rank of the job (the identity for one process).
  virtual trainer::Stats reduce(const trainer::Stats& local) { return local; }

  /// Whether this process writes logs, metrics and checkpoints for the job.
  virtual bool is_writer() const { return true; }

  /// Writes / restores everything a resumed run needs: model and optimizer state.
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

}  // namespace cohort::strategies
