#pragma once
// Synchronous successive halving and Hyperband.
//
// A bracket starts n configurations at its first budget; when all of them
// have reported, the best floor(n / eta^i) go on to the next budget, and so
// on up to max_budget. Hyperband cycles through brackets s = s_max ... 0,
// trading many cheap starts for few expensive ones; successive halving runs
// bracket s_max only. While a bracket waits for its rung to fill, the next
// bracket already hands out work, so no worker sits idle.

#include <deque>
#include <memory>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/tuner/schedulers/budgets.h"
#include "cohort/tuner/schedulers/scheduler.h"

namespace cohort::tuner {

struct HyperbandOptions {
  COHORT_ARG(double, min_budget) = 1.0;
  COHORT_ARG(double, max_budget) = 81.0;
  COHORT_ARG(int64_t, eta) = 3;
  /// Stop after this many brackets (0 = keep opening brackets).
  COHORT_ARG(int64_t, max_brackets) = 0;
};

class HyperbandScheduler : public Scheduler {
 public:
  explicit HyperbandScheduler(HyperbandOptions options);
  ~HyperbandScheduler() override;

  std::optional<Slot> next(const NewConfig& new_config) override;
  void report(const Slot& slot, std::optional<double> loss) override;
  bool finished() const override;
  std::vector<int64_t> drain_pruned() override;

  const BudgetLadder& ladder() const { return ladder_; }

 protected:
  /// The bracket sizes s to cycle through, in order.
  HyperbandScheduler(HyperbandOptions options, std::vector<int> cycle);

 private:
  class Bracket;
  bool open_bracket();

  HyperbandOptions options_;
  BudgetLadder ladder_;
  std::vector<int> cycle_;
  std::vector<std::unique_ptr<Bracket>> brackets_;
  bool exhausted_ = false;  // the sampler has no more configurations
};

/// Successive halving: Hyperband's most aggressive bracket (s = s_max), repeated.
class SuccessiveHalvingScheduler : public HyperbandScheduler {
 public:
  explicit SuccessiveHalvingScheduler(HyperbandOptions options);
};

}  // namespace cohort::tuner
