#pragma once
// Runs a sweep's trials over MPI: world rank 0 coordinates (it owns the Study
// and its journal), and ranks 1..N-1 form groups of ranks_per_trial, each
// running one trial at a time on its own sub-communicator. The coordinator
// never waits on one group: it answers whichever leader reports, hands every
// idle group the next trial the study has, and parks a group only while the
// study has nothing to hand out (a rung waiting for its last results).
//
//   MpiExecutor executor(ExecutorOptions().ranks_per_trial(2).output_dir("out"));
//   Study* study = executor.coordinates() ? &my_study : nullptr;
//   Evaluator* evaluator = executor.evaluates() ? my_evaluator.get() : nullptr;
//   executor.run(study, evaluator);   // every rank; returns when the sweep is over
//
// Started as one process (no mpirun), the same object runs trials itself, one
// at a time, in the calling process.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cohort/core/arg.h"
#include "cohort/distributed/communicator.h"
#include "cohort/distributed/message_channel.h"
#include "cohort/tuner/study/study.h"
#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

struct ExecutorOptions {
  /// Ranks of each worker group; the job's size minus one must be a multiple.
  COHORT_ARG(int64_t, ranks_per_trial) = 1;
  /// Each trial works in output_dir/trials/<id> (TrialContext::trial_dir).
  COHORT_ARG(std::string, output_dir) = "";
  /// Seconds a trial may run (TrialContext::deadline; 0 = no limit).
  COHORT_ARG(double, trial_timeout_s) = 0.0;
  /// After this many seconds no new trial is handed out; the running ones
  /// finish and run() returns (0 = no limit).
  COHORT_ARG(double, time_limit_s) = 0.0;
  /// Seconds between the coordinator's progress lines.
  COHORT_ARG(double, progress_every_s) = 5.0;
  /// Seconds between calls of write_outputs while results arrive.
  COHORT_ARG(double, outputs_every_s) = 5.0;
  /// Writes the sweep's outputs from the study; called on the coordinator
  /// every outputs_every_s while results arrive, and once at the end.
  COHORT_ARG(std::function<void(const Study&)>, write_outputs) = nullptr;
};

/// How a run of the executor ended (filled in on the coordinator only).
struct SweepSummary {
  int64_t trials = 0;     // trials in the study, from this run and earlier ones
  int64_t completed = 0;  // completed or pruned
  int64_t failed = 0;     // failed or timed out
  int64_t dispatched = 0; // trials handed out by this run
  double seconds = 0.0;   // this run's wall time
  bool time_limit_reached = false;
  bool study_finished = false;
};

/// Throws cohort::InputError (naming `source` and "ranks_per_trial") unless a
/// job of `world_size` ranks splits into a coordinator and groups of
/// `ranks_per_trial`; one process is always fine (it runs trials itself, and
/// then ranks_per_trial must be 1).
void check_group_layout(int world_size, int64_t ranks_per_trial, const std::string& source);

class MpiExecutor {
 public:
  /// Splits the job's ranks into the coordinator and the worker groups.
  /// Collective over every rank. Throws as check_group_layout does.
  explicit MpiExecutor(ExecutorOptions options);
  ~MpiExecutor();
  MpiExecutor(const MpiExecutor&) = delete;
  MpiExecutor& operator=(const MpiExecutor&) = delete;

  /// Whether this rank owns the study (world rank 0).
  bool coordinates() const { return rank_ == 0; }
  /// Whether this rank runs trials (a worker rank, or the only process).
  bool evaluates() const { return rank_ != 0 || world_size_ == 1; }
  /// The number of worker groups (1 for a single process).
  int64_t groups() const;
  /// This rank's group (the coordinator's is itself alone, unless it is the only process).
  const std::shared_ptr<distributed::Communicator>& group() const { return group_; }

  /// Runs the sweep until the study is finished or time_limit_s has passed;
  /// call it on every rank together. `study` must be given on the
  /// coordinator, `evaluator` wherever evaluates() is true; the other may be
  /// null. A trial's exception or failure is its own (the trial fails, the
  /// sweep goes on); an error of the coordinator (its journal cannot be
  /// written) is thrown.
  SweepSummary run(Study* study, Evaluator* evaluator);

 private:
  SweepSummary coordinate(Study& study);
  SweepSummary run_in_process(Study& study, Evaluator& evaluator);
  void lead(Evaluator& evaluator);
  void follow(Evaluator& evaluator);
  /// Runs the assignment's trial on this rank of the group. While it runs, a
  /// failure notice from another rank of the group (its trial failed here)
  /// interrupts this rank's collectives, so the trial fails on every rank
  /// instead of waiting for the watchdog to end the sweep; a failure here
  /// sends that notice to the others. Sets trial_failed_. `report` answers
  /// the trial's intermediate values (the leader's asks the coordinator; the
  /// other ranks have none).
  Result run_trial(Evaluator& evaluator, const Json& assignment,
                   std::function<bool(double budget, double value)> report = {});
  /// The failure notice of trial `trial_id` from another rank of the group,
  /// if one has arrived (notices of earlier trials are dropped).
  std::optional<std::string> failure_notice(int64_t trial_id);
  /// Replaces the group's communicator after a failed trial: the old one may
  /// hold collectives that will never finish. Collective over the group.
  void regroup();
  /// The trial and context an assignment message carries.
  TrialContext context_of(const Json& assignment) const;
  /// Adds what every rank of the group must agree on (directories, deadline)
  /// to an assignment, and creates the trial's directory.
  void prepare(Json& assignment) const;

  ExecutorOptions options_;
  int rank_ = 0;
  int world_size_ = 1;
  int leader_ = 0;  // world rank of this rank's group leader
  std::vector<int> members_;  // world ranks of this rank's group, leader first
  bool trial_failed_ = false;  // the last trial failed on this rank (here, or by another's notice)
  std::shared_ptr<distributed::Communicator> group_;
  std::unique_ptr<distributed::MessageChannel> channel_;
};

}  // namespace cohort::sweep
