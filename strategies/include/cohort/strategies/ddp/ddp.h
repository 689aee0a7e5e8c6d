#pragma once
// The `ddp` strategy: one process per device, each with a full replica of the
// model and its own shard of the data. Parameters and buffers are broadcast
// from rank 0 when prepared, so every rank starts identical; gradients are
// averaged over the ranks while backward runs (GradientReducer), so every
// rank applies the same step and the replicas stay identical.

#include <memory>

#include <torch/arg.h>

#include "cohort/distributed/communicator.h"
#include "cohort/strategies/ddp/gradient_reducer.h"
#include "cohort/strategies/local_model.h"

namespace cohort::strategies {

struct DdpOptions {
  /// This rank's device (usually cuda:<local rank>, or the CPU).
  TORCH_ARG(torch::Device, device) = torch::Device(torch::kCPU);
  TORCH_ARG(ddp::GradientReducerOptions, reducer) = {};
  /// Broadcast the model's buffers (BatchNorm statistics) from rank 0 before
  /// every step, so all replicas normalise alike.
  TORCH_ARG(bool, broadcast_buffers) = true;
  /// Seconds a collective may take before the job is aborted with a report.
  TORCH_ARG(double, timeout_s) = distributed::kDefaultTimeoutSeconds;
  /// Null means: for a CPU device without overlap under MPI, a duplicate of
  /// the MPI world whose collectives are plain blocking calls (measured 1.4x
  /// faster than a non-blocking call and a wait on Open MPI 4.1), or polled
  /// non-blocking ones in the sleep wait mode (a busy node:
  /// distributed/wait_policy.h); otherwise the world communicator of the
  /// device's type.
  TORCH_ARG(std::shared_ptr<distributed::Communicator>, communicator) = nullptr;
  /// When `communicator` is null: the ranks of the job to build it over (a CPU
  /// communicator, e.g. a sweep trial's group); null = every rank of the job.
  TORCH_ARG(std::shared_ptr<distributed::Communicator>, ranks) = nullptr;
};

class Ddp : public LocalModel {
 public:
  explicit Ddp(DdpOptions options = {});

  std::string name() const override { return "ddp"; }
  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  void zero_grad() override;
  trainer::Stats forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) override;
  void abandon_step() override;
  bool any_rank(bool local) override;
  trainer::Stats reduce(const trainer::Stats& local) override;
  int64_t data_parallel_size() const override;
  int64_t data_parallel_rank() const override;
  bool is_writer() const override;
  int64_t ranks() const override;
  void load(torch::serialize::InputArchive& archive) override;

  /// Within the returned scope, backward passes only accumulate gradients
  /// locally; the first backward after it reduces everything accumulated.
  /// For loops written by hand (the Trainer uses MicroStep::last instead):
  ///   { auto guard = ddp.no_sync(); ddp.forward_backward(a, loss, {}); }
  ///   ddp.forward_backward(b, loss, {});  // reduces a + b
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(Ddp& ddp);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    Ddp& ddp_;
    bool previous_;
  };
  NoSyncGuard no_sync() { return NoSyncGuard(*this); }

  distributed::Communicator& communicator() { return *communicator_; }
  const ddp::GradientReducer& reducer() const { return *reducer_; }

 private:
  void broadcast_state(bool parameters, bool buffers);
  /// Buffers follow rank 0 once per step, before the synchronising micro-batch.
  void broadcast_buffers_once();

  DdpOptions ddp_options_;
  std::shared_ptr<distributed::Communicator> communicator_;
  std::unique_ptr<ddp::GradientReducer> reducer_;
  bool no_sync_ = false;
  bool buffers_broadcast_ = false;  // in the current step
};

}  // namespace cohort::strategies
