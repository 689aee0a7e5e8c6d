#include "data.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace cohort::tuner::report {
namespace {

using Ranking = std::vector<const ReportTrial*>;

/// Every trial, best first by beats() (Study::best()'s rule, so that the
/// page's best is best.json's); those without a value last, by id.
Ranking ranking(const ReportInput& input) {
  Ranking ranked;
  for (const auto& t : input.trials) ranked.push_back(&t);
  std::stable_sort(ranked.begin(), ranked.end(), [&](const ReportTrial* x, const ReportTrial* y) {
    const auto &a = x->record, &b = y->record;
    if (a.value.has_value() != b.value.has_value()) return a.value.has_value();
    return a.value ? beats(input.direction, a, b) : a.trial.id < b.trial.id;
  });
  return ranked;
}

bool is_finished(const TrialRecord& record) {
  return record.state != TrialState::kRunning && record.state != TrialState::kPending && record.finished > 0;
}

/// When the sweep began: as given, else when its first trial was handed out.
double start_of(const ReportInput& input) {
  if (input.started > 0 || input.trials.empty()) return input.started;
  double start = input.trials.front().record.submitted;
  for (const auto& t : input.trials) start = std::min(start, t.record.submitted);
  return start;
}

double wall_seconds(const ReportInput& input, double start) {
  double last = start;
  for (const auto& t : input.trials) last = std::max({last, t.record.submitted, t.record.finished});
  return last - start;
}

Json counts_json(const ReportInput& input) {
  std::map<std::string, int> counts;
  for (auto state : {TrialState::kCompleted, TrialState::kPruned, TrialState::kFailed, TrialState::kTimedOut,
                     TrialState::kRunning, TrialState::kPending})
    counts[state_name(state)] = 0;
  for (const auto& t : input.trials) ++counts[state_name(t.record.state)];
  return counts;
}

Json best_json(const Ranking& ranked) {
  if (ranked.empty() || !ranked.front()->record.value) return nullptr;
  const auto& best = ranked.front()->record;
  return {{"trial_id", best.trial.id}, {"config_id", best.trial.config_id}, {"budget", best.trial.budget},
          {"value", *best.value},      {"config", best.trial.config}};
}

/// Finished trials in the order they finished, each with the seconds since
/// the start, the budget spent by then (every finished trial's budget, as
/// max_total_budget counts it) and the best value by then.
Json progress_json(const ReportInput& input, double start) {
  std::vector<const TrialRecord*> finished;
  for (const auto& t : input.trials)
    if (is_finished(t.record)) finished.push_back(&t.record);
  std::stable_sort(finished.begin(), finished.end(),
                   [](const TrialRecord* a, const TrialRecord* b) { return a->finished < b->finished; });
  Json progress = Json::array();
  double spent = 0.0;
  const TrialRecord* best = nullptr;
  for (const auto* record : finished) {
    spent += record->trial.budget;
    if (record->value && (!best || beats(input.direction, *record, *best))) best = record;
    progress.push_back({{"trial_id", record->trial.id},
                        {"seconds", record->finished - start},
                        {"spent", spent},
                        {"value", record->value ? Json(*record->value) : Json()},
                        {"best", best ? Json(*best->value) : Json()}});
  }
  return progress;
}

/// The objective where the curves have it, else the training loss.
std::string curve_metric(const ReportInput& input) {
  for (const auto& t : input.trials)
    for (const auto& record : t.curve)
      if (metric_value(record, input.objective)) return input.objective;
  return "train_loss";
}

/// [[epoch, value], ...]. A record for an epoch already seen (training
/// resumed from an earlier checkpoint ran it again) replaces the earlier ones.
Json curve_points(const std::vector<Json>& curve, const std::string& metric) {
  Json points = Json::array();
  for (size_t i = 0; i < curve.size(); ++i) {
    const auto y = metric_value(curve[i], metric);
    if (!y) continue;
    const auto epoch = curve[i].find("epoch");
    const double x = epoch != curve[i].end() && epoch->is_number() ? epoch->get<double>() : double(i + 1);
    while (!points.empty() && points.back()[0].get<double>() >= x) points.erase(points.size() - 1);
    points.push_back({x, *y});
  }
  return points;
}

/// Where a value sits on its parameter's axis, in [0, 1]: the prior's unit
/// scale for numbers (logarithmic for log parameters), evenly spaced levels
/// otherwise. null for a value the space does not have (a configuration
/// from before the space was changed).
Json axis_position(const Parameter& p, const Json& value) {
  try {
    if (p.kind == Parameter::Kind::kFixed) return 0.5;
    if (p.is_continuous() || p.kind == Parameter::Kind::kInt) {
      const double unit = p.to_unit(value);
      if (!std::isfinite(unit)) return 0.5;  // low == high
      return unit >= -1e-9 && unit <= 1.0 + 1e-9 ? Json(std::clamp(unit, 0.0, 1.0)) : Json();
    }
    const size_t levels = p.levels();
    return levels < 2 ? 0.5 : double(p.index_of(value)) / double(levels - 1);
  } catch (const std::exception&) {
    return nullptr;
  }
}

/// Labelled positions on a parameter's axis: its ends and middle for numbers,
/// its values (at most about 20) otherwise.
Json parameter_ticks(const Parameter& p) {
  std::vector<Json> values;
  if (p.is_continuous() || p.kind == Parameter::Kind::kInt) {
    for (double unit : {0.0, 0.5, 1.0}) values.push_back(p.from_unit(unit));
  } else {
    const size_t step = std::max<size_t>(1, (p.levels() + 19) / 20);
    for (size_t i = 0; i < p.levels(); i += step) values.push_back(p.level(i));
  }
  values.erase(std::unique(values.begin(), values.end()), values.end());
  Json ticks = Json::array();
  for (const auto& value : values) ticks.push_back({{"at", axis_position(p, value)}, {"value", value}});
  return ticks;
}

/// Each configuration's trial at its largest completed budget (the latest
/// of equals), by configuration id.
std::vector<const TrialRecord*> largest_budget_trials(const ReportInput& input) {
  std::map<int64_t, const TrialRecord*> chosen;
  for (const auto& t : input.trials) {
    if (!t.record.value) continue;
    auto& slot = chosen[t.record.trial.config_id];
    if (!slot || t.record.trial.budget >= slot->trial.budget) slot = &t.record;
  }
  std::vector<const TrialRecord*> trials;
  for (const auto& [id, record] : chosen) trials.push_back(record);
  return trials;
}

/// Axes (one per parameter, then the objective, each with labelled ticks) and
/// one line per configuration: its positions on the axes, all in [0, 1].
Json parallel_json(const ReportInput& input) {
  Json axes = Json::array();
  if (input.space)
    for (const auto& p : input.space->parameters()) {
      const bool log = p.kind == Parameter::Kind::kLogUniform || (p.kind == Parameter::Kind::kInt && p.log);
      axes.push_back({{"label", p.path + (log ? " (log)" : "")}, {"ticks", parameter_ticks(p)}});
    }
  const auto trials = largest_budget_trials(input);
  double low = 0.0, high = 0.0;
  for (size_t i = 0; i < trials.size(); ++i) {
    low = i ? std::min(low, *trials[i]->value) : *trials[i]->value;
    high = i ? std::max(high, *trials[i]->value) : *trials[i]->value;
  }
  const auto scaled = [&](double value) { return high > low ? (value - low) / (high - low) : 0.5; };
  Json objective_ticks = Json::array();
  for (double value : {low, 0.5 * (low + high), high})
    if (objective_ticks.empty() || high > low) objective_ticks.push_back({{"at", scaled(value)}, {"value", value}});
  axes.push_back({{"label", input.objective}, {"ticks", trials.empty() ? Json::array() : objective_ticks}});

  Json lines = Json::array();
  for (const auto* record : trials) {
    Json at = Json::array();
    if (input.space)
      for (const auto& p : input.space->parameters())
        at.push_back(axis_position(p, record->trial.config.is_object() ? record->trial.config.value(p.path, Json())
                                                                       : Json()));
    at.push_back(scaled(*record->value));
    lines.push_back({{"trial_id", record->trial.id}, {"value", *record->value}, {"at", at}});
  }
  return {{"axes", axes}, {"lines", lines}};
}

Json trial_json(const TrialRecord& record, double start) {
  const auto& t = record.trial;
  return {{"id", t.id},
          {"config_id", t.config_id},
          {"budget", t.budget},
          {"bracket", t.bracket},
          {"rung", t.rung},
          {"attempt", t.attempt},
          {"state", state_name(record.state)},
          {"value", record.value ? Json(*record.value) : Json()},
          {"seconds", record.finished > 0 ? Json(record.finished - record.submitted) : Json()},
          {"finished_at", is_finished(record) ? Json(record.finished - start) : Json()},
          {"error", record.error},
          {"config", t.config}};
}

/// Every trial, by id, with the learning curves of the best kMaxCurves.
Json trials_json(const ReportInput& input, const Ranking& ranked, const std::string& metric, double start) {
  std::map<int64_t, Json> curves;
  for (const auto* trial : ranked) {
    if (curves.size() == kMaxCurves) break;
    auto points = curve_points(trial->curve, metric);
    if (!points.empty()) curves[trial->record.trial.id] = std::move(points);
  }
  Json trials = Json::array();
  for (const auto& t : input.trials) {
    auto entry = trial_json(t.record, start);
    const auto curve = curves.find(t.record.trial.id);
    entry["curve"] = curve == curves.end() ? Json::array() : curve->second;
    trials.push_back(std::move(entry));
  }
  return trials;
}

/// "validation.accuracy" -> "val_accuracy", "train.loss" -> "train_loss".
std::string trainer_name(std::string metric) {
  if (metric.rfind("validation.", 0) == 0) metric.replace(0, 10, "val");
  std::replace(metric.begin(), metric.end(), '.', '_');
  return metric;
}

}  // namespace

