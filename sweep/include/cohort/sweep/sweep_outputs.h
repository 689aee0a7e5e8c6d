#pragma once
// Everything a sweep leaves in its output_dir besides the journal and the
// trials' own directories: results.csv, configs.json and results.json
// (write_outputs), best.json with the complete training config that
// reproduces the best trial, report.html, and the HParams plugin's event
// files (hparams_writer.h) unless the base training config turns
// logging.tensorboard off.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cohort/tuner/study/study.h"
#include "cohort/sweep/hparams_writer.h"
#include "cohort/sweep/sweep_config.h"

namespace cohort::sweep {

class SweepOutputs {
 public:
  /// `sweep` must outlive this object. The report's time axis starts now, or
  /// at the study's first trial when that came earlier (a resumed sweep).
  explicit SweepOutputs(const SweepConfig& sweep);

  /// Writes every output from the study's current state, each file
  /// atomically. Cheap enough to call every few seconds: a finished trial's
  /// learning curve (trials/<id>/metrics.jsonl) is read once and kept.
  void write(const Study& study);

 private:
  /// The metric, or the test function, the sweep optimises.
  std::string objective_name() const;
  void write_best(const Study& study) const;
  void write_report(const Study& study);

  const SweepConfig& sweep_;
  double started_;
  std::map<int64_t, std::vector<Json>> finished_curves_;
  std::optional<HParamsWriter> hparams_;
};

}  // namespace cohort::sweep
