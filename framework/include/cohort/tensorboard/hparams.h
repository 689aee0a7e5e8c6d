#pragma once
// The HParams plugin's summaries: an experiment (its hyperparameters with
// their domains, and the metrics to show) written once at the top of a log
// directory, and one session per trial (its hyperparameter values at the
// start, its status at the end) in the trial's own directory. TensorBoard's
// HParams tab joins them into a table, parallel coordinates and scatter plots,
// reading each session's metrics from the scalars of the same tags in its
// directory.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::tensorboard {

class EventWriter;

/// One hyperparameter and its domain.
struct HParamInfo {
  enum class Type { kFloat, kString, kBool };
  std::string name;
  Type type = Type::kFloat;
  /// A float's range, or the values a discrete one takes (neither: unknown).
  std::optional<std::pair<double, double>> interval;
  std::vector<nlohmann::json> values;
};

struct HParamsExperiment {
  std::vector<HParamInfo> hparams;
  /// Tags of the scalars to show per session, e.g. "sweep/val_loss".
  std::vector<std::string> metrics;
  double time_created = 0.0;
};

enum class SessionStatus { kUnknown = 0, kSuccess = 1, kFailure = 2, kRunning = 3 };

void add_experiment(EventWriter& writer, const HParamsExperiment& experiment);
/// `hparams`: a flat object from names to numbers, strings or booleans (other
/// values are written as their JSON text).
void add_session_start(EventWriter& writer, const nlohmann::json& hparams, double start_time);
void add_session_end(EventWriter& writer, SessionStatus status, double end_time);

}  // namespace cohort::tensorboard
