#include "cohort/tuner/schedulers/median_pruner.h"

#include <algorithm>

namespace cohort::tuner {
namespace {

double median(std::vector<double> values) {
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + long(middle), values.end());
  if (values.size() % 2 == 1) return values[middle];
  const double upper = values[middle];
  return (upper + *std::max_element(values.begin(), values.begin() + long(middle))) / 2.0;
}

}  // namespace

bool MedianPruner::should_stop(int64_t config_id, double budget, double loss) {
  auto& reports = running_[config_id];
  reports[budget] = loss;  // a trial handed out again after a resume reports again: the latest counts
  if (budget < options_.warmup()) return false;
  const auto found = history_.find(budget);
  if (found == history_.end() || int64_t(found->second.size()) < options_.startup_trials()) return false;
  // Its best so far, as Optuna's: a trial is not stopped for one bad step after good ones.
  double best = loss;
  for (const auto& [at, value] : reports)
    if (at <= budget) best = std::min(best, value);
  return best > median(found->second);
}

void MedianPruner::completed(int64_t config_id) {
  const auto found = running_.find(config_id);
  if (found == running_.end()) return;
  for (const auto& [budget, loss] : found->second) history_[budget].push_back(loss);
  running_.erase(found);
}

}  // namespace cohort::tuner
