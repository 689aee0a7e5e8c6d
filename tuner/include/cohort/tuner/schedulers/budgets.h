#pragma once
// Budget arithmetic of successive halving and Hyperband, done in integers
// where it matters: log_eta(max/min) computed by repeated multiplication, not
// by floating-point logarithms that truncate log3(243) = 4.9999... to 4.

#include <cstdint>
#include <vector>

namespace cohort::tuner {

/// The budgets min_budget <= b_0 < b_1 < ... < b_s_max = max_budget, each eta
/// times the one before: b_i = max_budget / eta^(s_max - i).
class BudgetLadder {
 public:
  /// Throws cohort::InputError unless 0 < min_budget <= max_budget and eta >= 2.
  BudgetLadder(double min_budget, double max_budget, int64_t eta);

  /// The largest s with min_budget * eta^s <= max_budget.
  int s_max() const { return s_max_; }
  int64_t eta() const { return eta_; }
  /// s_max + 1 budgets, ascending; e.g. min 1, max 243, eta 3: 1, 3, 9, 27, 81, 243.
  const std::vector<double>& budgets() const { return budgets_; }

 private:
  int64_t eta_;
  int s_max_ = 0;
  std::vector<double> budgets_;
};

/// One rung of a bracket: how many configurations run, at which budget.
struct RungPlan {
  int64_t configs = 0;
  double budget = 0.0;
};

/// Hyperband's bracket s (0 <= s <= s_max): n = ceil((s_max + 1) / (s + 1) * eta^s)
/// configurations at budget b_(s_max - s), the best floor(n / eta^i) of them
/// going on to rung i, up to max_budget. Bracket s_max alone is successive halving.
std::vector<RungPlan> hyperband_bracket(const BudgetLadder& ladder, int s);

}  // namespace cohort::tuner
