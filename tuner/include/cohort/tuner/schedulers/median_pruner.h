#pragma once
// The median stopping rule (Optuna's MedianPruner, Golovin et al. 2017): a
// running trial that has reported intermediate values stops when its best
// value so far is worse than the median of what completed trials reported at
// the same budget. It acts inside a trial, where successive halving and
// Hyperband act between trials.

#include <cstdint>
#include <map>
#include <vector>

#include "cohort/core/arg.h"

namespace cohort::tuner {

struct MedianPrunerOptions {
  /// Prune nothing until this many completed trials reported at a budget.
  COHORT_ARG(int64_t, startup_trials) = 5;
  /// Prune nothing reported at a budget below this one.
  COHORT_ARG(double, warmup) = 0.0;
};

class MedianPruner {
 public:
  explicit MedianPruner(MedianPrunerOptions options = {}) : options_(options) {}

  /// Records `loss` (minimised) of running configuration `config_id` after
  /// `budget`, and says whether it should stop: its lowest loss so far is
  /// above the median of the completed configurations' losses at `budget`.
  bool should_stop(int64_t config_id, double budget, double loss);

  /// `config_id` completed: what it reported joins the history others are
  /// judged by. (A failed or pruned one is forgotten: forget().)
  void completed(int64_t config_id);
  void forget(int64_t config_id) { running_.erase(config_id); }

 private:
  MedianPrunerOptions options_;
  /// Running configurations: budget -> loss, as reported.
  std::map<int64_t, std::map<double, double>> running_;
  /// Completed configurations' losses, by budget.
  std::map<double, std::vector<double>> history_;
};

}  // namespace cohort::tuner
