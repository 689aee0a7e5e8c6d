#pragma once
// Shared by the unit tests: a small synthetic training config and temporary directories.

#include <filesystem>
#include <string>

#include <vector>

#include <torch/torch.h>

#include "cohort/config/schema.h"
#include "cohort/job/training_job.h"
#include "common/temporary_directory.h"

namespace cohort::testing {

/// A complete, validated config training a small MLP on synthetic data, with
/// `overrides` merged over it first (a section with a "name" replaces the default one).
config::Json synthetic_config(const config::Json& overrides = config::Json::object());

/// The tensors flattened on the CPU, one after another (cat promotes mixed
/// types, e.g. a BatchNorm's counter among its float buffers): what tests
/// compare between runs and ranks.
inline torch::Tensor flat(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> parts;
  for (const auto& tensor : tensors) parts.push_back(tensor.detach().flatten().cpu());
  return torch::cat(parts);
}

/// The parameters of a module, or of a job's model, as one flat tensor.
inline torch::Tensor flat_parameters(const torch::nn::Module& module) { return flat(module.parameters()); }
inline torch::Tensor flat_parameters(job::TrainingJob& job) { return flat_parameters(*job.trainer().model().ptr()); }

/// The accuracy in `stats` under the job's task (which must report accuracy).
inline double accuracy(job::TrainingJob& job, const trainer::Stats& stats) {
  return job.trainer().metrics(stats).at("accuracy");
}

}  // namespace cohort::testing
