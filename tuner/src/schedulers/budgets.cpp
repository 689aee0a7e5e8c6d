#include "cohort/tuner/schedulers/budgets.h"

#include <cmath>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::tuner {
namespace {

int64_t power(int64_t base, int exponent) {
  int64_t result = 1;
  for (int i = 0; i < exponent; ++i) result *= base;
  return result;
}

}  // namespace

BudgetLadder::BudgetLadder(double min_budget, double max_budget, int64_t eta) : eta_(eta) {
  if (!(min_budget > 0) || !(max_budget >= min_budget) || !std::isfinite(max_budget))
    throw InputError(fmt::format("budget: need 0 < min ({}) <= max ({}).", min_budget, max_budget));
  if (eta < 2) throw InputError(fmt::format("budget: eta must be at least 2, not {}.", eta));
  // A relative tolerance keeps 0.1 * 3^3 <= 2.7 true despite rounding, and an
  // integer exponent keeps 3^5 <= 243 exact.
  double next = min_budget * double(eta);
  while (next <= max_budget * (1 + 1e-9) && s_max_ < 62) {
    ++s_max_;
    next *= double(eta);
  }
  for (int i = 0; i <= s_max_; ++i) budgets_.push_back(max_budget / double(power(eta, s_max_ - i)));
}

std::vector<RungPlan> hyperband_bracket(const BudgetLadder& ladder, int s) {
  const int s_max = ladder.s_max();
  const int64_t eta = ladder.eta();
  if (s < 0 || s > s_max) throw std::out_of_range(fmt::format("no Hyperband bracket {} (s_max is {})", s, s_max));
  // ceil((s_max + 1) * eta^s / (s + 1)) in integers.
  const int64_t n = ((s_max + 1) * power(eta, s) + s) / (s + 1);
  std::vector<RungPlan> plan;
  for (int i = 0; i <= s; ++i) plan.push_back({n / power(eta, i), ladder.budgets()[s_max - s + i]});
  return plan;
}

}  // namespace cohort::tuner
