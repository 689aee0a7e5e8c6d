#pragma once
// The order in which one stage of a pipeline runs the forward and backward
// passes of a step's micro-batches. Pure: the same answer on every rank, so
// the stages' sends and receives pair up without any negotiation.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace cohort::strategies::pipeline {

enum class Schedule {
  /// GPipe: every micro-batch forward, then every micro-batch backward. Each
  /// stage holds the activations of all micro-batches at once.
  kGPipe,
  /// One forward, one backward (PipeDream-Flush): stage s runs (stages - s - 1)
  /// warm-up forwards, then alternates a forward with a backward, then drains
  /// the remaining backwards. At most (stages - s) micro-batches are in
  /// flight on stage s, whatever the number of micro-batches; the bubble is
  /// the same as GPipe's.
  k1F1B,
};

/// "gpipe" or "1f1b".
std::string to_string(Schedule schedule);
/// The schedule named "gpipe" or "1f1b"; std::invalid_argument otherwise.
Schedule parse_schedule(const std::string& name);

/// One pass of one micro-batch on one stage.
struct Action {
  enum class Kind { kForward, kBackward };
  Kind kind;
  int64_t micro_batch;

  bool operator==(const Action& other) const { return kind == other.kind && micro_batch == other.micro_batch; }
};

/// "F3" or "B3": for messages and test reports.
std::ostream& operator<<(std::ostream& out, const Action& action);

/// The actions of `stage` (0-based, of `stages`) for a step of
/// `micro_batches` micro-batches, in the order they run. Every micro-batch is
/// forwarded once and then, later, backwarded once; backwards run in
/// micro-batch order on every stage, as do forwards, so the messages between
/// two neighbours match in the order they are posted.
std::vector<Action> actions(Schedule schedule, int64_t stages, int64_t stage, int64_t micro_batches);

/// The most micro-batches whose forward has run and backward has not, at any
/// point of `actions`: how many sets of activations the stage keeps alive.
int64_t peak_in_flight(const std::vector<Action>& actions);

}  // namespace cohort::strategies::pipeline
