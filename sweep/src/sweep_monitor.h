#pragma once
// What the coordinator does besides handing out trials: a progress line every
// few seconds (done, running, failed, the best so far, elapsed time and an
// estimate of the time left), the outputs refreshed while results arrive,
// the time limit, and the summary at the end.

#include "cohort/tuner/study/study.h"
#include "cohort/sweep/executor.h"

namespace cohort::sweep::detail {
using namespace cohort::tuner;

class SweepMonitor {
 public:
  /// Starts the clocks. `study` must outlive the monitor.
  SweepMonitor(const Study& study, const ExecutorOptions& options);

  /// Call after every pass of the coordinator's loop; `results` is how many
  /// results arrived in it. Logs progress and writes the outputs when their
  /// intervals have passed, so it is cheap to call often.
  void tick(int64_t results = 0);
  /// Counts a trial handed out.
  void dispatched() { ++dispatched_; }
  /// Whether time_limit_s has passed since the monitor started (logged once).
  bool time_is_up();
  /// Writes the outputs a last time, logs the final progress line and returns the summary.
  SweepSummary finish();

 private:
  double elapsed() const;
  void log_progress() const;
  void write_outputs();

  const Study& study_;
  const ExecutorOptions& options_;
  double started_;
  double last_progress_;
  double last_outputs_;
  double share_at_start_;  // of max_trials / max_total_budget, done by earlier runs
  int64_t unwritten_ = 0;  // results since the outputs were last written
  int64_t dispatched_ = 0;
  bool time_up_ = false;
};

}  // namespace cohort::sweep::detail
