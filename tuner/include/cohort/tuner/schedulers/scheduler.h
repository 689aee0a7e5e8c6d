#pragma once
// A scheduler decides how much to spend: which configuration runs next at
// which budget, and which go on to larger budgets. Where to look is the
// sampler's business; the scheduler asks for a new configuration through
// the NewConfig callback when it wants one.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace cohort::tuner {

/// A unit of work a scheduler hands out.
struct Slot {
  int64_t config_id = 0;
  double budget = 0.0;
  int bracket = 0;
  int rung = 0;
};

class Scheduler {
 public:
  /// Samples and registers a new configuration to be run first at `budget`;
  /// returns its id, or nothing when the sampler has no more configurations.
  using NewConfig = std::function<std::optional<int64_t>(double budget)>;

  virtual ~Scheduler() = default;

  /// The next slot to run, or nothing when none can start until results
  /// arrive (or ever again: see finished()).
  virtual std::optional<Slot> next(const NewConfig& new_config) = 0;

  /// The outcome of a slot handed out by next(): its loss (minimised), or
  /// nothing when it failed for good. Every slot is reported exactly once.
  virtual void report(const Slot& slot, std::optional<double> loss) = 0;

  /// Whether a running slot that reported `loss` (minimised) after `budget`,
  /// less than its own, should stop now: a pruner acting inside a trial, as
  /// Optuna's should_prune(). A stopped slot is then reported without a loss.
  /// Schedulers without such a rule never stop one.
  virtual bool should_stop(const Slot& /*slot*/, double /*budget*/, double /*loss*/) { return false; }

  /// True once no slot will ever be handed out again.
  virtual bool finished() const = 0;

  /// Configurations the scheduler has decided not to continue since the last
  /// call (their latest trials become "pruned").
  virtual std::vector<int64_t> drain_pruned() { return {}; }
};

}  // namespace cohort::tuner
