#pragma once
// Training trials in processes of their own: the trial's training config is
// written to its directory and run as a child job, a launcher such as
// `mpirun -np 2` in front of cohort-train. A rank of that job that dies
// (SIGKILL, a crash) takes down the child job alone and fails only its trial,
// where in the sweep's own ranks Open MPI's mpirun would end the whole sweep
// (Open MPI 4 has no ULFM). The price is a process start per trial: the
// launcher, the ranks, LibTorch's start and the data's loading.
//
//   IsolatedTrainingEvaluator evaluator(base, "sweep.json", /*max_budget=*/9, "val_accuracy",
//       IsolatedTrainingOptions().launcher({"mpirun", "-np", "2"}));

#include <optional>
#include <string>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/sweep/evaluator.h"
#include "cohort/sweep/leader.h"

namespace cohort::sweep {

struct IsolatedTrainingOptions {
  /// The command in front of the trainer that starts the trial's ranks, e.g.
  /// {"mpirun", "-np", "2"}; empty: the trainer runs as one process.
  COHORT_ARG(std::vector<std::string>, launcher) = {};
  /// The cohort-train program to run; "" for default_trainer().
  COHORT_ARG(std::string, trainer) = "";
  /// Seconds between SIGTERM and SIGKILL for a job past the trial's deadline.
  COHORT_ARG(double, kill_grace_s) = 5.0;
};

/// cohort-train in the directory of the running program (/proc/self/exe),
/// where Cohort's build and install put it beside cohort-tune.
std::string default_trainer();

class IsolatedTrainingEvaluator : public Evaluator {
 public:
  /// As TrainingEvaluator's arguments (each trial's config is
  /// trial_training_config()). Refuses, with cohort::InputError naming
  /// `source`, a metric no training record has, a trainer that is no
  /// executable file ("objective.trainer") and a launcher that is not found
  /// ("objective.launcher").
  IsolatedTrainingEvaluator(Json base_config, std::string source, double max_budget, std::string metric,
                            IsolatedTrainingOptions options = {});

  /// On the group's leader alone (run_on_leader(); other ranks of the group
  /// wait): writes the trial's training config to trial_dir/config.json and
  /// runs `<launcher> <trainer> --config trial_dir/config.json --until-epochs
  /// <budget> --no-test [--resume <checkpoint>]`, from where
  /// TrainingEvaluator would continue (the trial's own newest checkpoint, or
  /// its parent's on a promotion, with the parent's curves copied first), in
  /// an environment without the sweep's MPI identity; its stdout goes to
  /// trial_dir/stdout.log, its stderr (the job's log) to trial_dir/train.log.
  ///
  /// Completed with the metric of the job's final record in
  /// trial_dir/metrics.jsonl when it exits with status 0. Failed when it
  /// exits otherwise or is killed, in one sentence with how it ended and the
  /// trainer's own sentence of why from its log, or else the end of its log
  /// (detail::last_line: e.g. mpirun's banner about a rank that died); not
  /// retried after exit status 2, input the trainer refused, which would
  /// repeat. Timed out at context.deadline
  /// (SIGTERM to the job's process group, then SIGKILL after kill_grace_s).
  /// Never throws.
  Result evaluate(const Trial& trial, const TrialContext& context) override;

 private:
  /// The evaluation on the leader; throws on what is no failure of the job.
  Result run(const Trial& trial, const TrialContext& context, Heartbeat& heartbeat) const;
  /// The child job's command line.
  std::vector<std::string> job_command(const std::string& config_path, double budget,
                                       const std::string& checkpoint) const;
  /// Runs the job to its end or the deadline: nothing when it exited with
  /// status 0, the trial's failed or timed-out result otherwise.
  std::optional<Result> run_job(const std::vector<std::string>& argv, const TrialContext& context,
                                Heartbeat& heartbeat) const;

  Json base_config_;
  std::string source_;
  double max_budget_;
  std::string metric_;
  IsolatedTrainingOptions options_;
};

}  // namespace cohort::sweep
