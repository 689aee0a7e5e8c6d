#pragma once
// Shared by the strategy tests: a job that every one-process strategy must
// train step for step like `single`, and the parameters it ends with.

#include <cstdint>

#include <torch/torch.h>

#include "cohort/job/training_job.h"
#include "unit/helpers.h"

namespace cohort::testing {

inline const config::Json kSingleOnCpu = {{"name", "single"}, {"device", "cpu"}};

/// Two epochs of a small MLP (Flatten and five layers) on synthetic data: no
/// dropout, no validation split, whole batches only. The default batch of 25
/// divides by neither 2 nor 3 devices, so chunks differ in size.
inline config::Json equivalence_config(const config::Json& strategy, int64_t batch = 25, int64_t accumulation = 1) {
  return synthetic_config({{"data", {{"train_samples", 200}, {"validation_fraction", 0.0}}},
                           {"loader", {{"batch_size", batch}, {"drop_last", true}, {"shuffle", true}}},
                           {"model", {{"name", "mlp"}, {"hidden", {24, 16}}, {"dropout", 0.0}}},
                           {"trainer", {{"epochs", 2}, {"accumulation_steps", accumulation}}},
                           {"strategy", strategy}});
}

/// Trains `config` and returns the model's parameters, flattened on the CPU.
inline torch::Tensor trained_parameters(const config::Json& config) {
  job::TrainingJob job(config, "test config");
  job.fit();
  return flat_parameters(job);
}

}  // namespace cohort::testing
