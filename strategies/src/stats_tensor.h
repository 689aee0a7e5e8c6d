#pragma once
// A step's statistics as one small tensor, so a collective can sum them over
// ranks (ddp, pipeline replicas) or carry them from the stage that has them
// (the pipeline's last stage). Counts travel as float64: exact up to 2^53.
// Every rank must bring statistics of the same length: start them from
// Task::new_stats().

#include <torch/torch.h>

#include "cohort/trainer/stats.h"

namespace cohort::strategies {

inline torch::Tensor stats_tensor(const trainer::Stats& stats, torch::Device device) {
  std::vector<double> values{stats.loss_sum, double(stats.samples)};
  values.insert(values.end(), stats.metric_sums.begin(), stats.metric_sums.end());
  return torch::tensor(values, torch::kFloat64).to(device);
}

inline trainer::Stats stats_from_tensor(const torch::Tensor& totals) {
  const auto values = totals.cpu().contiguous();
  const auto* value = values.data_ptr<double>();
  trainer::Stats stats;
  stats.loss_sum = value[0];
  stats.samples = int64_t(value[1]);
  stats.metric_sums.assign(value + 2, value + values.numel());
  return stats;
}

}  // namespace cohort::strategies
