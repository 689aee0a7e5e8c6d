#include "cohort/strategies/pipeline/schedule.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace cohort::strategies::pipeline {

std::string to_string(Schedule schedule) { return schedule == Schedule::kGPipe ? "gpipe" : "1f1b"; }

Schedule parse_schedule(const std::string& name) {
  if (name == "gpipe") return Schedule::kGPipe;
  if (name == "1f1b") return Schedule::k1F1B;
  throw std::invalid_argument(fmt::format("unknown pipeline schedule \"{}\" (use gpipe or 1f1b)", name));
}

std::ostream& operator<<(std::ostream& out, const Action& action) {
  return out << (action.kind == Action::Kind::kForward ? 'F' : 'B') << action.micro_batch;
}

std::vector<Action> actions(Schedule schedule, int64_t stages, int64_t stage, int64_t micro_batches) {
  if (stages < 1 || stage < 0 || stage >= stages || micro_batches < 1)
    throw std::invalid_argument(fmt::format("pipeline schedule: stage {} of {} with {} micro-batches is not a pipeline",
                                            stage, stages, micro_batches));
  const auto forward = [](int64_t micro) { return Action{Action::Kind::kForward, micro}; };
  const auto backward = [](int64_t micro) { return Action{Action::Kind::kBackward, micro}; };
  // GPipe is 1F1B whose warm-up covers every micro-batch.
  const int64_t warm_up =
      schedule == Schedule::kGPipe ? micro_batches : std::min(stages - stage - 1, micro_batches);
  std::vector<Action> order;
  order.reserve(size_t(2 * micro_batches));
  for (int64_t micro = 0; micro < warm_up; ++micro) order.push_back(forward(micro));
  // Steady state: the next forward, then the oldest backward.
  for (int64_t micro = warm_up; micro < micro_batches; ++micro) {
    order.push_back(forward(micro));
    order.push_back(backward(micro - warm_up));
  }
  // Cool-down: the backwards still owed.
  for (int64_t micro = std::max<int64_t>(micro_batches - warm_up, 0); micro < micro_batches; ++micro)
    order.push_back(backward(micro));
  return order;
}

int64_t peak_in_flight(const std::vector<Action>& actions) {
  int64_t in_flight = 0, peak = 0;
  for (const auto& action : actions) {
    in_flight += action.kind == Action::Kind::kForward ? 1 : -1;
    peak = std::max(peak, in_flight);
  }
  return peak;
}

}  // namespace cohort::strategies::pipeline
