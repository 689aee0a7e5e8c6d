#include "cohort/tuner/schedulers/registry.h"

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/tuner/schedulers/asha.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/schedulers/hyperband.h"

namespace cohort::tuner {
namespace {

using config::Json;
using config::Range;
using config::Schema;

/// Successive halving and Hyperband: may stop after a number of brackets.
Schema brackets_schema() {
  return Schema().integer("max_brackets", 0, "stop after this many brackets (0 = keep opening brackets)",
                          Range::at_least(0));
}

HyperbandOptions hyperband_options(const Json& options, const BudgetRange& budgets) {
  return HyperbandOptions()
      .min_budget(budgets.min_budget)
      .max_budget(budgets.max_budget)
      .eta(budgets.eta)
      .max_brackets(options.at("max_brackets").get<int64_t>());
}

/// ASHA: how many brackets (asynchronous Hyperband with more than one).
Schema asha_schema() {
  return Schema().integer("brackets", 1,
                          "brackets starting at rungs 0, 1, ...: 1 = ASHA, 0 = all (asynchronous Hyperband); a new "
                          "configuration goes to the bracket furthest behind Hyperband's share",
                          Range::at_least(0));
}

/// The budget ladder bounds `brackets`, which the schema cannot know: refused here, naming the key.
AshaOptions asha_options(const Json& options, const BudgetRange& budgets) {
  const auto brackets = options.at("brackets").get<int64_t>();
  const BudgetLadder ladder(budgets.min_budget, budgets.max_budget, budgets.eta);
  if (brackets > ladder.s_max() + 1)
    throw InputError(fmt::format("\"scheduler.brackets\" is {}, but budget {} to {} at eta {} has {} rungs to start a "
                                 "bracket at; use 1 to {}, or 0 for all.",
                                 brackets, budgets.min_budget, budgets.max_budget, budgets.eta, ladder.s_max() + 1,
                                 ladder.s_max() + 1));
  return AshaOptions()
      .min_budget(budgets.min_budget)
      .max_budget(budgets.max_budget)
      .eta(budgets.eta)
      .brackets(brackets);
}

/// FIFO may stop trials by what they report on the way (docs/sweeps.md, intermediate reports).
Schema fifo_schema() {
  return Schema()
      .choice("pruner", "none", {"none", "median"},
              "\"median\": stop a running trial whose intermediate values are worse than the median of completed "
              "trials' at the same budget")
      .integer("pruner_startup_trials", 5, "median pruner: prune nothing until this many completed trials reported "
                                           "at a budget", Range::at_least(1))
      .number("pruner_warmup", 0.0, "median pruner: prune nothing reported below this budget", Range::at_least(0));
}

std::optional<MedianPruner> median_pruner(const Json& options) {
  if (options.at("pruner") == "none") return std::nullopt;
  return MedianPruner(MedianPrunerOptions()
                          .startup_trials(options.at("pruner_startup_trials").get<int64_t>())
                          .warmup(options.at("pruner_warmup").get<double>()));
}

}  // namespace

SchedulerRegistry& scheduler_registry() {
  static SchedulerRegistry registry = [] {
    SchedulerRegistry built("scheduler");
    built.add("fifo", fifo_schema(), [](const Json& options, const BudgetRange& budgets) -> std::unique_ptr<Scheduler> {
      return std::make_unique<FifoScheduler>(budgets.max_budget, median_pruner(options));
    });
    built.add("successive_halving", brackets_schema(),
              [](const Json& options, const BudgetRange& budgets) -> std::unique_ptr<Scheduler> {
                return std::make_unique<SuccessiveHalvingScheduler>(hyperband_options(options, budgets));
              });
    built.add("hyperband", brackets_schema(),
              [](const Json& options, const BudgetRange& budgets) -> std::unique_ptr<Scheduler> {
                return std::make_unique<HyperbandScheduler>(hyperband_options(options, budgets));
              });
    built.add("asha", asha_schema(), [](const Json& options, const BudgetRange& budgets) -> std::unique_ptr<Scheduler> {
      return std::make_unique<AshaScheduler>(asha_options(options, budgets));
    });
    return built;
  }();
  return registry;
}

}  // namespace cohort::tuner
