#include "sweep_monitor.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cohort::sweep::detail {
namespace {

struct Counts {
  int64_t completed = 0;  // completed or pruned
  int64_t failed = 0;     // failed or timed out
  int64_t running = 0;    // running or pending
  /// Trials counted against max_trials (first attempts) that have ended, and their budgets.
  int64_t counted_done = 0;
  double budget_done = 0.0;
};

Counts count(const Study& study) {
  Counts counts;
  for (const auto& [id, record] : study.trials()) {
    const bool running = record.state == TrialState::kRunning || record.state == TrialState::kPending;
    const bool completed = record.state == TrialState::kCompleted || record.state == TrialState::kPruned;
    counts.running += running;
    counts.completed += completed;
    counts.failed += !running && !completed;
    if (running || record.trial.attempt != 0) continue;
    ++counts.counted_done;
    counts.budget_done += record.trial.budget;
  }
  return counts;
}

/// How far the sweep is towards the first of max_trials and max_total_budget
/// it will reach (0 when it has neither).
double share_done(const Study& study, const Counts& counts) {
  const auto& options = study.options();
  double share = 0.0;
  if (options.max_trials() > 0) share = double(counts.counted_done) / double(options.max_trials());
  if (options.max_total_budget() > 0) share = std::max(share, counts.budget_done / options.max_total_budget());
  return std::min(share, 1.0);
}

/// "42s", "3m05s", "1h02m".
std::string format_duration(double seconds) {
  const auto s = int64_t(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace

SweepMonitor::SweepMonitor(const Study& study, const ExecutorOptions& options)
    : study_(study), options_(options), started_(wall_clock_seconds()), last_progress_(started_), last_outputs_(started_),
      share_at_start_(share_done(study, count(study))) {}

double SweepMonitor::elapsed() const { return wall_clock_seconds() - started_; }

void SweepMonitor::tick(int64_t results) {
  unwritten_ += results;
  const double t = wall_clock_seconds();
  if (t - last_progress_ >= options_.progress_every_s()) {
    log_progress();
    last_progress_ = t;
  }
  if (unwritten_ > 0 && t - last_outputs_ >= options_.outputs_every_s()) {
    write_outputs();
    last_outputs_ = wall_clock_seconds();
  }
}

bool SweepMonitor::time_is_up() {
  if (time_up_ || options_.time_limit_s() <= 0 || elapsed() < options_.time_limit_s()) return time_up_;
  time_up_ = true;
  spdlog::info("sweep: time_limit_s ({}) reached: no new trials; finishing the {} running", options_.time_limit_s(),
               study_.running());
  return true;
}

void SweepMonitor::log_progress() const {
  const auto counts = count(study_);
  const double seconds = elapsed();
  std::string best = "none yet";
  if (const auto record = study_.best())
    best = fmt::format("{:.6g} (trial {}, budget {:g})", *record->value, record->trial.id, record->trial.budget);
  // Time left: from this run's rate towards the limits, and the time limit.
  double left = -1;
  const double share = share_done(study_, counts);
  if (share > share_at_start_) left = seconds * (1.0 - share) / (share - share_at_start_);
  if (options_.time_limit_s() > 0) {
    const double limit_left = std::max(0.0, options_.time_limit_s() - seconds);
    left = left < 0 ? limit_left : std::min(left, limit_left);
  }
  spdlog::info("sweep: {} done, {} running, {} failed; best {}; {} elapsed, {}", counts.completed, counts.running,
               counts.failed, best, format_duration(seconds),
               left < 0 ? std::string("time left unknown") : "about " + format_duration(left) + " left");
}

void SweepMonitor::write_outputs() {
  unwritten_ = 0;
  if (options_.write_outputs()) options_.write_outputs()(study_);
}

SweepSummary SweepMonitor::finish() {
  write_outputs();
  log_progress();
  const auto counts = count(study_);
  SweepSummary summary;
  summary.trials = int64_t(study_.trials().size());
  summary.completed = counts.completed;
  summary.failed = counts.failed;
  summary.dispatched = dispatched_;
  summary.seconds = elapsed();
  summary.time_limit_reached = time_up_;
  summary.study_finished = study_.finished();
  return summary;
}

}  // namespace cohort::sweep::detail
