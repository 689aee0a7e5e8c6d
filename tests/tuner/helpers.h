#pragma once
// Shared by the tuner tests: small studies over one-parameter spaces.

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/study/study.h"

namespace cohort::tuner::testing {

/// x uniform on [0, 1]: a study's loss can simply be x, so rankings are known.
inline SearchSpace unit_space() {
  SearchSpace space;
  space.add(Parameter::uniform("x", 0.0, 1.0));
  return space;
}

/// Asks and tells until the study is finished, one trial at a time.
template <typename Objective>
void run_sequentially(Study& study, Objective objective) {
  while (auto trial = study.ask()) study.tell(*trial, objective(*trial));
}

/// The median (the mean of the middle two for an even count).
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// Counts trials by budget.
inline std::map<double, int> trials_per_budget(const Study& study) {
  std::map<double, int> counts;
  for (const auto& [id, record] : study.trials()) counts[record.trial.budget]++;
  return counts;
}

}  // namespace cohort::tuner::testing
