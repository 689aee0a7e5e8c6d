#pragma once
// What the MPI back-end needs around MPI calls: error checks, the MPI types of
// tensors, and the guard that makes a call legal at the thread level MPI gave.

#include <mutex>
#include <string>

#include <mpi.h>
#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

/// "<call> failed: <MPI's own error text>", or "" when `status` is
/// MPI_SUCCESS: the one way the MPI back-end words an MPI error.
std::string mpi_error(int status, const char* call);

/// Throws std::runtime_error naming `call` and MPI's own error text unless
/// `status` is MPI_SUCCESS. (Cohort's MPI communicators return errors rather
/// than abort on them, so e.g. a truncated recv becomes an exception.)
void check_mpi(int status, const char* call);

/// A tensor's memory as an MPI call takes it.
struct MpiBuffer {
  void* data;
  int count;
  MPI_Datatype type;
};

/// For reductions: the MPI type of the tensor's dtype (float32/64, int8/16/32/64,
/// uint8, bool); std::invalid_argument for others (16-bit floats are reduced
/// through a float32 copy and never come here).
MpiBuffer reduction_buffer(const torch::Tensor& tensor, const char* operation);
/// For moving bytes (broadcast, allgather, send, recv): any dtype, as unsigned
/// integers of its element size.
MpiBuffer copy_buffer(const torch::Tensor& tensor, const char* operation);
/// Throws std::invalid_argument when `tensor` has more elements than an MPI
/// count can hold.
void check_count(const char* operation, const torch::Tensor& tensor);

/// MPI's operation for `op` on `type` (kAvg sums; bool uses logical or/and).
MPI_Op reduction_op(ReduceOp op, torch::ScalarType type);

/// Throws std::logic_error when the calling thread may not call MPI at the
/// thread level MPI gave (FUNNELED or SINGLE, and not the main thread).
void check_mpi_thread();

/// Makes MPI calls legal for the thread level MPI gave. Under
/// MPI_THREAD_MULTIPLE it does nothing. Under MPI_THREAD_SERIALIZED it holds
/// one process-wide lock, so collectives started from one thread (a gradient
/// hook) and waited on from another still work. Under FUNNELED (or SINGLE) only
/// the main thread may call MPI, and another thread gets std::logic_error.
class MpiCallGuard {
 public:
  MpiCallGuard();

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace cohort::distributed::detail
