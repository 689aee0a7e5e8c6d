#pragma once
// The MPI back-end: CPU tensors over an MPI communicator of its own.

#include <atomic>
#include <memory>

#include <mpi.h>

#include "cohort/distributed/communicator.h"
#include "mpi_work.h"
#include "shared_memory_allreduce.h"

namespace cohort::distributed::detail {

/// Every operation is MPI's non-blocking form (MPI_Iallreduce, MPI_Ibcast,
/// ...), so asynchronous calls really are; wait() polls with a deadline (see
/// MpiWork). With CommunicatorOptions::mpi_blocking_collectives, collectives
/// are MPI's blocking calls instead, watched by a monitor thread, except in
/// the sleep wait mode (wait_policy.h), where blocking calls would spin. In
/// that mode, on one node, float32/64 sums and averages go through shared
/// memory instead (SharedMemoryAllreduce: no rank waits for a descheduled
/// peer to take its turn in MPI's rounds). float16 and
/// bfloat16 are reduced in a float32 copy. Errors come back as exceptions (the
/// communicator uses MPI_ERRORS_RETURN).
class MpiCommunicator final : public Communicator {
 public:
  /// Takes ownership of `comm` (a duplicate or a split, never MPI_COMM_WORLD
  /// itself, so user MPI traffic and Cohort's never mix). Collective over `comm`.
  MpiCommunicator(MPI_Comm comm, CommunicatorOptions options);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return context_->where.rank; }
  int size() const override { return context_->where.size; }
  std::string backend() const override { return "mpi"; }
  torch::DeviceType device_type() const override { return torch::kCPU; }

  WorkHandle allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) override;
  WorkHandle broadcast_async(std::vector<torch::Tensor> tensors, int root) override;
  WorkHandle allgather_async(const torch::Tensor& input, torch::Tensor output) override;
  WorkHandle reduce_scatter_async(const torch::Tensor& input, torch::Tensor output, ReduceOp op) override;
  WorkHandle send_async(const torch::Tensor& tensor, int destination, int tag) override;
  WorkHandle recv_async(torch::Tensor tensor, int source, int tag) override;
  WorkHandle barrier_async() override;
  /// A watched barrier first (MPI_Comm_split itself cannot be watched), then
  /// MPI_Comm_split. Negative colors are refused.
  std::shared_ptr<Communicator> split(int color, int key) override;
  /// A new communicator over the same ranks (MPI_Comm_dup), with `options`.
  /// Collective over this communicator's ranks.
  std::shared_ptr<MpiCommunicator> duplicate(CommunicatorOptions options);

  /// Numbers the next collective and notes on the arrival board that this
  /// rank has started it. The NCCL back-end numbers its own collectives with
  /// its bootstrap communicator's counter, so one board slot serves both.
  uint64_t begin_collective();
  /// Whether collectives are MPI's blocking calls: asked for with
  /// mpi_blocking_collectives, given MPI_THREAD_MULTIPLE, and no rank in the
  /// sleep wait mode when the communicator was made.
  bool blocking_collectives() const { return blocking_; }
  /// Whether float sums and averages have gone through shared memory
  /// (SharedMemoryAllreduce): only after the first one that could.
  bool reduces_in_shared_memory() const { return shared_memory_ != nullptr; }
  /// Who has not started collective `sequence` (see ArrivalBoard::Record::missing).
  std::string missing(uint64_t sequence) const { return context_->arrivals.missing(sequence); }

 private:
  /// A work for `operation`, numbered when `collective`; throws once released.
  /// A collective in blocking mode is handed to the monitor thread here.
  std::shared_ptr<MpiWork> start(OperationInfo operation, bool collective);
  /// The handle of a started collective: in blocking mode its MPI call has
  /// returned, so it is finished here (averages, float32 copies).
  WorkHandle started(std::shared_ptr<MpiWork> work);
  /// The buffer MPI reduces for `tensor`: the tensor, or its float32 copy
  /// that `work` copies back; registers the average when `op` is kAvg.
  torch::Tensor reduction_target(MpiWork& work, const torch::Tensor& tensor, ReduceOp op);
  void check_tag(const char* operation, int tag) const;
  /// Turns on blocking mode with its monitor thread, where the thread level allows.
  void start_monitor();
  /// Whether any rank is in the sleep wait mode. Collective over the communicator.
  bool any_rank_sleeps();
  /// The shared-memory allreduce, made at the first allreduce that may use it
  /// (collectively: every rank reaches that allreduce); nullptr where it cannot be.
  SharedMemoryAllreduce* shared_memory();
  /// Frees the MPI communicator (once; at destruction or at MPI_Finalize).
  void release() noexcept;

  std::shared_ptr<MpiContext> context_;
  bool blocking_ = false;                    // collectives as MPI's blocking calls
  bool polite_ = false;                      // some rank waits in the sleep mode: no blocking calls, shared memory
  bool shared_memory_tried_ = false;
  std::shared_ptr<SharedMemoryAllreduce> shared_memory_;  // shared with the works in flight
  std::unique_ptr<WatchdogThread> monitor_;  // watches them meanwhile (blocking mode only)
  std::atomic<uint64_t> sequence_{0};
  std::atomic<bool> released_{false};
  uint64_t exit_hook_ = 0;
};

}  // namespace cohort::distributed::detail
