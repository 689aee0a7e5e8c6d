#pragma once
// Running totals of a training or evaluation pass, as plain numbers: a tensor
// kept here would hold its autograd graph alive. Every field is a sum, so
// totals add over micro-batches, batches and ranks in any order.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cohort::trainer {

struct Stats {
  double loss_sum = 0.0;  // sum over samples of the per-sample loss
  int64_t samples = 0;
  /// The task's metrics' states (task::Metric::sums), one after another.
  std::vector<double> metric_sums;

  Stats& operator+=(const Stats& other) {
    loss_sum += other.loss_sum;
    samples += other.samples;
    if (metric_sums.size() < other.metric_sums.size()) metric_sums.resize(other.metric_sums.size(), 0.0);
    for (size_t i = 0; i < other.metric_sums.size(); ++i) metric_sums[i] += other.metric_sums[i];
    return *this;
  }
  double mean_loss() const { return samples ? loss_sum / double(samples) : 0.0; }
};

}  // namespace cohort::trainer
