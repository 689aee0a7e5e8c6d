#pragma once
// Work that only a trial group's leader does (run a command, evaluate a test
// function) while the other ranks of the group wait for its result.

#include <chrono>
#include <functional>
#include <memory>

#include "cohort/distributed/communicator.h"
#include "cohort/tuner/trial.h"

namespace cohort::sweep {

// A sweep is the tuner's study run over training jobs: it speaks the tuner's
// vocabulary (Trial, Result, Study, Json) throughout.
using namespace cohort::tuner;

/// Called by the leader's work every so often while it waits (e.g. on a child
/// process): once a second has passed since the last round, the leader meets
/// the waiting ranks in one small collective. They are then never in one
/// collective for longer than that, so the communicator's watchdog does not
/// take a long trial for a hang.
class Heartbeat {
 public:
  explicit Heartbeat(std::shared_ptr<distributed::Communicator> group);
  /// Cheap when called often: a clock read unless a round is due.
  void beat();

 private:
  friend Result run_on_leader(const std::shared_ptr<distributed::Communicator>&,
                              const std::function<Result(Heartbeat&)>&);
  /// One round: the leader says whether it is done; every rank learns it.
  bool round(bool done);

  std::shared_ptr<distributed::Communicator> group_;
  std::chrono::steady_clock::time_point last_;
};

/// Runs `work` on rank 0 of `group` only and returns its result on every rank
/// of the group (sent as JSON bytes). The other ranks wait in heartbeat rounds
/// (see Heartbeat) until the leader is done. `work` must not throw: failures
/// come back as Result::failed. With a null group or one of a single rank,
/// `work` simply runs here. Collective over `group` (a CPU communicator).
Result run_on_leader(const std::shared_ptr<distributed::Communicator>& group,
                     const std::function<Result(Heartbeat&)>& work);

/// `value` (rank `root`'s) on every rank of `group`, sent as JSON bytes. Collective.
Json broadcast_json(distributed::Communicator& group, const Json& value, int root = 0);

}  // namespace cohort::sweep
