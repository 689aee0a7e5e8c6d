#include "cohort/strategy/strategy.h"

namespace cohort::strategy {

trainer::Stats Compute::train_step(const data::Batch& batch, const task::Task& task) {
  zero_grad();
  const auto stats = forward_backward(batch, task, MicroStep{});
  step();
  return stats;
}

}  // namespace cohort::strategy
