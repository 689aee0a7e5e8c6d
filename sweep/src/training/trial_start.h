#pragma once
// Where a training trial starts, and what it reports at its end, for both ways
// of running one (in the sweep's process, TrainingEvaluator; as a child job,
// IsolatedTrainingEvaluator): it starts from its own newest checkpoint when it
// is handed out again, its parent's on a promotion (with the parent's learning
// curves copied first), or the start.

#include <string>

#include "cohort/sweep/evaluator.h"
#include "cohort/tuner/trial.h"

namespace cohort::sweep::detail {

/// Checkpoint names carry their epochs to six decimals: closer than this to
/// a budget counts as at the budget.
inline constexpr double kSameEpochs = 1e-5;

/// Where a trial's training continues from.
struct TrialStart {
  std::string checkpoint;    // "" for the start
  bool from_parent = false;  // the checkpoint is the parent's (a promotion)
};

/// The newest checkpoint in `run_dir`/checkpoints taken before `budget`
/// epochs, or "". One at the budget itself is passed over: continuing from it
/// would train nothing and leave no final record to read the metric from.
std::string checkpoint_before(const std::string& run_dir, double budget);

/// Chooses where `trial` starts, in this order: the newest checkpoint in
/// `trial_dir` before its budget (a trial handed out again), the parent's
/// newest in `parent_dir` before the budget (a promotion: the parent's
/// metrics.jsonl and training event files are then copied into `trial_dir`,
/// so that the resumed run appends to its parent's curves), or the start.
/// Called by the one process that writes the trial's files.
TrialStart start_trial(const tuner::Trial& trial, const std::string& trial_dir, const std::string& parent_dir);

/// The completed result of a training trial whose final metrics record is
/// `record`: the value of `metric` there (read_metric()), and as info the
/// epochs, steps and samples per second it reached, where it started
/// (`checkpoint`, or "scratch"), and `extra`'s keys.
Result completed_training(const Json& record, const std::string& metric, const std::string& checkpoint,
                          const Json& extra = Json::object());

}  // namespace cohort::sweep::detail