std::optional<double> metric_value(const Json& record, const std::string& metric) {
  const auto number = [](const Json* value) -> std::optional<double> {
    if (value && value->is_number()) return value->get<double>();
    return std::nullopt;
  };
  if (!record.is_object()) return std::nullopt;
  if (auto direct = number(record.contains(metric) ? &record.at(metric) : nullptr)) return direct;
  const Json* node = &record;
  for (size_t begin = 0; node && begin <= metric.size();) {
    const size_t end = std::min(metric.find('.', begin), metric.size());
    const auto key = metric.substr(begin, end - begin);
    node = node->is_object() && node->contains(key) ? &node->at(key) : nullptr;
    begin = end + 1;
  }
  if (auto nested = number(node)) return nested;
  const auto flat = trainer_name(metric);
  return number(record.contains(flat) ? &record.at(flat) : nullptr);
}

Json report_data(const ReportInput& input) {
  const double start = start_of(input);
  const auto ranked = ranking(input);
  const auto metric = curve_metric(input);
  size_t with_curves = 0;
  for (const auto& t : input.trials) with_curves += curve_points(t.curve, metric).empty() ? 0 : 1;
  return {{"title", input.title},
          {"objective", input.objective},
          {"direction", input.direction == Direction::kMinimize ? "minimize" : "maximize"},
          {"counts", counts_json(input)},
          {"wall_seconds", wall_seconds(input, start)},
          {"best", best_json(ranked)},
          {"progress", progress_json(input, start)},
          {"curve_metric", metric},
          {"curves_total", with_curves},
          {"parallel", parallel_json(input)},
          {"trials", trials_json(input, ranked, metric, start)}};
}

}  // namespace cohort::tuner::report
