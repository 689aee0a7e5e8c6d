#pragma once
// FIFO: every configuration runs once, at the full budget; optionally with
// the median stopping rule on the intermediate values a running trial reports.

#include <optional>

#include "cohort/tuner/schedulers/median_pruner.h"
#include "cohort/tuner/schedulers/scheduler.h"

namespace cohort::tuner {

class FifoScheduler : public Scheduler {
 public:
  /// Every configuration at `budget`; with `pruner`, a running trial whose
  /// intermediate values fall behind stops (should_stop()).
  explicit FifoScheduler(double budget, std::optional<MedianPruner> pruner = std::nullopt)
      : budget_(budget), pruner_(std::move(pruner)) {}
  std::optional<Slot> next(const NewConfig& new_config) override;
  void report(const Slot& slot, std::optional<double> loss) override;
  bool finished() const override { return exhausted_ && outstanding_ == 0; }
  bool should_stop(const Slot& slot, double budget, double loss) override;

 private:
  double budget_;
  std::optional<MedianPruner> pruner_;
  bool exhausted_ = false;
  int64_t outstanding_ = 0;
};

}  // namespace cohort::tuner
