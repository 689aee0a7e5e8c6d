#pragma once
// report.html: one self-contained page a person opens after (or during) a
// sweep: the best result against time and against budget, every trial's
// learning curve, and a parallel-coordinates view of the configurations.
// Chart.js is inlined, so the page opens offline.

#include <optional>
#include <string>
#include <vector>

#include "cohort/tuner/study/study.h"
#include "cohort/tuner/trial.h"

namespace cohort::tuner::report {

/// One trial as the report shows it.
struct ReportTrial {
  TrialRecord record;
  /// The trial's learning curve: its metrics records in order (one JSON
  /// object per epoch, as cohort-train writes them to metrics.jsonl), or empty.
  std::vector<Json> curve;
};

struct ReportInput {
  std::string title;                 // e.g. the sweep config's file name
  /// The metric's name, e.g. "validation.accuracy"; the learning curves show
  /// it where the metrics records have it (as a key, a dotted path, or the
  /// trainer's flat name "val_accuracy"), else the training loss.
  std::string objective;
  Direction direction = Direction::kMinimize;
  /// The search space (for the axes of the parallel-coordinates view).
  const SearchSpace* space = nullptr;
  std::vector<ReportTrial> trials;   // by id
  /// Seconds since the epoch when the sweep began; 0 = when its first trial
  /// was handed out.
  double started = 0.0;
};

/// Writes the report to `path` atomically (a reader never sees half a page),
/// so it can be rewritten while a sweep runs. What the page shows, and how to
/// read it: docs/sweeps.md. Throws cohort::InputError naming the file
/// when it cannot be written.
void write_report(const std::string& path, const ReportInput& input);

/// The input for `study`'s report: every trial, its learning curve read from
/// `trials_dir`/<trial id>/metrics.jsonl (cohort-tune's layout; "" = no
/// curves), the study's space and direction. `input.space` points into
/// `study`, which must outlive the result.
ReportInput report_input(const Study& study, std::string title, std::string objective, const std::string& trials_dir);

/// Reads a metrics.jsonl file into the records a curve needs; a missing file
/// gives an empty curve, a torn last line is skipped.
std::vector<Json> read_curve(const std::string& metrics_path);

}  // namespace cohort::tuner::report
