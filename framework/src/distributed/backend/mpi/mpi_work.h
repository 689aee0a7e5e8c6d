#pragma once
// The handle of an MPI operation. For a non-blocking call, wait() polls
// MPI_Test (with the process's wait policy, see wait_policy.h) up to the operation's deadline, which
// makes it the watchdog of the MPI back-end as well: no thread, no hand-off.
// For a blocking call (CommunicatorOptions::mpi_blocking_collectives) the work
// is finished when the call returns, and a monitor thread watches it meanwhile
// (it is a Watchable).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <c10/util/SmallVector.h>
#include <mpi.h>

#include "../../watchdog.h"
#include "arrival_board.h"
#include "cohort/distributed/communicator.h"

namespace cohort::distributed::detail {

/// What a communicator's operations share with the communicator, and keep
/// alive while they are in flight.
struct MpiContext {
  MPI_Comm comm = MPI_COMM_NULL;
  CommunicatorInfo where;          ///< backend "mpi", rank, size, timeout
  int tag_upper_bound = 32767;     ///< MPI_TAG_UB
  ArrivalBoard::Record arrivals;
};

class MpiWork final : public Work, public Watchable {
 public:
  /// `operation` is what the watchdog names; its sequence number is 0 for
  /// point to point, whose message names the peer instead.
  MpiWork(std::shared_ptr<const MpiContext> context, const OperationInfo& operation);
  /// Dropping a handle whose operation is still in flight waits for it (with
  /// the watchdog): MPI still reads or writes the tensors it holds.
  ~MpiWork() override;

  /// Polls until done; past the deadline, aborts the job naming the
  /// operation and the ranks that have not arrived. Calling it again is free.
  void wait() override;
  bool is_completed() override;

  // Watchable, for the monitor thread of blocking collectives.
  bool finished() override { return done_.load(std::memory_order_acquire); }
  Clock::time_point deadline() const override { return deadline_; }
  /// Aborts the job naming the operation and the ranks that have not arrived;
  /// returns, with a new deadline, only when this process itself was stopped
  /// and has just been continued (not [[noreturn]], for that case).
  void expire() override;

  // Set up by the communicator while it starts the operation.
  /// A request slot to pass to the MPI call (use it before asking for the next).
  MPI_Request* add_request();
  /// Keeps tensors alive (MPI reads or writes their memory) until the work ends.
  void keep(std::vector<torch::Tensor> tensors) { tensors_ = std::move(tensors); }
  void keep_also(torch::Tensor tensor) { tensors_.push_back(std::move(tensor)); }
  /// Once done: divide `tensor` by the communicator's size (kAvg).
  void average_after(torch::Tensor tensor) { averages_.push_back(std::move(tensor)); }
  /// Once done (after the averages): copy `from` (a float32 stand-in) into `to`.
  void copy_after(torch::Tensor from, torch::Tensor to) { copies_.emplace_back(std::move(from), std::move(to)); }
  /// After a blocking call has returned: finishes the work (averages, copies).
  void complete();
  /// Done when `ready` returns true (polled like an MPI request, with the
  /// same deadline): for an operation that is not an MPI request.
  void poll_with(std::function<bool()> ready) { ready_ = std::move(ready); }
  /// Calls `also` at every poll, before asking whether the work is done.
  void also_poll(std::function<void()> also) { also_ = std::move(also); }

 private:
  bool poll();  // under mutex_
  void finish();

  std::shared_ptr<const MpiContext> context_;
  OperationInfo operation_;
  Clock::time_point deadline_;
  std::mutex mutex_;  // the DDP reducer may poll from one thread and wait from another
  std::atomic<bool> done_{false};
  c10::SmallVector<MPI_Request, 2> requests_;
  std::function<bool()> ready_;  // instead of requests_ (poll_with)
  std::function<void()> also_;   // also_poll
  std::vector<torch::Tensor> tensors_;
  std::vector<torch::Tensor> averages_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies_;
};

}  // namespace cohort::distributed::detail
