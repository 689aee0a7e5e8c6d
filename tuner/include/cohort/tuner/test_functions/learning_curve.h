#pragma once
// A real learning curve for the tuner's benchmarks: a one-hidden-layer MLP
// (tanh, sigmoid output) trained by SGD with momentum and weight decay on a
// fixed synthetic binary classification task for `budget` epochs, in plain
// C++. The loss is the validation cross-entropy after the last epoch. A high
// learning rate wins the first epochs and a small weight decay overfits the
// small training set later, so more epochs change the ranking.

#include "cohort/tuner/test_functions/test_functions.h"

namespace cohort::tuner {

/// Space: "lr" log-uniform [1e-3, 1], "weight_decay" log-uniform [1e-6, 1e-1],
/// "width" int [2, 64] (log), "momentum" uniform [0, 0.95], "batch_size"
/// choice {8, 16, 32, 64}. Budget: epochs, 1..81 (whole epochs; rounded,
/// at least 1). Data: 8 features, 256 training and 1024 validation examples,
/// the label the sign of a fixed nonlinear function plus noise, all drawn
/// once from a fixed seed. Deterministic: the initial weights depend only on
/// the width and the shuffles only on the epoch, so the same (config, budget)
/// always gives the same loss. A diverged run scores 10 (above log 2, the
/// loss of a constant 1/2). `optimum` is 0, a bound and not the minimum (which
/// is unknown): the regret is the validation loss itself.
TestObjective learning_curve();

}  // namespace cohort::tuner
