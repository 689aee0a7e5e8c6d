#pragma once
// The handle of an NCCL operation: an event recorded on the NCCL stream after
// the operation. wait() orders the caller's current stream after that event
// and returns (the host does not wait for the GPU); the watchdog thread of
// the communicator polls the event and aborts the job past the deadline.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <c10/cuda/CUDAEvent.h>
#include <nccl.h>

#include "../../watchdog.h"
#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

class MpiCommunicator;

/// What an NCCL communicator's operations share with it.
struct NcclContext {
  ncclComm_t comm = nullptr;
  c10::DeviceIndex device = 0;
  CommunicatorInfo where;  ///< backend "nccl", rank, size, timeout
  /// The MPI communicator of the same ranks (nullptr in a job of one process):
  /// its arrival board says who has not launched a collective.
  std::shared_ptr<MpiCommunicator> bootstrap;
  std::atomic<bool> aborting{false};

  /// Who has not launched collective `sequence`, or why that is unknown.
  std::string missing(uint64_t sequence) const;
  /// Aborts the NCCL communicator (so kernels stuck in it end) and then the
  /// job, with `message`. A second caller waits for the first to end the job.
  [[noreturn]] void abort(const std::string& message);
};

class NcclWork final : public Work, public Watchable {
 public:
  /// `host_waits`: wait() blocks the host until the GPU is done (barrier).
  NcclWork(std::shared_ptr<NcclContext> context, const OperationInfo& operation, bool host_waits);

  void wait() override;
  bool is_completed() override { return end_.query(); }

  // Watchable, for the communicator's watchdog thread.
  bool finished() override { return end_.query(); }
  Clock::time_point deadline() const override { return deadline_; }
  void expire() override;

  /// Records the end event on `stream`, right after the operation was enqueued.
  void record_end(const c10::cuda::CUDAStream& stream) { end_.record(stream); }
  /// Holds the tensors until the work is dropped; the watchdog drops its
  /// reference only once the GPU is done with them.
  void keep(std::vector<torch::Tensor> tensors) { tensors_ = std::move(tensors); }

 private:
  std::shared_ptr<NcclContext> context_;
  OperationInfo operation_;
  Clock::time_point deadline_;
  bool host_waits_;
  c10::cuda::CUDAEvent end_;
  std::vector<torch::Tensor> tensors_;
};

}  // namespace cohort::distributed::detail
