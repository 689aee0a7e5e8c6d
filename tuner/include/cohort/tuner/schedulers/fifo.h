#pragma once
// FIFO: every configuration runs once, at the full budget.

#include "cohort/tuner/schedulers/scheduler.h"

namespace cohort::tuner {

class FifoScheduler : public Scheduler {
 public:
  explicit FifoScheduler(double budget) : budget_(budget) {}
  std::optional<Slot> next(const NewConfig& new_config) override;
  void report(const Slot& slot, std::optional<double> loss) override;
  bool finished() const override { return exhausted_ && outstanding_ == 0; }

 private:
  double budget_;
  bool exhausted_ = false;
  int64_t outstanding_ = 0;
};

}  // namespace cohort::tuner
