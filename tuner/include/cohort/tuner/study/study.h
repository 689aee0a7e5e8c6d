#pragma once
// A study: the ask/tell loop that joins a sampler (where to look), a scheduler
// (how much to spend) and a journal (what happened), with failure retries and
// exact resume.
//
//   Study study(std::make_unique<BohbSampler>(space), std::make_unique<HyperbandScheduler>(hb),
//               StudyOptions().seed(1).max_trials(200).journal("out/journal.jsonl"));
//   while (auto trial = study.ask()) study.tell(*trial, Result::completed(evaluate(*trial)));
//
// Everything the study decides is a function of the seed and the order of
// tell() calls. The journal records each ask and tell before it takes effect;
// opening a study on an existing journal replays it, which rebuilds the
// random generator, the brackets and the sampler's model exactly, and hands
// out again the trials that were running when the sweep stopped.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/tuner/random.h"
#include "cohort/tuner/samplers/sampler.h"
#include "cohort/tuner/schedulers/scheduler.h"
#include "cohort/tuner/study/journal.h"
#include "cohort/tuner/trial.h"

namespace cohort::tuner {

enum class Direction { kMinimize, kMaximize };

/// `value` as samplers and schedulers see it: minimised.
inline double loss_of(Direction direction, double value) {
  return direction == Direction::kMinimize ? value : -value;
}

/// Whether completed trial `a` beats completed trial `b`: the rule of
/// Study::best() and of everything that shows the best trial (best.json, the
/// report). A larger budget wins, then a lower loss, then the lower id.
bool beats(Direction direction, const TrialRecord& a, const TrialRecord& b);

/// Seconds since the epoch by the wall clock: the unit of a study's time
/// stamps (TrialRecord::submitted, finished) and of a sweep's deadlines.
double wall_clock_seconds();

struct StudyOptions {
  COHORT_ARG(uint64_t, seed) = 0;
  COHORT_ARG(Direction, direction) = Direction::kMinimize;
  /// Stop starting trials after this many (0 = no limit; retries not counted).
  COHORT_ARG(int64_t, max_trials) = 0;
  /// Stop starting trials once their budgets add up to this (0 = no limit).
  COHORT_ARG(double, max_total_budget) = 0.0;
  /// How often a failed or timed-out trial is tried again before it counts as
  /// failed for good.
  COHORT_ARG(int64_t, max_failures) = 2;
  /// JSON-lines journal to write, and to resume from if it exists ("" = none).
  COHORT_ARG(std::string, journal) = "";
  /// Wait for the disk after each journal record (fdatasync).
  COHORT_ARG(bool, sync_journal) = true;
  /// Anything else that defines the sweep (e.g. its config file): recorded in
  /// the journal, and a resume with different settings is refused.
  COHORT_ARG(Json, settings) = Json::object();
};

class Study {
 public:
  Study(std::unique_ptr<Sampler> sampler, std::unique_ptr<Scheduler> scheduler, StudyOptions options = {});
  ~Study();

  /// The next trial to evaluate, or nothing: either every remaining trial
  /// waits for results still running, or the study is finished().
  std::optional<Trial> ask();

  /// Records the outcome of a trial that ask() handed out. A failed or
  /// timed-out trial is retried (as a new trial with the next attempt number)
  /// until max_failures; a completed one with a non-finite value counts as failed.
  void tell(const Trial& trial, const Result& result);

  /// An intermediate value of a running trial: `value` (the objective, in its
  /// own direction) after `budget`, less than the trial's budget. Journaled;
  /// returns whether the scheduler wants the trial stopped
  /// (Scheduler::should_stop), which the evaluator then reports as
  /// Result::pruned. A pruned trial is not retried; the sampler observes its
  /// last value at the budget it reached.
  bool report(const Trial& trial, double budget, double value);

  /// Group commit for a coordinator serving many workers: while deferred, the
  /// journal's records are written at once (a killed process loses none) but
  /// waited for on the disk only by sync_journal(), once for all of them.
  /// Call sync_journal() before any trial asked for leaves the process, so
  /// that what others act on is on the disk; a machine that crashes before
  /// then loses at most tells since the last sync, and those trials are
  /// handed out again on resume. No effect without a journal or sync_journal.
  void defer_journal_syncs(bool deferred);
  void sync_journal();

  /// True when no trial is running and none will be handed out again.
  bool finished() const;

  /// Trials handed out and not yet told (including those pending after a resume).
  int64_t running() const { return running_; }

  /// Every trial so far, by id.
  const std::map<int64_t, TrialRecord>& trials() const { return trials_; }

  /// The best trial at the largest budget any trial completed, if one has
  /// (the lowest value after the direction, then the lowest id). Kept up to
  /// date as results arrive, so it is cheap to ask after every tell().
  std::optional<TrialRecord> best() const;

  const SearchSpace& space() const { return sampler_->space(); }
  const StudyOptions& options() const { return options_; }
  /// The value as the sampler and scheduler see it: minimised.
  double loss_of(double value) const { return tuner::loss_of(options_.direction(), value); }

 private:
  struct ConfigRecord {
    Json config;
    bool model_based = false;
    int64_t last_trial = -1;
  };

  void open_journal();
  void replay(const std::vector<Json>& records);
  std::optional<Trial> next_trial();
  std::optional<int64_t> new_config(double budget);
  Trial start(Trial trial);
  /// Replays one journal record (`where`: its file and line, for messages).
  void replay_record(const Json& record, const std::string& where);
  void settle(int64_t trial_id, const Result& result, double finished_at);
  bool judge(const Trial& trial, double budget, double value);
  bool limits_reached() const;

  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Scheduler> scheduler_;
  StudyOptions options_;
  Rng rng_;
  std::unique_ptr<Journal> journal_;
  bool replaying_ = false;

  std::map<int64_t, TrialRecord> trials_;
  std::vector<ConfigRecord> configs_;
  std::deque<Trial> retries_;
  std::deque<Trial> resumed_;  // running when the journal ended; handed out again first
  int64_t next_trial_id_ = 0;
  int64_t started_ = 0;  // trials counted against max_trials
  double spent_ = 0.0;   // budget counted against max_total_budget
  int64_t running_ = 0;
  std::optional<int64_t> best_;  // id of the trial best() returns
};

/// Evaluates trials with `objective` on `workers` threads until the study is
/// finished. An exception thrown by the objective fails that trial with its
/// message; the study goes on.
void run(Study& study, const std::function<Result(const Trial&)>& objective, int workers = 1);

}  // namespace cohort::tuner
