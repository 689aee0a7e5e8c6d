#include "cohort/tuner/test_functions/multi_fidelity.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common.h"

namespace cohort::tuner {
namespace {

constexpr double kMinBudget = 1.0, kMaxBudget = 243.0;
constexpr double kBraninNoise = 2.0, kHartmannNoise = 0.1;

/// The error 1 - z at `budget`, refusing a budget that is not finite.
double error_at(double budget, const std::string& name) {
  if (!std::isfinite(budget)) throw std::invalid_argument(fmt::format("{}: the budget must be finite", name));
  return 1.0 - fidelity(budget, kMinBudget, kMaxBudget);
}

/// Gaussian noise of standard deviation `scale`, seeded by the evaluation (none when scale is 0).
double noise(const Json& config, double budget, double scale) {
  if (scale == 0.0) return 0.0;  // the full budget is exact, and costs no draw
  Rng rng(detail::evaluation_seed(config, budget));
  return scale * rng.normal();
}

}  // namespace

double fidelity(double budget, double min_budget, double max_budget) {
  if (max_budget <= min_budget) return 1.0;
  return std::clamp(std::log(budget / min_budget) / std::log(max_budget / min_budget), 0.0, 1.0);
}

TestObjective branin_multi_fidelity() {
  TestObjective objective = branin();
  objective.name = "branin_mf";
  objective.evaluate = [name = objective.name](const Json& config, double budget) {
    const double e = error_at(budget, name);
    detail::BraninConstants constants;
    constants.b -= 0.05 * e;
    constants.c -= 0.5 * e;
    constants.t += 0.05 * e;
    const double x1 = detail::number_at(config, "x1", name), x2 = detail::number_at(config, "x2", name);
    return detail::branin_value(x1, x2, constants) + noise(config, budget, kBraninNoise * e);
  };
  return objective;
}

TestObjective hartmann6_multi_fidelity() {
  TestObjective objective = hartmann6();
  objective.name = "hartmann6_mf";
  objective.evaluate = [name = objective.name](const Json& config, double budget) {
    const double e = error_at(budget, name);
    const std::array<double, 4> alpha = {1.0 + 0.5 * e, 1.2 + 0.5 * e, 3.0 - 0.8 * e, 3.2 + 0.5 * e};
    return detail::hartmann6_value(detail::hartmann6_point(config, name), alpha) +
           noise(config, budget, kHartmannNoise * e);
  };
  return objective;
}

}  // namespace cohort::tuner
