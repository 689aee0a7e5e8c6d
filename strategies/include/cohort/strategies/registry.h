#pragma once
// Strategies by name, for configs: `"strategy": {"name": "single", ...}`.

#include <memory>

#include "cohort/core/registry.h"
#include "cohort/strategies/strategy.h"

namespace cohort::strategies {

using StrategyRegistry = Registry<std::shared_ptr<Strategy>>;

/// The registry with the built-in strategies (`single`, `ddp`, `data_parallel`,
/// `model_parallel`, `pipeline`); add() your own to it.
StrategyRegistry& strategy_registry();

}  // namespace cohort::strategies
