#pragma once
// Shows how an epoch is going: a redrawn bar on a terminal, plain log lines
// every few steps elsewhere (files, CI logs), or nothing.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "cohort/task/task.h"
#include "cohort/trainer/stats.h"

namespace cohort::trainer {

enum class ProgressStyle { kAuto, kBar, kLog, kNone };

class Progress {
 public:
  /// kAuto picks kBar when stderr is a terminal and kLog otherwise.
  /// Log lines (kLog) go to `logger`; null = spdlog's default logger.
  Progress(ProgressStyle style, int64_t log_every, std::shared_ptr<spdlog::logger> logger = nullptr);

  /// Begins a pass of `total_steps` steps, named e.g. "epoch 3/10".
  void start(const std::string& label, int64_t total_steps);
  /// Reports `steps_done` steps of the pass and its statistics so far. Cheap
  /// when nothing is due to be shown: it runs after every training step.
  void update(int64_t steps_done, const Stats& stats, const task::Task& task);
  /// Ends the pass (clears the bar's line).
  void finish();

  ProgressStyle style() const { return style_; }

 private:
  /// "loss .. accuracy .. N samples/s" for the pass so far.
  std::string summary(const Stats& stats, const task::Task& task) const;

  ProgressStyle style_;
  int64_t log_every_;
  std::shared_ptr<spdlog::logger> log_;
  std::string label_;
  int64_t total_steps_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace cohort::trainer
