#pragma once
// Shared by the trial-evaluation tests: trials, their directories, and the
// parameters a trial's checkpoint holds.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "cohort/job/training_job.h"
#include "cohort/trainer/checkpoint.h"
#include "cohort/sweep/evaluator.h"
#include "unit/helpers.h"

namespace cohort::testing {

using tuner::Json;
using tuner::Trial;
using sweep::TrialContext;

/// The sweep's base config: the synthetic job (16 steps an epoch, dropout, so
/// the random state matters) on a cosine schedule (so its horizon matters),
/// with `overrides` merged over it.
inline Json sweep_base_config(const Json& overrides = Json::object()) {
  Json merged = {{"lr_schedule", {{"name", "cosine"}}}, {"loader", {{"num_workers", 1}}}};
  merged.merge_patch(overrides);
  return synthetic_config(merged);
}

inline Trial make_trial(int64_t id, double budget, Json config = {{"optimizer.lr", 0.05}}, int64_t parent = -1) {
  Trial trial;
  trial.id = id;
  trial.budget = budget;
  trial.config = std::move(config);
  trial.parent = parent;
  return trial;
}

/// <root>/trials/<id> (created), and the parent's beside it, as the executor gives them.
inline TrialContext context_for(const std::filesystem::path& root, const Trial& trial,
                                std::shared_ptr<distributed::Communicator> group = nullptr) {
  TrialContext context;
  context.group = std::move(group);
  context.trial_dir = (root / "trials" / std::to_string(trial.id)).string();
  std::filesystem::create_directories(context.trial_dir);
  if (trial.parent >= 0) context.parent_dir = (root / "trials" / std::to_string(trial.parent)).string();
  return context;
}

/// The model parameters of the newest checkpoint in a trial directory, read
/// back with the trial's own config.json (on one process).
inline torch::Tensor checkpoint_parameters(const std::string& trial_dir) {
  std::ifstream in(std::filesystem::path(trial_dir) / "config.json");
  Json config = Json::parse(in);
  config["output_dir"] = "";
  config["strategy"] = {{"name", "single"}, {"device", "cpu"}};
  job::TrainingJob job(job::training_schema().validate(config, "config.json"), "config.json");
  job.resume(trainer::resolve_checkpoint((std::filesystem::path(trial_dir) / "checkpoints").string()));
  return flat_parameters(job);
}

/// Whether two parameter vectors agree to 1e-6.
inline bool same_parameters(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && (a - b).abs().max().item<double>() <= 1e-6;
}

}  // namespace cohort::testing
