#include "cohort/strategies/strategy.h"

namespace cohort::strategies {

trainer::Stats Strategy::train_step(const data::Batch& batch, const LossFn& loss) {
  zero_grad();
  const auto stats = forward_backward(batch, loss, MicroStep{});
  step();
  return stats;
}

}  // namespace cohort::strategies
