#include "cohort/sweep/hparams_writer.h"

#include <algorithm>
#include <filesystem>

#include "cohort/core/run_layout.h"
#include "cohort/tensorboard/event_writer.h"

namespace cohort::sweep {
namespace fs = std::filesystem;
namespace {

using tensorboard::HParamInfo;

constexpr const char* kBudget = "budget";

bool has_hparams_file(const std::string& directory) {
  if (!fs::is_directory(directory)) return false;
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().extension() == kHParamsSuffix) return true;
  return false;
}

/// The type TensorBoard shows a discrete parameter's values as.
HParamInfo::Type value_type(const std::vector<Json>& values) {
  const auto all = [&](auto is) { return std::all_of(values.begin(), values.end(), is); };
  if (all([](const Json& v) { return v.is_number(); })) return HParamInfo::Type::kFloat;
  if (all([](const Json& v) { return v.is_boolean(); })) return HParamInfo::Type::kBool;
  return HParamInfo::Type::kString;
}

/// `value` as a hyperparameter of `type` holds it: strings keep their text,
/// anything else under a string type becomes its JSON text ([128, 64]).
Json as_type(const Json& value, HParamInfo::Type type) {
  if (type != HParamInfo::Type::kString || value.is_string()) return value;
  return value.dump();
}

HParamInfo hparam_info(const Parameter& parameter) {
  HParamInfo info;
  info.name = parameter.path;
  if (parameter.is_continuous() || parameter.kind == Parameter::Kind::kInt) {
    info.interval = std::make_pair(parameter.low, parameter.high);
    return info;
  }
  info.type = value_type(parameter.values);
  for (const auto& value : parameter.values) info.values.push_back(as_type(value, info.type));
  return info;
}

tensorboard::SessionStatus session_status(TrialState state) {
  switch (state) {
    case TrialState::kCompleted:
    case TrialState::kPruned: return tensorboard::SessionStatus::kSuccess;
    case TrialState::kFailed:
    case TrialState::kTimedOut: return tensorboard::SessionStatus::kFailure;
    default: return tensorboard::SessionStatus::kRunning;
  }
}

}  // namespace

tensorboard::HParamsExperiment hparams_experiment(const SearchSpace& space, double min_budget, double max_budget,
                                                  const std::string& metric_tag) {
  tensorboard::HParamsExperiment experiment;
  for (const auto& parameter : space.parameters()) experiment.hparams.push_back(hparam_info(parameter));
  HParamInfo budget;
  budget.name = kBudget;
  budget.interval = std::make_pair(min_budget, max_budget);
  experiment.hparams.push_back(budget);
  experiment.metrics.push_back(metric_tag);
  experiment.time_created = tensorboard::EventWriter::now();
  return experiment;
}

HParamsWriter::HParamsWriter(const SweepConfig& sweep)
    : sweep_(sweep),
      metric_tag_("objective/" + (sweep.objective.function.empty() ? sweep.objective.metric : sweep.objective.function)) {}

void HParamsWriter::write(const Study& study) {
  if (!experiment_written_ && !has_hparams_file(sweep_.output_dir)) {
    tensorboard::EventWriter writer(tensorboard::EventWriterOptions(sweep_.output_dir).filename_suffix(kHParamsSuffix));
    tensorboard::add_experiment(writer, hparams_experiment(sweep_.space, sweep_.min_budget, sweep_.max_budget, metric_tag_));
  }
  experiment_written_ = true;
  for (const auto& [id, record] : study.trials()) {
    if (record.state == TrialState::kRunning || record.state == TrialState::kPending || written_.count(id)) continue;
    written_.insert(id);
    if (!has_hparams_file(run_layout::trial_dir(sweep_.output_dir, id))) write_session(record);
  }
}

void HParamsWriter::write_session(const TrialRecord& record) const {
  Json hparams = Json::object();
  for (const auto& parameter : sweep_.space.parameters()) {
    const auto info = hparam_info(parameter);
    if (record.trial.config.contains(parameter.path))
      hparams[parameter.path] = as_type(record.trial.config.at(parameter.path), info.type);
  }
  hparams[kBudget] = record.trial.budget;
  tensorboard::EventWriter writer(tensorboard::EventWriterOptions(run_layout::trial_dir(sweep_.output_dir, record.trial.id))
                                      .filename_suffix(kHParamsSuffix));
  tensorboard::add_session_start(writer, hparams, record.submitted);
  if (record.value) writer.add_scalar(metric_tag_, *record.value, record.info.value("steps", int64_t(0)), record.finished);
  tensorboard::add_session_end(writer, session_status(record.state), record.finished);
}

}  // namespace cohort::sweep
