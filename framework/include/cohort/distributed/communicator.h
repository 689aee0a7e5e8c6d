#pragma once
// One interface over collectives on tensors, whatever carries them: MPI for
// CPU tensors, NCCL for CUDA tensors, and a trivial back-end for one process.
//
// Every operation has an asynchronous form that returns a Work handle and a
// blocking form that waits on it. All ranks of a communicator must call the
// same collectives in the same order, with tensors of the same size and type.
// A collective that has not finished within CommunicatorOptions::timeout_s is
// reported by the watchdog (operation, size, and the ranks that had not
// arrived where they can be known) and the job is aborted: never a silent hang.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

namespace cohort::distributed {

enum class ReduceOp { kSum, kAvg, kMin, kMax };

/// "sum", "avg", "min" or "max".
std::string to_string(ReduceOp op);

/// The handle of an operation in flight.
class Work {
 public:
  virtual ~Work() = default;
  /// Blocks until the operation has finished and its output tensors may be
  /// read (for NCCL: until the current CUDA stream is ordered after it; the
  /// host does not wait for the GPU). Past the timeout the watchdog aborts.
  virtual void wait() = 0;
  /// Whether the operation has finished; never blocks. Also drives progress
  /// where the back-end needs the caller to (MPI).
  virtual bool is_completed() = 0;
};
using WorkHandle = std::shared_ptr<Work>;

/// How long a collective may take, by default, before the watchdog reports it
/// and ends the job: long enough for a slow first step (allocation, NCCL
/// set-up), short enough that a hung job does not hold its machines for long.
inline constexpr double kDefaultTimeoutSeconds = 300.0;

struct CommunicatorOptions {
  /// Seconds a collective may take before the watchdog aborts the job.
  TORCH_ARG(double, timeout_s) = kDefaultTimeoutSeconds;
  /// MPI back-end only. By default a collective is MPI's non-blocking call
  /// (MPI_Iallreduce, ...) and wait() polls it, watching the deadline. When
  /// true, a collective is MPI's blocking call (MPI_Allreduce, ...) made in
  /// the calling thread, and its handle is finished when it returns: no
  /// overlap, but Open MPI 4.1's blocking collectives are much faster than
  /// its non-blocking ones (about 1.4 to 1.9 times, see bench/allreduce.cpp).
  /// A monitor thread keeps the watchdog, so this needs MPI_THREAD_MULTIPLE;
  /// without it the option is ignored with a warning. Sends and receives stay
  /// non-blocking either way.
  TORCH_ARG(bool, mpi_blocking_collectives) = false;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "mpi", "nccl" or "local".
  virtual std::string backend() const = 0;
  /// The device type of the tensors this communicator carries.
  virtual torch::DeviceType device_type() const = 0;

  /// In place: every tensor ends as the reduction of that tensor over all
  /// ranks. kAvg divides by size() (integer tensors: truncating division).
  /// float16 and bfloat16 are reduced correctly (accumulated in float32 where
  /// the back-end has no native 16-bit reduction).
  virtual WorkHandle allreduce_async(std::vector<torch::Tensor> tensors, ReduceOp op = ReduceOp::kSum) = 0;
  /// In place: every rank ends with root's values.
  virtual WorkHandle broadcast_async(std::vector<torch::Tensor> tensors, int root = 0) = 0;
  /// `output` has size() * input.numel() elements (any shape, contiguous); rank
  /// r's input lands in its r-th slice along the first dimension.
  virtual WorkHandle allgather_async(const torch::Tensor& input, torch::Tensor output) = 0;
  /// `input` has size() * output.numel() elements; `output` receives the
  /// reduction over ranks of slice rank() of `input`.
  virtual WorkHandle reduce_scatter_async(const torch::Tensor& input, torch::Tensor output,
                                          ReduceOp op = ReduceOp::kSum) = 0;
  /// Point to point. `tag` tells apart messages between the same two ranks.
  virtual WorkHandle send_async(const torch::Tensor& tensor, int destination, int tag = 0) = 0;
  virtual WorkHandle recv_async(torch::Tensor tensor, int source, int tag = 0) = 0;
  virtual WorkHandle barrier_async() = 0;

  /// A sub-communicator of the ranks that pass the same `color`, ordered by
  /// `key` (then by rank). Collective: every rank must call it.
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;

  // Blocking forms: the asynchronous call followed by wait().
  void allreduce(std::vector<torch::Tensor> tensors, ReduceOp op = ReduceOp::kSum);
  void allreduce(const torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);
  void broadcast(std::vector<torch::Tensor> tensors, int root = 0);
  void broadcast(const torch::Tensor& tensor, int root = 0);
  /// Returns a tensor of shape {size(), input.sizes()...}.
  torch::Tensor allgather(const torch::Tensor& input);
  /// Returns the reduction of slice rank() of `input` (split along dim 0).
  torch::Tensor reduce_scatter(const torch::Tensor& input, ReduceOp op = ReduceOp::kSum);
  void send(const torch::Tensor& tensor, int destination, int tag = 0);
  void recv(torch::Tensor tensor, int source, int tag = 0);
  void barrier();

  const CommunicatorOptions& options() const { return options_; }

 protected:
  explicit Communicator(CommunicatorOptions options) : options_(std::move(options)) {}
  CommunicatorOptions options_;
};

/// A communicator of one rank: every collective is a copy or nothing.
/// `device` is the device type it reports and accepts (the CPU unless given).
std::shared_ptr<Communicator> make_local_communicator(CommunicatorOptions options = {},
                                                      torch::DeviceType device = torch::kCPU);

}  // namespace cohort::distributed
