#pragma once
// A strategy decides how one training step runs on the devices and ranks it is
// given. The Trainer talks only to this interface; the implementations
// (single, ddp, data_parallel, model_parallel, pipeline) live in the
// cohort_strategies library above this one.
//
// The interface has three concerns, each a small class of its own so that a
// strategy overrides only what it changes:
//  - Compute: where the model lives and how a step runs on it;
//  - Topology: how many ranks a step spans and how they agree;
//  - Persistence: what a checkpoint holds.
//
// A step is: zero_grad(), then forward_backward() on each micro-batch of the
// batch (gradients accumulate; the last one is where data-parallel strategies
// exchange them), then step(). train_step() does all three for one batch.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "cohort/data/dataset.h"
#include "cohort/task/task.h"
#include "cohort/trainer/stats.h"

namespace cohort::strategy {

/// A loss reduced to the mean over the batch, e.g. cross entropy on logits.
/// Strategies take the whole task::Task (inputs, loss, metrics); a LossFn or
/// a lambda converts to one.
using LossFn = task::LossFn;

/// How one micro-batch of a step runs.
struct MicroStep {
  /// Multiplies the loss before backward: the micro-batch's share of the step
  /// (its size over the step's), times the loss scale under fp16.
  double loss_weight = 1.0;
  /// Whether this is the step's last micro-batch, whose backward reduces the
  /// gradients over ranks (earlier ones only accumulate locally).
  bool last = true;
  /// Runs forward under autocast to this type; none = full precision.
  std::optional<torch::ScalarType> autocast;
};

/// Where the model lives and how one step runs on it.
class Compute {
 public:
  virtual ~Compute() = default;

  /// Takes charge of the model and its optimizer (built over the model's
  /// parameters): places them on the strategy's devices. Called once, before
  /// any step or load().
  virtual void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) = 0;

  /// Clears the gradients before a step's first micro-batch.
  virtual void zero_grad() = 0;

  /// Forward (on the task's inputs), loss and backward on one micro-batch;
  /// its gradients add to the step's. Returns the micro-batch's statistics
  /// (unweighted loss, the task's metric sums).
  virtual trainer::Stats forward_backward(const data::Batch& micro, const task::Task& task,
                                          const MicroStep& micro_step) = 0;

  /// Brings the strategy back to a consistent state after forward_backward()
  /// threw part-way (e.g. out of memory): a data-parallel strategy completes
  /// the gradient exchange its peers are waiting for. The gradients are then
  /// meaningless; the caller calls zero_grad() before trying again.
  virtual void abandon_step() {}

  /// Applies the accumulated gradients (the optimizer's step).
  virtual void step() = 0;

  /// zero_grad(), forward_backward() on the whole batch, step().
  trainer::Stats train_step(const data::Batch& batch, const task::Task& task);

  /// Forward and loss only; the caller has put the model in eval mode under
  /// torch::NoGradGuard.
  virtual trainer::Stats eval_step(const data::Batch& batch, const task::Task& task) = 0;

  /// The parameters this rank trains, whose gradients a step applies.
  virtual std::vector<torch::Tensor> parameters() const = 0;

  /// Where this rank's inputs go (the first device of the model).
  virtual torch::Device input_device() const = 0;
};

/// How many ranks a step spans and how they agree. The defaults are those of
/// one process.
class Topology {
 public:
  virtual ~Topology() = default;

  /// How many processes one step of this strategy spans: 1 for the
  /// one-process strategies, the communicator's size for ddp and pipeline.
  virtual int64_t ranks() const { return 1; }

  /// How many replicas share the data, and which one this process is: each
  /// takes its own shard of every epoch (1 and 0 when the data is not split).
  virtual int64_t data_parallel_size() const { return 1; }
  virtual int64_t data_parallel_rank() const { return 0; }

  /// Whether this process writes logs, metrics and checkpoints for the job.
  virtual bool is_writer() const { return true; }

  /// Whether `local` is true on any rank; every rank must call it. The
  /// identity for one process.
  virtual bool any_rank(bool local) { return local; }

  /// Combines statistics over every rank of the job (the identity for one process).
  virtual trainer::Stats reduce(const trainer::Stats& local) { return local; }

  /// Sums `local` over the ranks that hold parts of one model (pipeline
  /// stages), e.g. the squared gradient norm of each part; every rank must
  /// call it. The identity where each rank holds the whole model.
  virtual double sum_over_model(double local) { return local; }
};

/// What a checkpoint holds of the strategy: model and optimizer state.
class Persistence {
 public:
  virtual ~Persistence() = default;

  /// Collective: every rank calls it before the writer's save(). A strategy
  /// whose state is spread over ranks (pipeline stages) brings it to the
  /// writer here; the others have nothing to do.
  virtual void gather_state() {}

  /// Writes / restores everything a resumed run needs.
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

/// A whole strategy, as the Trainer drives it.
class Strategy : public Compute, public Topology, public Persistence {
 public:
  /// The name a config picks it by ("single", "ddp", ...).
  virtual std::string name() const = 0;
};

}  // namespace cohort::strategy
