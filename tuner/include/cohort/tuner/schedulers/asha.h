#pragma once
// ASHA, asynchronous successive halving (Li et al., 2020): rungs at the
// budgets of the ladder; whenever a worker asks, the highest rung that has a
// configuration in its top 1/eta not yet promoted promotes it, and otherwise a
// new configuration starts at the lowest budget. Nobody waits for a rung to fill.

#include <cstddef>
#include <set>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/tuner/schedulers/budgets.h"
#include "cohort/tuner/schedulers/scheduler.h"

namespace cohort::tuner {

struct AshaOptions {
  COHORT_ARG(double, min_budget) = 1.0;
  COHORT_ARG(double, max_budget) = 81.0;
  COHORT_ARG(int64_t, eta) = 3;
  /// A rung promotes at most floor(completed / eta) configurations in all, as
  /// synchronous successive halving would. Published ASHA (false) promotes any
  /// configuration that reaches its rung's top 1/eta: with a sampler whose
  /// proposals improve over time (a model), most newcomers do, so the top
  /// rungs fill with near-copies and take the budget. With the quota the best
  /// unpromoted configuration still goes first; it waits for its rung to grow
  /// instead, and each rung's budget stays that of successive halving.
  COHORT_ARG(bool, promotion_quota) = true;
};

class AshaScheduler : public Scheduler {
 public:
  explicit AshaScheduler(AshaOptions options);

  std::optional<Slot> next(const NewConfig& new_config) override;
  void report(const Slot& slot, std::optional<double> loss) override;
  /// ASHA ends only when the sampler runs out and nothing is left to promote.
  bool finished() const override;

  const BudgetLadder& ladder() const { return ladder_; }

 private:
  struct Rung {
    struct Entry {
      double loss;
      int64_t order;
      int64_t config;
    };
    std::vector<Entry> completed;  // sorted by (loss, order)
    std::set<int64_t> promoted;
    /// Index in `completed` of the best entry not yet promoted: its rank, so
    /// it is promotable exactly when it lies in the top 1/eta. Keeping it
    /// makes each ask O(rungs) instead of a scan of every rung's top.
    size_t first_unpromoted = 0;
  };
  std::optional<int64_t> promotable(int rung) const;

  AshaOptions options_;
  BudgetLadder ladder_;
  std::vector<Rung> rungs_;
  int64_t order_ = 0;
  int64_t outstanding_ = 0;
  bool exhausted_ = false;
};

}  // namespace cohort::tuner
