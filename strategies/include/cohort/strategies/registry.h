#pragma once
// Strategies by name, for configs: `"strategy": {"name": "single", ...}`.

#include <memory>

#include "cohort/core/registry.h"
#include "cohort/distributed/communicator.h"
#include "cohort/strategy/strategy.h"

namespace cohort::strategies {

/// The ranks a job runs on: a CPU communicator over them (cohort-train's
/// world, a sweep trial's group), or null for one process.
using Ranks = std::shared_ptr<distributed::Communicator>;

/// Factories take the strategy's options and the job's ranks; the strategies
/// over ranks (ddp, pipeline) build their communicators over those ranks.
using StrategyRegistry = Registry<std::shared_ptr<strategy::Strategy>, const Ranks&>;

/// The registry with the built-in strategies (`single`, `ddp`, `data_parallel`,
/// `model_parallel`, `pipeline`); add() your own to it.
StrategyRegistry& strategy_registry();

}  // namespace cohort::strategies
