#pragma once
// A small, learnable, seeded classification problem for tests and demos.

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/arg.h>

#include "cohort/data/dataset.h"

namespace cohort::data {

/// Options of make_synthetic(): Gaussian clusters, one per class.
struct SyntheticOptions {
  TORCH_ARG(int64_t, num_samples) = 512;
  TORCH_ARG(int64_t, num_classes) = 4;
  /// The shape of one input, e.g. {16} or {1, 8, 8}.
  TORCH_ARG(std::vector<int64_t>, sample_shape) = std::vector<int64_t>{16};
  /// Standard deviation of the noise around each class's centre (centres have unit scale).
  TORCH_ARG(double, noise) = 0.5;
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Examples x = centre[y] + noise * N(0, 1) with y uniform over the classes.
/// The same options always give the same tensors; the global RNG is untouched.
std::shared_ptr<TensorDataset> make_synthetic(const SyntheticOptions& options);

}  // namespace cohort::data
