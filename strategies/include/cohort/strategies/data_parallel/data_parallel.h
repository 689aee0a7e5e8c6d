#pragma once
// The `data_parallel` strategy: one process, one replica of the model per
// listed device. Each micro-batch is cut into one chunk per replica (sizes
// differing by at most one example); the replicas run forward, loss and
// backward at the same time, one thread each; their gradients are added onto
// the first replica, the primary, whose optimizer takes the step; then the
// primary's parameters and buffers are copied into the other replicas in
// place. The result is the `single` strategy's on the whole batch.
//
// When to prefer `ddp` instead: whenever there are several GPUs to fill.
// data_parallel piles every gradient, the optimizer step and the copies back
// onto the first device, which therefore works and waits more than the others;
// and everything runs in one process, so although there is no interpreter lock
// (unlike PyTorch's nn.DataParallel), one process's CPU threads still launch
// every kernel and copy every chunk. ddp runs one process per device, shares
// the work evenly and scales across machines. data_parallel is for a quick
// start on one machine without a launcher (no mpirun), and for code that
// must stay in one process.

#include <functional>
#include <memory>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/strategies/single.h"

namespace c10 {
class ThreadPool;
}

namespace cohort::strategies {

struct DataParallelOptions {
  /// One replica per entry; the first is the primary, which holds the model
  /// given to prepare() and its optimizer. A device may repeat: {cpu, cpu}
  /// runs two replicas on the CPU's cores.
  TORCH_ARG(std::vector<torch::Device>, devices) = std::vector<torch::Device>{torch::kCPU, torch::kCPU};
  /// Whether this process writes logs, metrics and checkpoints (see
  /// SingleOptions::writer: one process of several under mpirun should).
  TORCH_ARG(bool, writer) = true;
};

class DataParallel : public LocalModel {
 public:
  /// Throws cohort::InputError when `options.devices()` is empty.
  explicit DataParallel(DataParallelOptions options = {});
  ~DataParallel() override;

  std::string name() const override { return "data_parallel"; }
  /// Puts the model on the first device and clones it onto the others, once.
  /// The model must derive from torch::nn::Cloneable (the built-in models
  /// do); otherwise cohort::InputError says so.
  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  void zero_grad() override;
  /// Runs the chunks of `micro` at once; on the step's last micro-batch the
  /// replicas' gradients are added onto the primary's (earlier micro-batches
  /// accumulate on each replica). Returns the whole micro-batch's statistics.
  trainer::Stats forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) override;
  /// The primary's optimizer step, then the replicas take its parameters and buffers.
  void step() override;
  /// Evaluates the chunks at once too: evaluation is forward only, so spreading
  /// it costs nothing extra and goes as fast as training's forward.
  trainer::Stats eval_step(const data::Batch& batch, const task::Task& task) override;

  const std::vector<torch::Device>& devices() const { return data_parallel_options_.devices(); }
  /// Replica `index`'s model; replica 0 is the model given to prepare().
  const torch::nn::AnyModule& replica(size_t index) const { return replica_models_.at(index); }

 protected:
  /// The primary onto the first device and, once replicas exist (after a
  /// load()), its state copied into them.
  void place_model() override;

 private:
  /// What one replica does with its chunk; `share` is the chunk's size over the batch's.
  using ChunkWork = std::function<trainer::Stats(Single& replica, const data::Batch& chunk, double share)>;
  /// Cuts `batch` into one chunk per replica and runs `work` on all of them at
  /// once (chunk 0 on the calling thread); returns the summed statistics or
  /// rethrows the first replica's error once all have finished.
  trainer::Stats run_chunks(const data::Batch& batch, const ChunkWork& work);
  /// Adds the other replicas' gradients into the primary's and clears theirs.
  void reduce_gradients();
  /// Copies the primary's parameters and buffers into the other replicas.
  void copy_primary_to_replicas();
  void clear_replica_gradients();
  /// The replicas train or evaluate as the primary does (the Trainer switches only the primary).
  void follow_primary_mode();

  DataParallelOptions data_parallel_options_;
  std::vector<torch::nn::AnyModule> replica_models_;  // [0] is model_ itself
  // One Single per replica runs its chunk: device placement, autocast, loss
  // and statistics are exactly those of the `single` strategy.
  std::vector<std::unique_ptr<Single>> replicas_;
  std::unique_ptr<c10::ThreadPool> workers_;  // one thread per replica after the first
};

}  // namespace cohort::strategies
