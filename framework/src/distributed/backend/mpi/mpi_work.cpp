#include "mpi_work.h"

#include "../../checks.h"
#include "../../runtime_internal.h"
#include "cohort/distributed/runtime.h"
#include "mpi_support.h"

namespace cohort::distributed::detail {
namespace {

// Longer than any pause between two polls of a wait (Backoff sleeps at most
// milliseconds), shorter than any sensible timeout_s.
constexpr std::chrono::milliseconds kOwnGap{500};

}  // namespace

MpiWork::MpiWork(std::shared_ptr<const MpiContext> context, const OperationInfo& operation)
    : context_(std::move(context)),
      operation_(operation),
      deadline_(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(context_->where.timeout_s))) {}

MpiWork::~MpiWork() {
  if (done_.load(std::memory_order_acquire) || (requests_.empty() && !ready_) || mpi_finalized()) return;
  try {
    wait();
  } catch (const WaitInterrupted&) {
    // Given up (a sweep's trial whose group lost a rank): MPI may still write
    // into the buffers of the request it holds, so they stay alive until exit.
    static std::mutex mutex;
    static auto* abandoned = new std::vector<torch::Tensor>();
    std::lock_guard<std::mutex> lock(mutex);
    abandoned->insert(abandoned->end(), tensors_.begin(), tensors_.end());
  } catch (...) {
    // An MPI error in a destructor has nowhere to go; the wait() that would
    // have reported it was never made.
  }
}

MPI_Request* MpiWork::add_request() {
  requests_.push_back(MPI_REQUEST_NULL);
  return &requests_.back();
}

void MpiWork::wait() {
  auto last = Clock::now();
  // Locked per poll, not per wait: another thread's is_completed() stays quick.
  poll_until(
      [this, &last] {
        // Polls come every few milliseconds at most: a longer gap, between two
        // polls or inside one, means this process itself did not run (stopped,
        // e.g. by SIGSTOP, or frozen). That time is not the collective's fault,
        // so the deadline moves by it; otherwise a stopped rank, once
        // continued, would blame the others.
        auto account = [this, &last] {
          const auto now = Clock::now();
          if (now - last > kOwnGap) deadline_ += now - last;
          last = now;
        };
        account();
        check_wait_interrupt();  // a failed rank of a sweep's trial group: give the trial up
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (poll()) return true;
        }
        account();
        if (last > deadline_) expire();
        return false;
      },
      Clock::time_point::max(), [] {});
}

bool MpiWork::is_completed() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (poll()) return true;
  // A caller that only ever polls is watched too.
  if (Clock::now() > deadline_) expire();
  return false;
}

void MpiWork::complete() {
  std::lock_guard<std::mutex> lock(mutex_);
  finish();
}

bool MpiWork::poll() {
  if (done_.load(std::memory_order_relaxed)) return true;
  if (also_) also_();
  int flag = 0;
  if (ready_) {
    flag = ready_();
  } else {
    MpiCallGuard guard;
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE),
              "MPI_Testall");
  }
  if (flag) finish();
  return done_.load(std::memory_order_relaxed);
}

void MpiWork::finish() {
  for (auto& tensor : averages_) divide_for_average(tensor, context_->where.size);
  for (auto& [from, to] : copies_) to.copy_(from);
  // The memory is MPI's no more: let the caller's tensors be the only owners.
  tensors_.clear();
  ready_ = nullptr;
  also_ = nullptr;
  averages_.clear();
  copies_.clear();
  done_.store(true, std::memory_order_release);
}

void MpiWork::expire() {
  // This process itself was stopped and has just been continued: the time
  // it did not run is not the collective's fault. It gets a new deadline.
  if (ArrivalBoard* board = arrival_board(); board && board->resumed_recently()) {
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(context_->where.timeout_s));
    return;
  }
  const std::string arrivals = operation_.sequence > 0 ? context_->arrivals.missing(operation_.sequence)
                                                      : point_to_point_arrivals(operation_);
  abort_job(timeout_message(operation_, context_->where, arrivals));
}

}  // namespace cohort::distributed::detail
