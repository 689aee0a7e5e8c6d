#pragma once
// ASHA, asynchronous successive halving (Li et al., 2020): rungs at the
// budgets of the ladder; whenever a worker asks, the highest rung that has a
// configuration in its top 1/eta not yet promoted promotes it, and otherwise a
// new configuration starts at the lowest budget. Nobody waits for a rung to fill.
//
// With several brackets it is asynchronous Hyperband (the same paper, §3):
// bracket k starts its configurations at rung k (budget b_k) instead of the
// lowest, and promotes within itself exactly as one-bracket ASHA does. Brackets
// that start higher let configurations reach max_budget without passing the
// cheapest, most biased budgets.

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
  /// How many brackets, starting at rungs 0 .. brackets - 1: 1 is plain ASHA,
  /// 0 means all of them (s_max + 1, asynchronous Hyperband). A new
  /// configuration goes to the bracket furthest behind its share, the shares
  /// being Hyperband's bracket sizes, so each bracket spends about the same
  /// budget as in synchronous Hyperband (AshaScheduler::bracket_weights()).
  COHORT_ARG(int64_t, brackets) = 1;
};

class AshaScheduler : public Scheduler {
 public:
  /// Throws cohort::InputError when `brackets` is negative or exceeds the
  /// ladder's s_max + 1 (there is no rung to start the extra ones at).
  explicit AshaScheduler(AshaOptions options);

  std::optional<Slot> next(const NewConfig& new_config) override;
  void report(const Slot& slot, std::optional<double> loss) override;
  /// ASHA ends only when the sampler runs out and nothing is left to promote.
  bool finished() const override;

  const BudgetLadder& ladder() const { return ladder_; }
  /// Each bracket's share of the new configurations, by bracket (= its first
  /// rung): Hyperband's number of configurations for the bracket that starts
  /// at the same budget. In every run of sum(weights) new configurations,
  /// bracket k receives exactly weights[k].
  std::vector<int64_t> bracket_weights() const;

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
  /// One ASHA bracket: the rungs of the whole ladder (those below its first
  /// rung stay empty) and how many configurations it has started.
  struct Bracket {
    int first_rung = 0;
    int64_t weight = 1;
    int64_t started = 0;
    std::vector<Rung> rungs;
  };
  std::optional<int64_t> promotable(const Rung& rung) const;
  std::optional<Slot> promote();
  /// The bracket that gets the next new configuration (see AshaOptions::brackets).
  Bracket& bracket_for_new_config();

  AshaOptions options_;
  BudgetLadder ladder_;
  std::vector<Bracket> brackets_;
  int64_t order_ = 0;
  int64_t outstanding_ = 0;
  bool exhausted_ = false;
};

}  // namespace cohort::tuner
