#pragma once
// Allreduce through shared memory, for a communicator whose ranks are all on
// one node and wait politely (the sleep wait mode: more ranks than cores, or
// other work on them).
//
// Why: MPI's allreduce is a conversation. On one node Open MPI's rounds hand
// messages back and forth, and each round needs both ranks on a core at once;
// when the cores are shared, a rank that has just arrived waits for its
// descheduled peer to be given the core again, round after round. Here every
// rank deposits its tensor in its own slot of a segment all ranks map, and
// each reads the others' deposits whenever it runs: the last rank to arrive
// never waits, and the others wait once, for the last deposit.
//
// Each rank sums the deposits itself, in rank order, so every rank gets the
// same bits. Two slots per rank let one allreduce be deposited while the one
// before is still being read; a deposit waits until every rank has finished
// reading the allreduce two before it from that slot.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <mpi.h>
#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

class SharedMemoryAllreduce {
 public:
  /// Bytes one allreduce may hold (larger tensors go through MPI).
  static constexpr size_t kSlotBytes = size_t(16) << 20;

  /// Maps a segment shared by every rank of `comm`; nullptr on every rank
  /// when the ranks are not all on one node, when there is one rank, or when
  /// any rank cannot map it (then MPI's allreduce serves). Collective over
  /// `comm`; the segment's name is unlinked before this returns, so nothing
  /// outlives the processes.
  static std::unique_ptr<SharedMemoryAllreduce> create(MPI_Comm comm);
  ~SharedMemoryAllreduce();
  SharedMemoryAllreduce(const SharedMemoryAllreduce&) = delete;
  SharedMemoryAllreduce& operator=(const SharedMemoryAllreduce&) = delete;

  /// Whether an allreduce of `tensors` with `op` goes through shared memory:
  /// one contiguous float32 or float64 tensor of at most kSlotBytes, summed or
  /// averaged. Depends only on what every rank passes alike, so every rank
  /// answers the same for the same collective.
  static bool accepts(const std::vector<torch::Tensor>& tensors, ReduceOp op);

  /// One allreduce in flight.
  struct Reduction {
    uint64_t sequence = 0;
    torch::Tensor tensor;
    bool deposited = false;
    bool done = false;
  };

  /// Starts summing `tensor` (accepts() must be true) with every rank's
  /// tensor of the same collective: deposits it now if its slot is free.
  /// Poll progress() until the returned reduction is done; the sum is then
  /// in `tensor`.
  std::shared_ptr<const Reduction> start(torch::Tensor tensor);

  /// Deposits and sums what can be, oldest first, without waiting. Returns
  /// whether `reduction` is done. Throws std::invalid_argument, naming the
  /// rank, when another rank deposited a different number of elements or
  /// another dtype for the same allreduce (MPI would reject or garble that;
  /// summing it would read past that rank's data). The communicator's later
  /// allreduces then wait for this one and end at its timeout.
  bool progress(const Reduction& reduction);
  /// The same for whatever is pending. Every wait on the communicator calls
  /// it: a rank waiting for another operation must still deposit, or a peer
  /// waiting for its deposit would never see it.
  void progress_pending();

 private:
  /// Counters one rank publishes, on a cache line of their own.
  struct alignas(64) Header {
    std::atomic<uint64_t> deposited;  ///< the newest allreduce whose tensor is in the slot
    std::atomic<uint64_t> reduced;    ///< the newest allreduce this rank has finished reading
    int64_t count[2];                 ///< per slot: the elements deposited (written before `deposited`)
    int32_t type[2];                  ///< per slot: their torch::ScalarType
  };

  SharedMemoryAllreduce(void* base, size_t bytes, int rank, int size);
  Header& header(int rank) const;
  /// Slot `sequence % 2` of `rank`, as a tensor over `count` elements of `type`.
  torch::Tensor slot(int rank, uint64_t sequence, int64_t count, torch::ScalarType type) const;
  /// Deposits and sums what can be, oldest first (under mutex_).
  void advance();
  bool try_deposit(Reduction& reduction);
  bool try_reduce(Reduction& reduction);
  /// Throws unless every rank deposited as many elements of the same dtype as `reduction`.
  void check_alike(const Reduction& reduction) const;

  void* base_;
  size_t bytes_;
  int rank_;
  int size_;
  std::mutex mutex_;  // a gradient hook may start a reduction while another thread polls
  uint64_t next_sequence_ = 1;
  std::deque<std::shared_ptr<Reduction>> pending_;  // oldest first
};

}  // namespace cohort::distributed::detail
