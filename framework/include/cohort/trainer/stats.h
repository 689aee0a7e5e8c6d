#pragma once
// Running totals of a training or evaluation pass, as plain numbers: a tensor
// kept here would hold its autograd graph alive.

#include <cstdint>

namespace cohort::trainer {

struct Stats {
  double loss_sum = 0.0;  // sum over samples of the per-sample loss
  int64_t correct = 0;    // samples whose arg-max output is the target
  int64_t samples = 0;

  Stats& operator+=(const Stats& other) {
    loss_sum += other.loss_sum;
    correct += other.correct;
    samples += other.samples;
    return *this;
  }
  double mean_loss() const { return samples ? loss_sum / double(samples) : 0.0; }
  double accuracy() const { return samples ? double(correct) / double(samples) : 0.0; }
};

}  // namespace cohort::trainer
