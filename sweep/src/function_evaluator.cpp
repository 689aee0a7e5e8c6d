#include "cohort/sweep/function_evaluator.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "function_objective.h"

namespace cohort::sweep {
namespace {

/// A number in [0, 1) fixed by `text` and `salt` (FNV-1a, then the top 53
/// bits): the same configuration always fails, or takes as long, on every run,
/// so sweeps that use these settings stay reproducible.
double unit_hash(const std::string& text, uint64_t salt) {
  uint64_t hash = 0xcbf29ce484222325ULL ^ salt;
  for (const unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  hash ^= hash >> 29;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 32;
  return double(hash >> 11) * 0x1.0p-53;
}

class FunctionEvaluator : public Evaluator {
 public:
  explicit FunctionEvaluator(const ObjectiveSpec& objective)
      : function_(function_objective(objective)),
        sleep_s_(objective.settings.value("sleep_s", 0.0)),
        uneven_(objective.settings.value("uneven", false)),
        fail_fraction_(objective.settings.value("fail_fraction", 0.0)) {}

  Result evaluate(const Trial& trial, const TrialContext& context) override {
    // The function runs on the leader; the group's other ranks have nothing to do.
    if (context.group && context.group->rank() != 0) return Result::completed(0.0);
    try {
      const auto text = trial.config.dump();
      if (unit_hash(text, 1) < fail_fraction_)
        return Result::failed(fmt::format("{} fails for this configuration (objective.fail_fraction)", function_.name));
      if (!wait(duration(text, trial.budget), context.deadline)) return Result::timed_out("trial_timeout_s passed");
      return Result::completed(function_.evaluate(trial.config, trial.budget));
    } catch (const std::exception& error) {
      return Result::failed(error.what());
    }
  }

 private:
  double duration(const std::string& text, double budget) const {
    const double factor = uneven_ ? 0.25 + 1.5 * unit_hash(text + Json(budget).dump(), 2) : 1.0;
    return sleep_s_ * budget * factor;
  }

  /// Sleeps `seconds`, or until `deadline` (0 = none) if that comes first;
  /// false when the deadline cut it short.
  static bool wait(double seconds, double deadline) {
    if (seconds <= 0) return true;
    const double until = wall_clock_seconds() + seconds;
    const bool cut = deadline > 0 && deadline < until;
    const double end = cut ? deadline : until;
    const double left = end - wall_clock_seconds();
    if (left > 0) std::this_thread::sleep_for(std::chrono::duration<double>(left));
    return !cut;
  }

  TestObjective function_;
  double sleep_s_;
  bool uneven_;
  double fail_fraction_;
};

}  // namespace

TestObjective function_objective(const ObjectiveSpec& objective) {
  if (objective.function == "branin") return branin();
  if (objective.function == "hartmann6") return hartmann6();
  if (objective.function == "counting_ones")
    return counting_ones(objective.settings.value("categorical", 8), objective.settings.value("continuous", 8));
  throw InputError(fmt::format("objective.function: no test function is called \"{}\" (there are \"branin\", "
                               "\"hartmann6\" and \"counting_ones\").", objective.function));
}

std::unique_ptr<Evaluator> make_function_evaluator(const ObjectiveSpec& objective) {
  return std::make_unique<FunctionEvaluator>(objective);
}

}  // namespace cohort::sweep
