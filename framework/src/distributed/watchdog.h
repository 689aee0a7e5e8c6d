#pragma once
// The watchdog: what every back-end shares to turn a hang into one clear
// message. Three parts:
//  - OperationInfo and timeout_message(): what an operation was, for the message;
//  - (how a host-side wait polls is the process's wait policy: Backoff and
//    poll_until in cohort/distributed/wait_policy.h);
//  - WatchdogThread: a background thread for back-ends whose operations finish
//    on a device rather than in a host wait (NCCL).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "cohort/distributed/communicator.h"
#include "cohort/distributed/wait_policy.h"

namespace cohort::distributed::detail {

using Clock = std::chrono::steady_clock;
// The back-ends' waits poll with the process's wait policy (wait_policy.h).
using distributed::Backoff;
using distributed::poll_until;

/// An operation as the watchdog names it. Plain data, filled at every call, so
/// the (rare) message costs nothing until it is needed.
struct OperationInfo {
  const char* name = "";         ///< "allreduce(sum)", "send", ... (static storage)
  int64_t elements = 0;          ///< summed over the tensors
  torch::ScalarType dtype = torch::kFloat;  ///< of the first tensor
  int64_t bytes = 0;             ///< summed over the tensors
  int tensors = 0;               ///< how many tensors (0 for a barrier)
  uint64_t sequence = 0;         ///< the collective's number on its communicator; 0 for point to point
  int peer = -1;                 ///< point to point: the other rank
};

/// Fills elements, dtype, bytes and tensors from `tensors`.
OperationInfo describe_tensors(const char* name, const std::vector<torch::Tensor>& tensors);
OperationInfo describe_tensor(const char* name, const torch::Tensor& tensor);

/// Where an operation ran, for the message.
struct CommunicatorInfo {
  const char* backend = "";
  int rank = 0;
  int size = 1;
  double timeout_s = 0;
};

/// "allreduce(sum) #3 of 1024 float32 elements (4.0 KiB)".
std::string describe(const OperationInfo& operation);

/// The arrivals part of the message for a send or recv, which are not
/// numbered: "rank 1 has not posted the matching recv (...)".
std::string point_to_point_arrivals(const OperationInfo& operation);

/// The one line the job dies with: "watchdog: <operation> on the <backend>
/// communicator (rank r of n) did not finish within T s; <arrivals>. Aborting
/// the job." `arrivals` says who has not arrived, or why that is unknown.
std::string timeout_message(const OperationInfo& operation, const CommunicatorInfo& where,
                            const std::string& arrivals);

/// Something the WatchdogThread watches: an operation in flight.
class Watchable {
 public:
  virtual ~Watchable() = default;
  /// Whether it has finished; called from the watchdog thread, never blocks.
  virtual bool finished() = 0;
  virtual Clock::time_point deadline() const = 0;
  /// Called (from the watchdog thread) once the deadline has passed unfinished.
  virtual void expire() = 0;
};

/// A background thread that polls the operations it is given every `period`,
/// drops those that finished, and expires those past their deadline. It holds
/// a reference to each operation until it finishes, which also keeps the
/// operation's tensors alive that long. `health_check`, when given, runs on
/// every round (e.g. to look for an asynchronous NCCL error).
class WatchdogThread {
 public:
  explicit WatchdogThread(std::chrono::milliseconds period, std::function<void()> health_check = {});
  ~WatchdogThread();
  WatchdogThread(const WatchdogThread&) = delete;
  WatchdogThread& operator=(const WatchdogThread&) = delete;

  void watch(std::shared_ptr<Watchable> operation);
  /// How many operations are still watched.
  size_t in_flight() const;
  /// Stops and joins the thread; operations still watched are dropped. Idempotent.
  void stop();

 private:
  void run();
  void poll_once();

  std::chrono::milliseconds period_;
  std::function<void()> health_check_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<Watchable>> watched_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cohort::distributed::detail
