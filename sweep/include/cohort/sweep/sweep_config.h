#pragma once
// The sweep config that cohort-tune runs: a base training config, a search
// space, an objective, budgets, a sampler and a scheduler, the limits that end
// the sweep, and how trials are placed on ranks. Validated like every other
// Cohort config (config::Schema): a bad key is refused with the file and the
// key's path, and the app exits with status 2.
//
//   {"base": "fmnist_mlp.json",
//    "space": {"optimizer.lr": {"type": "loguniform", "low": 1e-3, "high": 0.3}},
//    "objective": {"metric": "val_accuracy", "mode": "max"},
//    "budget": {"min": 1, "max": 9, "eta": 3},
//    "sampler": {"name": "bohb"}, "scheduler": {"name": "hyperband"},
//    "max_trials": 40, "output_dir": "runs/sweep"}

#include <memory>
#include <string>
#include <vector>

#include "cohort/config/schema.h"
#include "cohort/tuner/samplers/sampler.h"
#include "cohort/tuner/schedulers/scheduler.h"
#include "cohort/tuner/space/search_space.h"
#include "cohort/tuner/study/study.h"
#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

/// Every key of a sweep config except the free-form ones ("base", "space"),
/// with defaults and meaning; cohort-tune --print-config-reference prints it.
config::Schema sweep_schema();

/// A validated sweep config and what it builds.
struct SweepConfig {
  /// The complete config: every default filled in and `base` inlined (so it
  /// can be written to output_dir/sweep.json and resumed from alone).
  Json config;
  /// The file it came from, for messages.
  std::string source;
  /// The validated training config of every trial ({} when the objective is
  /// a command or a test function and no base was given).
  Json base;
  SearchSpace space;
  ObjectiveSpec objective;
  double min_budget = 1.0;
  double max_budget = 1.0;
  int64_t eta = 3;
  int64_t ranks_per_trial = 1;
  double trial_timeout_s = 0.0;
  double time_limit_s = 0.0;
  std::string output_dir;

  /// Ranks of each of the sweep's worker groups: ranks_per_trial, or 1 under
  /// objective.isolation "process", where each trial's ranks are a child job
  /// that the group's one rank starts.
  int64_t group_size() const;
  /// A fresh sampler and scheduler as the config names them.
  std::unique_ptr<Sampler> make_sampler() const;
  std::unique_ptr<Scheduler> make_scheduler() const;
  /// The study's options: seed, direction, limits, retries, and the journal at
  /// output_dir/journal.jsonl. The settings recorded in the journal are the
  /// config without the keys a resume may change (output_dir, time_limit_s,
  /// the progress and output intervals, sync_journal, objective.launcher and
  /// objective.trainer), so resuming under another config is refused.
  StudyOptions study_options() const;
  /// The complete training config that reproduces `trial`: the config its
  /// evaluator trained (trial_training_config: base with the trial's
  /// configuration applied, on the learning-rate schedule of budget.max
  /// epochs), writing to output_dir/best. A trial at budget.max is exactly
  /// this job; one at a smaller budget stopped after `trial.budget` epochs of
  /// it. Empty for sweeps without a base.
  Json training_config(const Trial& trial) const;
};

/// Validates a parsed sweep config. `source` names it in messages; a `base`
/// given as a path is read relative to `directory`. Throws cohort::InputError
/// with one sentence naming the file and the key, e.g. a missing limit:
/// `sweep.json: "max_trials": the bohb sampler never runs out of
/// configurations; set max_trials, max_total_budget or time_limit_s so the
/// sweep ends.`
SweepConfig parse_sweep_config(const Json& raw, const std::string& source, const std::string& directory);

/// Reads `path`, applies `--set key=value` overrides, and validates it.
SweepConfig load_sweep_config(const std::string& path, const std::vector<std::string>& overrides);

/// The sweep cohort-tune runs, and its resume policy: a new sweep from
/// `config_path`, or with `resume_dir` the sweep in that directory (its
/// output_dir), from `config_path` or else from the copy it saved there
/// (run_layout::kSweepConfig). A new sweep must not write over another's
/// journal and a resume needs one; the group layout must fit `world_size`
/// ranks. Throws cohort::InputError naming the directory or file otherwise.
SweepConfig open_sweep(const std::string& config_path, std::vector<std::string> overrides,
                       const std::string& resume_dir, int world_size);

}  // namespace cohort::sweep
