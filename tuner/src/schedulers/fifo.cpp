#include "cohort/tuner/schedulers/fifo.h"

namespace cohort::tuner {

std::optional<Slot> FifoScheduler::next(const NewConfig& new_config) {
  if (exhausted_) return std::nullopt;
  const auto id = new_config(budget_);
  if (!id) {
    exhausted_ = true;
    return std::nullopt;
  }
  ++outstanding_;
  return Slot{*id, budget_, 0, 0};
}

void FifoScheduler::report(const Slot& /*slot*/, std::optional<double> /*loss*/) { --outstanding_; }

}  // namespace cohort::tuner
