#pragma once
// Summary statistics shared by the benchmark programs.

#include <algorithm>
#include <cmath>
#include <vector>

namespace cohort::bench {

/// The median (the mean of the middle two for an even count); NaN when empty.
inline double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace cohort::bench
