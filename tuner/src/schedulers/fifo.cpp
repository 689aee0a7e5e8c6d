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

void FifoScheduler::report(const Slot& slot, std::optional<double> loss) {
  --outstanding_;
  if (!pruner_) return;
  if (loss) pruner_->completed(slot.config_id);
  else pruner_->forget(slot.config_id);
}

bool FifoScheduler::should_stop(const Slot& slot, double budget, double loss) {
  return pruner_ && pruner_->should_stop(slot.config_id, budget, loss);
}

}  // namespace cohort::tuner
