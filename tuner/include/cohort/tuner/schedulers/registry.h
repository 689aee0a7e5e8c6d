#pragma once
// Schedulers by name, for sweep configs: `"scheduler": {"name": "asha", ...}`.
// Each entry carries the schema of its options.

#include <cstdint>
#include <memory>

#include "cohort/core/registry.h"
#include "cohort/tuner/schedulers/scheduler.h"

namespace cohort::tuner {

/// The budgets every scheduler is built for, from the sweep's "budget" block.
struct BudgetRange {
  double min_budget = 1.0;
  double max_budget = 1.0;
  /// The factor between rungs (successive halving, Hyperband, ASHA).
  int64_t eta = 3;
};

/// Factories take the scheduler's validated options and the budgets.
using SchedulerRegistry = Registry<std::unique_ptr<Scheduler>, const BudgetRange&>;

/// The registry with the built-in schedulers (`fifo`, `successive_halving`,
/// `hyperband`, `asha`); add() your own to it before a sweep config is read.
SchedulerRegistry& scheduler_registry();

}  // namespace cohort::tuner
