#include "cohort/sweep/leader.h"

#include <chrono>
#include <thread>

#include "cohort/distributed/exchange.h"

namespace cohort::sweep {
namespace {

constexpr std::chrono::duration<double> kHeartbeat{1.0};

}  // namespace

Heartbeat::Heartbeat(std::shared_ptr<distributed::Communicator> group)
    : group_(std::move(group)), last_(std::chrono::steady_clock::now()) {}

void Heartbeat::beat() {
  if (!group_ || group_->size() == 1 || std::chrono::steady_clock::now() - last_ < kHeartbeat) return;
  round(/*done=*/false);
}

bool Heartbeat::round(bool done) {
  const bool any_done = distributed::any_rank(*group_, done);
  last_ = std::chrono::steady_clock::now();
  return any_done;
}

Result run_on_leader(const std::shared_ptr<distributed::Communicator>& group,
                     const std::function<Result(Heartbeat&)>& work) {
  Heartbeat heartbeat(group);
  if (!group || group->size() == 1) return work(heartbeat);
  Json result;
  if (group->rank() == 0) {
    result = result_to_json(work(heartbeat));
    heartbeat.round(/*done=*/true);
  } else {
    // Between rounds the waiting ranks sleep rather than poll inside the collective: a long
    // command then costs them no CPU, and the result arrives at most half a round late.
    do std::this_thread::sleep_for(kHeartbeat / 2);
    while (!heartbeat.round(/*done=*/false));
  }
  return result_from_json(broadcast_json(*group, result));
}

Json broadcast_json(distributed::Communicator& group, const Json& value, int root) {
  return Json::parse(distributed::broadcast_bytes(group, group.rank() == root ? value.dump() : std::string(), root));
}

}  // namespace cohort::sweep
