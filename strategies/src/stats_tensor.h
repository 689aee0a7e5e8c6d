#pragma once
// A step's statistics as one small tensor, so a collective can sum them over
// ranks (ddp, pipeline replicas) or carry them from the stage that has them
// (the pipeline's last stage). Counts travel as float64: exact up to 2^53.

#include <torch/torch.h>

#include "cohort/trainer/stats.h"

namespace cohort::strategies {

inline torch::Tensor stats_tensor(const trainer::Stats& stats, torch::Device device) {
  return torch::tensor({stats.loss_sum, double(stats.correct), double(stats.samples)}, torch::kFloat64).to(device);
}

inline trainer::Stats stats_from_tensor(const torch::Tensor& totals) {
  const auto values = totals.cpu();
  trainer::Stats stats;
  stats.loss_sum = values[0].item<double>();
  stats.correct = int64_t(values[1].item<double>());
  stats.samples = int64_t(values[2].item<double>());
  return stats;
}

}  // namespace cohort::strategies
