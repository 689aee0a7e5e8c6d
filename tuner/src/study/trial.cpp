#include "cohort/tuner/trial.h"

#include <cmath>

namespace cohort::tuner {
namespace {

constexpr TrialState kStates[] = {TrialState::kPending,   TrialState::kRunning,  TrialState::kCompleted,
                                  TrialState::kFailed,    TrialState::kTimedOut, TrialState::kPruned};

}  // namespace

const char* state_name(TrialState state) {
  switch (state) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kCompleted: return "completed";
    case TrialState::kFailed: return "failed";
    case TrialState::kTimedOut: return "timed_out";
    case TrialState::kPruned: return "pruned";
  }
  return "";
}

std::optional<TrialState> state_from_name(const std::string& name) {
  for (const TrialState state : kStates)
    if (name == state_name(state)) return state;
  return std::nullopt;
}

Json trial_to_json(const Trial& t) {
  return {{"id", t.id},           {"config_id", t.config_id}, {"budget", t.budget},
          {"bracket", t.bracket}, {"rung", t.rung},           {"attempt", t.attempt},
          {"model_based", t.model_based}, {"parent", t.parent}, {"config", t.config}};
}

Trial trial_from_json(const Json& json) {
  Trial t;
  t.id = json.at("id").get<int64_t>();
  t.config_id = json.at("config_id").get<int64_t>();
  t.budget = json.at("budget").get<double>();
  t.bracket = json.at("bracket").get<int>();
  t.rung = json.at("rung").get<int>();
  t.attempt = json.at("attempt").get<int>();
  t.model_based = json.at("model_based").get<bool>();
  t.parent = json.at("parent").get<int64_t>();
  t.config = json.at("config");
  return t;
}

Json result_to_json(const Result& result) {
  Json json = {{"state", state_name(result.state)}};
  if (result.state == TrialState::kCompleted || result.state == TrialState::kPruned)
    json["value"] = std::isfinite(result.value) ? Json(result.value) : Json();
  if (!result.error.empty()) json["error"] = result.error;
  if (!result.info.empty()) json["info"] = result.info;
  if (!result.retry) json["retry"] = false;
  return json;
}

Result result_from_json(const Json& json) {
  Result result;
  result.state = state_from_name(json.at("state").get<std::string>()).value_or(TrialState::kFailed);
  if (const auto value = json.find("value"); value != json.end())
    result.value = value->is_number() ? value->get<double>() : std::nan("");
  result.error = json.value("error", "");
  result.info = json.value("info", Json::object());
  result.retry = json.value("retry", true);
  return result;
}

}  // namespace cohort::tuner
