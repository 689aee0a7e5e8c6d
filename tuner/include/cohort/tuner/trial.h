#pragma once
// Trials and their results: the units a study hands out and hears back about.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cohort::tuner {

using Json = nlohmann::json;

enum class TrialState { kPending, kRunning, kCompleted, kFailed, kTimedOut, kPruned };

/// "pending", "running", "completed", "failed", "timed_out", "pruned".
const char* state_name(TrialState state);
/// The inverse of state_name(); std::nullopt for an unknown name.
std::optional<TrialState> state_from_name(const std::string& name);

/// One evaluation of one configuration at one budget.
struct Trial {
  int64_t id = 0;           // unique in the study, never reused
  int64_t config_id = 0;    // the configuration; promotions keep it
  double budget = 0.0;      // e.g. epochs
  Json config;              // flat: {"optimizer.lr": 0.01, ...}
  int bracket = 0;          // Hyperband/BOHB bracket index (0 for others)
  int rung = 0;             // rung within the bracket (0 = first budget)
  int attempt = 0;          // 0 for the first try, 1.. for retries after failures
  bool model_based = false; // proposed by the sampler's model rather than at random
  /// The trial with the same configuration at the previous rung, whose
  /// checkpoint a promoted trial may continue from (-1 for none).
  int64_t parent = -1;
};

/// What an evaluation reports.
struct Result {
  TrialState state = TrialState::kCompleted;  // kCompleted, kFailed, kTimedOut or kPruned
  /// The objective, in its own direction; for kPruned the last intermediate
  /// value, at info["pruned_at_budget"].
  double value = 0.0;
  std::string error;                          // why it failed
  Json info = Json::object();                 // anything else worth keeping
  /// Whether trying a failed trial again could end otherwise. False for a
  /// failure that would repeat (a loss that diverges under the trial's fixed
  /// seed, a configuration the job refuses): the study then does not spend
  /// max_failures more runs on it.
  bool retry = true;

  static Result completed(double value, Json info = Json::object()) {
    return Result{TrialState::kCompleted, value, "", std::move(info)};
  }
  static Result failed(std::string error, bool retry = true) {
    return Result{TrialState::kFailed, 0.0, std::move(error), Json::object(), retry};
  }
  /// Stopped by the scheduler (Scheduler::should_stop) after reporting
  /// `value` at `budget`, less than the trial's own.
  static Result pruned(double value, double budget, Json info = Json::object()) {
    info["pruned_at_budget"] = budget;
    return Result{TrialState::kPruned, value, "", std::move(info)};
  }
  static Result timed_out(std::string error = "timed out") {
    return Result{TrialState::kTimedOut, 0.0, std::move(error), Json::object()};
  }
};

/// A trial as JSON, for the journal and for messages between ranks, and back.
Json trial_to_json(const Trial& trial);
Trial trial_from_json(const Json& json);

/// A result as JSON, for the journal and for messages between ranks: "state",
/// then "value" for a completed trial (null when it is not finite: JSON has
/// no NaN), and "error", "info" and "retry" where they say something.
Json result_to_json(const Result& result);
/// The inverse of result_to_json(); a null value comes back as NaN, which a
/// study counts as a failure.
Result result_from_json(const Json& json);

/// A trial and everything known about it so far.
struct TrialRecord {
  Trial trial;
  TrialState state = TrialState::kRunning;
  std::optional<double> value;  // set when completed
  std::string error;
  Json info = Json::object();
  double submitted = 0.0;  // seconds since the epoch
  double finished = 0.0;
};

}  // namespace cohort::tuner
