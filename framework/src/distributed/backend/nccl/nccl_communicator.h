#pragma once
// The NCCL back-end: CUDA tensors, one GPU per rank.

#include <atomic>
#include <memory>

#include <c10/cuda/CUDAStream.h>

#include "../../watchdog.h"
#include "../mpi/mpi_communicator.h"
#include "cohort/distributed/communicator.h"
#include "nccl_work.h"

namespace cohort::distributed::detail {

/// Operations run on a stream of the communicator's own, ordered after the
/// caller's current stream with an event; wait() orders the caller's current
/// stream after the operation, so neither side blocks the host. The memory of
/// the tensors is recorded on the NCCL stream (the caching allocator does not
/// hand it out again before the operation is done) and the tensors are held
/// until the operation ends. A watchdog thread polls the operations in flight
/// and, past the timeout, aborts the NCCL communicator and the job.
///
/// Sends and receives run in order on that one stream, and NCCL has no tags:
/// as with blocking MPI, a send waits for its receive, so order them (e.g.
/// even ranks send first); tags other than 0 and sends to self are refused.
class NcclCommunicator final : public Communicator {
 public:
  /// Collective over the ranks of `bootstrap`, an MPI communicator of the same
  /// ranks (nullptr for a job of one process): rank 0 makes the NCCL unique id
  /// and broadcasts it over `bootstrap`. Tensors must live on cuda:`device`.
  NcclCommunicator(std::shared_ptr<MpiCommunicator> bootstrap, c10::DeviceIndex device,
                   CommunicatorOptions options);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return context_->where.rank; }
  int size() const override { return context_->where.size; }
  std::string backend() const override { return "nccl"; }
  torch::DeviceType device_type() const override { return torch::kCUDA; }

  WorkHandle allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op) override;
  WorkHandle broadcast_async(std::vector<torch::Tensor> tensors, int root) override;
  WorkHandle allgather_async(const torch::Tensor& input, torch::Tensor output) override;
  WorkHandle reduce_scatter_async(const torch::Tensor& input, torch::Tensor output, ReduceOp op) override;
  WorkHandle send_async(const torch::Tensor& tensor, int destination, int tag) override;
  WorkHandle recv_async(torch::Tensor tensor, int source, int tag) override;
  /// Its wait() blocks the host until every rank has arrived (polling, watched).
  WorkHandle barrier_async() override;
  /// Splits the bootstrap MPI communicator and builds a new NCCL communicator on it.
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  template <typename Enqueue>
  WorkHandle launch(OperationInfo operation, bool collective, std::vector<torch::Tensor> tensors,
                    Enqueue&& enqueue, bool host_waits = false);
  void check_on_device(const char* operation, const torch::Tensor& tensor) const;
  void check_point_to_point(const char* operation, const torch::Tensor& tensor, int peer, int tag) const;
  uint64_t next_sequence();
  /// Aborts the job when NCCL reports an asynchronous error (a peer died...).
  void check_async_error();
  /// Stops the watchdog and destroys the NCCL communicator (once).
  void release() noexcept;

  std::shared_ptr<NcclContext> context_;
  c10::cuda::CUDAStream stream_;
  std::unique_ptr<WatchdogThread> watchdog_;
  std::atomic<uint64_t> sequence_{0};  // without a bootstrap communicator to number collectives
  std::atomic<bool> released_{false};
  uint64_t exit_hook_ = 0;
};

}  // namespace cohort::distributed::detail
