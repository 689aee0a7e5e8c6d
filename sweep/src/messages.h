#pragma once
// The messages of a sweep over MPI: the coordinator and the group leaders
// (asking for work, handing out trials, reporting results), and each leader
// and the other ranks of its group (the trial to run next). They travel as
// JSON text on the sweep's own duplicate of MPI_COMM_WORLD, so they never mix
// with a trial's collectives, and no watchdog times out a group that waits
// long for its next trial.

#include <optional>
#include <utility>

#include <mpi.h>

#include "cohort/tuner/trial.h"

namespace cohort::sweep::detail {
using namespace cohort::tuner;

/// Message tags.
enum Tag : int {
  kRequest = 1,  // leader -> coordinator: {} at first, then {"trial_id": id, "result": {...}}
  kAssign = 2,   // coordinator -> leader -> group: {"trial": {...}, ...} or {"stop": true}
};

/// Waits that start as a poll that yields the core between tries (a reply
/// usually comes within microseconds) and, after kSpinSeconds without one,
/// grow into sleeps of up to `max_pause_s`, so a rank that waits minutes for
/// work leaves its core to the ranks that train.
class Backoff {
 public:
  explicit Backoff(double max_pause_s) : max_pause_s_(max_pause_s) {}
  /// Call after each poll that found nothing.
  void pause();
  /// Call after each poll that found something.
  void reset() { idle_since_ = 0.0; sleeps_ = 0; }

 private:
  static constexpr double kSpinSeconds = 200e-6;
  double max_pause_s_;
  double idle_since_ = 0.0;  // steady-clock seconds of the first empty poll, 0 = none yet
  int sleeps_ = 0;
};

class MessageChannel {
 public:
  /// Duplicates MPI_COMM_WORLD. Collective over every rank of the job.
  MessageChannel();
  ~MessageChannel();
  MessageChannel(const MessageChannel&) = delete;
  MessageChannel& operator=(const MessageChannel&) = delete;

  /// Sends `message` to world rank `destination`. The messages are small, so
  /// this returns as soon as MPI has copied them (eager protocol).
  void send(int destination, Tag tag, const Json& message);
  /// A message with `tag` from `source` (MPI_ANY_SOURCE for any rank) that
  /// has already arrived, with its sender; nothing otherwise. Never blocks.
  std::optional<std::pair<int, Json>> try_receive(int source, Tag tag);
  /// Waits for a message with `tag` from `source`, polling with `backoff`.
  Json receive(int source, Tag tag, Backoff backoff);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};


}  // namespace cohort::sweep::detail
