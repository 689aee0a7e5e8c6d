#pragma once
// A sweep in TensorBoard's HParams tab: the experiment (the search space's
// parameters with their domains, the trial's budget, and the objective as the
// metric) in the sweep's output_dir, and each finished trial as a session in
// trials/<id>/ (its configuration and budget, its status, and the objective
// as the scalar "objective/<metric>"), beside the event files of the trial's
// own training. `tensorboard --logdir <output_dir>` then shows the table,
// parallel coordinates and scatter plots over every trial, and each trial's
// learning curves.
//
// These summaries go to files of their own (named *.hparams), written once per
// trial: a sweep's outputs are refreshed every few seconds, and a resumed
// sweep finds the sessions it already wrote.

#include <cstdint>
#include <set>
#include <string>

#include "cohort/tensorboard/hparams.h"
#include "cohort/tuner/study/study.h"
#include "cohort/sweep/sweep_config.h"

namespace cohort::sweep {

/// The suffix of the HParams plugin's event files.
inline constexpr const char* kHParamsSuffix = ".hparams";

/// The HParams experiment of a space: one hparam per parameter (floats with
/// their interval, discrete ones with their values; values that are neither
/// numbers nor booleans are shown as their JSON text), "budget" and the metric.
tensorboard::HParamsExperiment hparams_experiment(const SearchSpace& space, double min_budget, double max_budget,
                                                  const std::string& metric_tag);

class HParamsWriter {
 public:
  /// `sweep` must outlive this object.
  explicit HParamsWriter(const SweepConfig& sweep);

  /// Writes the experiment if not yet written, and a session for each
  /// finished trial that has none.
  void write(const Study& study);

  /// The tag of the objective's scalar, e.g. "objective/val_accuracy".
  const std::string& metric_tag() const { return metric_tag_; }

 private:
  void write_session(const TrialRecord& record) const;

  const SweepConfig& sweep_;
  std::string metric_tag_;
  bool experiment_written_ = false;
  std::set<int64_t> written_;
};

}  // namespace cohort::sweep
