#include "watchdog.h"

#include <algorithm>

#include <c10/core/ScalarType.h>
#include <fmt/format.h>

#include "checks.h"
#include "cohort/memory/memory_report.h"

namespace cohort::distributed::detail {

OperationInfo describe_tensors(const char* name, const std::vector<torch::Tensor>& tensors) {
  OperationInfo info;
  info.name = name;
  info.tensors = static_cast<int>(tensors.size());
  if (!tensors.empty()) info.dtype = tensors.front().scalar_type();
  for (const auto& tensor : tensors) {
    info.elements += tensor.numel();
    info.bytes += static_cast<int64_t>(tensor.nbytes());
  }
  return info;
}

OperationInfo describe_tensor(const char* name, const torch::Tensor& tensor) {
  OperationInfo info;
  info.name = name;
  info.tensors = 1;
  info.dtype = tensor.scalar_type();
  info.elements = tensor.numel();
  info.bytes = static_cast<int64_t>(tensor.nbytes());
  return info;
}

std::string describe(const OperationInfo& operation) {
  std::string text = operation.name;
  if (operation.sequence > 0) text += fmt::format(" #{}", operation.sequence);
  if (operation.peer >= 0) text += fmt::format(" with rank {}", operation.peer);
  if (operation.tensors > 0) {
    text += fmt::format(" of {} {} elements", operation.elements, dtype_name(operation.dtype));
    if (operation.tensors > 1) text += fmt::format(" in {} tensors", operation.tensors);
    text += fmt::format(" ({})", memory::format_bytes(double(operation.bytes)));
  }
  return text;
}

std::string point_to_point_arrivals(const OperationInfo& operation) {
  const bool send = std::string(operation.name) == "send";
  return fmt::format("rank {} has not posted the matching {} (point-to-point operations are not tracked further)",
                     operation.peer, send ? "recv" : "send");
}

std::string timeout_message(const OperationInfo& operation, const CommunicatorInfo& where,
                            const std::string& arrivals) {
  return fmt::format(
      "watchdog: {} on the {} communicator (rank {} of {}) did not finish within {:g} s; {}. Aborting the job.",
      describe(operation), where.backend, where.rank, where.size, where.timeout_s, arrivals);
}

WatchdogThread::WatchdogThread(std::chrono::milliseconds period, std::function<void()> health_check)
    : period_(period), health_check_(std::move(health_check)), thread_([this] { run(); }) {}

WatchdogThread::~WatchdogThread() { stop(); }

void WatchdogThread::watch(std::shared_ptr<Watchable> operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.push_back(std::move(operation));
}

size_t WatchdogThread::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watched_.size();
}

void WatchdogThread::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  // expire() may end up here (abort, exit hooks): a thread cannot join itself.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.clear();
}

void WatchdogThread::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, period_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    poll_once();
    lock.lock();
  }
}

void WatchdogThread::poll_once() {
  if (health_check_) health_check_();
  // Poll a snapshot without the lock, so watch() from the caller never waits
  // on a CUDA query.
  std::vector<std::shared_ptr<Watchable>> snapshot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot = watched_;
  }
  std::vector<Watchable*> finished;
  const auto now = Clock::now();
  for (const auto& operation : snapshot) {
    if (operation->finished()) {
      finished.push_back(operation.get());
    } else if (now > operation->deadline()) {
      operation->expire();
      finished.push_back(operation.get());  // expired once is enough
    }
  }
  if (finished.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.erase(std::remove_if(watched_.begin(), watched_.end(),
                                [&](const std::shared_ptr<Watchable>& operation) {
                                  return std::find(finished.begin(), finished.end(), operation.get()) !=
                                         finished.end();
                                }),
                 watched_.end());
}

}  // namespace cohort::distributed::detail
