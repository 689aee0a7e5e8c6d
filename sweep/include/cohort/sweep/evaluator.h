#pragma once
// What runs one trial of a sweep on a group of ranks. The executor hands every
// rank of a trial's group the same Trial and TrialContext and calls
// evaluate() on all of them together; rank 0 of the group reports the result.
//
// Evaluators live in the cohort_sweep library (Cohort::sweep), which joins the
// tuner (no LibTorch) to training jobs and MPI.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cohort/distributed/communicator.h"
#include "cohort/tuner/study/study.h"
#include "cohort/tuner/trial.h"

namespace cohort::sweep {

// A sweep is the tuner's study run over training jobs: it speaks the tuner's
// vocabulary (Trial, Result, Study, Json) throughout.
using namespace cohort::tuner;

struct TrialContext {
  /// The trial's ranks (ranks_per_trial of them); rank 0 of it is the group's
  /// leader, whose result is recorded. Evaluators that train hand it to the
  /// training job as its ranks (job::JobContext).
  std::shared_ptr<distributed::Communicator> group;
  /// output_dir/trials/<trial id>, created before evaluate() is called: the
  /// trial's log, metrics.jsonl and checkpoints go here. A trial handed out
  /// again after a resume finds what it wrote before.
  std::string trial_dir;
  /// output_dir/trials/<parent id> for a promoted trial (trial.parent >= 0),
  /// whose checkpoint at the smaller budget it continues from; "" otherwise.
  std::string parent_dir;
  /// Seconds since the epoch after which the trial must stop and report
  /// Result::timed_out (0 = no limit). Ranks of a group agree on stopping.
  double deadline = 0.0;
  /// Hears an intermediate value of the trial (the objective, in its own
  /// direction, after `budget` of the trial's budget) and says whether the
  /// scheduler wants the trial stopped (Study::report). Only the group's
  /// leader has it; null where nobody listens (then no trial is stopped).
  std::function<bool(double budget, double value)> report;
};

/// Whether `context`'s deadline has passed (never, for deadline 0) by this
/// process's clock; ranks that must stop together agree on it themselves.
bool deadline_passed(const TrialContext& context);

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  /// Runs `trial` on every rank of context.group, all calling together.
  /// Never throws: a failure (an exception, a non-finite loss, out of memory
  /// after shrinking, the deadline) comes back as Result::failed or
  /// Result::timed_out with its error text, and the group is ready for the
  /// next trial. The value is the objective in its own direction.
  virtual Result evaluate(const Trial& trial, const TrialContext& context) = 0;
};

/// The `objective` block of a sweep config, once validated.
struct ObjectiveSpec {
  /// The metric: a key of the training job's final metrics record (e.g.
  /// "val_accuracy", "val_loss", "train_loss"; docs/sweeps.md lists
  /// them), or of the last JSON line a command prints; a dotted path reaches
  /// into nested objects ("memory.cpu_peak_rss_mb").
  std::string metric;
  Direction direction = Direction::kMinimize;
  /// Empty: each trial is a Cohort training job built from the sweep's base
  /// config. Otherwise a command run once per trial (by the group's leader),
  /// with "{param.path}" placeholders replaced by the trial's values and
  /// "{budget}", "{trial_id}", "{trial_dir}", "{parent_dir}" by the trial's own.
  std::vector<std::string> command;
  /// With a command: start it once as a persistent worker that reads trials
  /// as JSON lines on stdin and answers on stdout (CommandEvaluator).
  bool worker = false;
  /// Or, when not empty, one of the tuner's test functions ("branin",
  /// "hartmann6", "counting_ones"), evaluated in the group leader's process:
  /// for trying a sweep out and for benchmarks of the executor itself.
  std::string function;
  /// For training trials: "process" runs each trial as a child job, `launcher`
  /// in front of `trainer` (IsolatedTrainingEvaluator), so that a rank that
  /// dies fails only its trial; "none" trains in the sweep's own ranks.
  std::string isolation = "none";
  /// With isolation "process": the command that starts a trial's ranks, its
  /// "{ranks}" already replaced by ranks_per_trial (e.g. {"mpirun", "-np", "2"}).
  std::vector<std::string> launcher;
  /// With isolation "process": the cohort-train to run ("" for the one beside this program).
  std::string trainer;
  /// Everything else the objective block said (e.g. a test function's
  /// settings), for the evaluator that needs it.
  Json settings = Json::object();
};

/// The number at `metric`, a dotted path into `record` ("val_accuracy",
/// "scores.f1"). Throws std::runtime_error when it is missing or not a number,
/// naming the metric and listing the numbers `record` has (`where` says what
/// the record is, e.g. "the trial's final metrics record").
double read_metric(const Json& record, const std::string& metric, const std::string& where);

/// The evaluator for `objective`: the objective's command or test function,
/// or else a training job built from `base_config` (a complete, validated
/// training config; `source` names it in messages) with the trial's
/// configuration applied, trained for the trial's budget in epochs (fractions
/// allowed) on a learning-rate schedule whose horizon is `max_budget` epochs,
/// so that a trial promoted from its parent's checkpoint ends exactly where
/// training straight to its budget would; with objective.isolation "process",
/// each such job runs as a child job (IsolatedTrainingEvaluator).
std::unique_ptr<Evaluator> make_evaluator(const ObjectiveSpec& objective, const Json& base_config,
                                          const std::string& source, double max_budget);

}  // namespace cohort::sweep
