#pragma once
// Trials that are Cohort training jobs: the sweep's base config with the
// trial's configuration applied, trained to the trial's budget in epochs on
// the trial's group of ranks, continued from a checkpoint where one exists.

#include <string>

#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

/// The complete training config of a trial: `base` with the flat
/// `configuration` applied (apply_configuration), output_dir set to
/// `output_dir` and trainer.epochs to `max_budget` rounded up (the horizon of
/// the learning-rate schedule, the same for every trial), progress "auto"
/// turned into log lines; validated with job::training_schema(). A key the
/// schema refuses (e.g. a search-space path that is no config key) raises
/// cohort::InputError naming `source`, the trial and the key.
Json trial_training_config(const Json& base, const Json& configuration, const std::string& output_dir,
                           double max_budget, const std::string& source);

/// Refuses, before any trial runs, a `metric` that no training job's final
/// metrics record has (read_metric() on job::example_record(`config`)):
/// cohort::InputError naming `source` and "objective.metric", listing the
/// metrics there are.
void check_training_metric(const std::string& metric, const Json& config, const std::string& source);

class TrainingEvaluator : public Evaluator {
 public:
  /// `base_config`: a complete training config (`source` names it in
  /// messages); `max_budget`: the sweep's largest budget in epochs; `metric`:
  /// a dotted path into the trainer's final metrics record (see read_metric()
  /// and trainer::epoch_record()); one no record has raises cohort::InputError
  /// naming `source` and listing the metrics there are.
  TrainingEvaluator(Json base_config, std::string source, double max_budget, std::string metric);

  /// On every rank of context.group together, with the group as the job's
  /// ranks (job::JobContext): builds the trial's job
  /// and continues it from, in this order, the trial's own newest checkpoint
  /// in context.trial_dir before its budget (a trial handed out again), the
  /// parent's newest checkpoint in context.parent_dir before the budget (a
  /// promotion; the parent's metrics.jsonl is copied first so the trial's
  /// learning curve is whole), or the start; trains to trial.budget epochs;
  /// returns the metric of the final record. Only the group's leader writes
  /// files: trial_dir/config.json, metrics.jsonl, checkpoints/ and train.log
  /// (the log of the trial, at the config's log_level); a one-process strategy
  /// on a group of several ranks, under which each would, fails the trial.
  /// Failures come back as Result::failed with their message; the deadline as
  /// Result::timed_out.
  Result evaluate(const Trial& trial, const TrialContext& context) override;

 private:
  /// The evaluation itself; throws on failure.
  Result run(const Trial& trial, const TrialContext& context) const;

  Json base_config_;
  std::string source_;
  double max_budget_;
  std::string metric_;
};

}  // namespace cohort::sweep
