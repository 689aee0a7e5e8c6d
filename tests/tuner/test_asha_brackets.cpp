// ASHA with several brackets (asynchronous Hyperband): where new configurations
// start, that promotions stay inside their bracket, that one bracket is the
// ASHA of before, and that a resumed study decides alike.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "cohort/config/schema.h"
#include "cohort/core/error.h"
#include "cohort/tuner/samplers/tpe_sampler.h"
#include "cohort/tuner/schedulers/asha.h"
#include "cohort/tuner/schedulers/registry.h"
#include "cohort/tuner/test_functions/multi_fidelity.h"
#include "common/temporary_directory.h"
#include "helpers.h"

using namespace cohort::tuner;
using Catch::Matchers::Equals;
using cohort::testing::temporary_directory;
using cohort::tuner::testing::check_resume_after_any_record;
using cohort::tuner::testing::run_sequentially;
using cohort::tuner::testing::unit_space;

namespace {

AshaOptions all_brackets(double max_budget) {
  return AshaOptions().min_budget(1).max_budget(max_budget).eta(3).brackets(0);
}

/// Asks `count` slots of a scheduler that never hears a result, so each is a new configuration.
std::vector<Slot> new_slots(AshaScheduler& scheduler, int64_t count) {
  int64_t next_id = 0;
  std::vector<Slot> slots;
  for (int64_t i = 0; i < count; ++i) slots.push_back(*scheduler.next([&](double) { return next_id++; }));
  return slots;
}

/// A loss whose ranking changes with the budget (x near 0.3 + 0.5 / budget is best), as biased cheap budgets do.
double biased_loss(const Trial& trial, double budget) {
  return std::fabs(trial.config["x"].get<double>() - 0.3 - 0.5 / budget);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const cohort::InputError& error) {
    return error.what();
  }
  return "(nothing thrown)";
}

}  // namespace

TEST_CASE("ASHA brackets start new configurations at their first rungs in Hyperband's proportions",
          "[tuner][schedulers][asha]") {
  AshaScheduler scheduler(all_brackets(243));
  // Hyperband's bracket sizes for min 1, max 243, eta 3 (docs/tuner.md's table), bracket k starting at rung k.
  const std::vector<int64_t> weights{243, 98, 41, 18, 9, 6};
  REQUIRE(scheduler.bracket_weights() == weights);
  const auto slots = new_slots(scheduler, 2 * 415);
  std::map<int, int64_t> per_bracket;
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& slot = slots[i];
    CHECK(slot.rung == slot.bracket);  // a new configuration starts at its bracket's first rung
    CHECK(slot.budget == scheduler.ladder().budgets()[size_t(slot.rung)]);
    ++per_bracket[slot.bracket];
    // Never behind its share by a whole configuration, at every point.
    for (int k = 0; k < 6; ++k) CHECK(per_bracket[k] >= int64_t(i + 1) * weights[size_t(k)] / 415);
    // Every 415 new configurations split exactly by the weights.
    if ((i + 1) % 415 == 0)
      for (int k = 0; k < 6; ++k) CHECK(per_bracket[k] == int64_t(i + 1) / 415 * weights[size_t(k)]);
  }
  // Fewer brackets are the lowest-starting ones, in the same proportions.
  AshaScheduler two(all_brackets(243).brackets(2));
  CHECK(two.bracket_weights() == std::vector<int64_t>{243, 98});
  std::map<int, int64_t> two_per_bracket;
  for (const auto& slot : new_slots(two, 341)) ++two_per_bracket[slot.bracket];
  CHECK(two_per_bracket == std::map<int, int64_t>{{0, 243}, {1, 98}});
}

TEST_CASE("ASHA brackets promote within themselves, never across", "[tuner][schedulers][asha]") {
  AshaScheduler scheduler(all_brackets(9));  // budgets 1, 3, 9; brackets of 9, 5 and 3 configurations
  REQUIRE(scheduler.bracket_weights() == std::vector<int64_t>{9, 5, 3});
  int64_t next_id = 100;
  auto new_config = [&](double) { return next_id++; };
  std::map<int, std::vector<Slot>> started;
  for (const auto& slot : new_slots(scheduler, 17)) started[slot.bracket].push_back(slot);
  REQUIRE(started[0].size() == 9);
  REQUIRE(started[1].size() == 5);
  // Bracket 0: three results at rung 0; its best goes to rung 1, in bracket 0.
  for (int i = 0; i < 3; ++i) scheduler.report(started[0][size_t(i)], 0.5 + 0.1 * i);
  const auto promoted = scheduler.next(new_config);
  REQUIRE(promoted);
  CHECK(promoted->config_id == started[0][0].config_id);
  CHECK(promoted->bracket == 0);
  CHECK(promoted->rung == 1);
  // Rung 1 now holds one result of bracket 0 (the best of all) and two of bracket 1:
  // three together, but neither bracket alone has enough to promote to rung 2.
  scheduler.report(*promoted, 0.0);
  scheduler.report(started[1][0], 5.0);
  scheduler.report(started[1][1], 6.0);
  const auto fresh = scheduler.next(new_config);
  REQUIRE(fresh);
  CHECK(fresh->config_id >= 100);  // a new configuration, not a promotion
  CHECK(fresh->rung == fresh->bracket);
  // A third result in bracket 1's rung 1: its best goes on, not bracket 0's better one.
  scheduler.report(started[1][2], 7.0);
  const auto top = scheduler.next(new_config);
  REQUIRE(top);
  CHECK(top->config_id == started[1][0].config_id);
  CHECK(top->bracket == 1);
  CHECK(top->rung == 2);
  CHECK(top->budget == 9);
}

TEST_CASE("ASHA brackets in a study: each configuration stays in its bracket, and each rung keeps its quota",
          "[tuner][schedulers][asha]") {
  Study study(std::make_unique<RandomSampler>(unit_space()), std::make_unique<AshaScheduler>(all_brackets(27)),
              StudyOptions().seed(5).max_trials(600));
  run_sequentially(study, [](const Trial& t) { return Result::completed(biased_loss(t, t.budget)); });
  std::map<int64_t, std::vector<Trial>> by_config;
  std::map<std::pair<int, int>, int64_t> per_bracket_rung;  // trials by (bracket, rung)
  std::map<int, int64_t> first_starts;
  for (const auto& [id, record] : study.trials()) {
    by_config[record.trial.config_id].push_back(record.trial);
    ++per_bracket_rung[{record.trial.bracket, record.trial.rung}];
  }
  for (const auto& [config, trials] : by_config) {
    INFO("configuration " << config);
    CHECK(trials.front().rung == trials.front().bracket);
    ++first_starts[trials.front().bracket];
    for (size_t i = 1; i < trials.size(); ++i) {
      CHECK(trials[i].bracket == trials.front().bracket);
      CHECK(trials[i].rung == trials[i - 1].rung + 1);
      CHECK(trials[i].parent == trials[i - 1].id);
    }
  }
  // Each bracket's rung promotes at most a third of what completed there, and every bracket reaches max_budget.
  for (int bracket = 0; bracket < 4; ++bracket) {
    for (int rung = bracket; rung < 3; ++rung) {
      INFO("bracket " << bracket << ", rung " << rung);
      CHECK(per_bracket_rung[{bracket, rung + 1}] <= per_bracket_rung[{bracket, rung}] / 3);
    }
    CHECK(per_bracket_rung[{bracket, 3}] >= 1);
  }
  // New configurations split 27 : 12 : 6 : 4 (Hyperband's brackets for min 1, max 27), within 1.5 of the share.
  int64_t total = 0;
  for (const auto& [bracket, count] : first_starts) total += count;
  const std::vector<int64_t> weights{27, 12, 6, 4};
  for (int bracket = 0; bracket < 4; ++bracket)
    CHECK(std::abs(double(first_starts[bracket]) - double(total * weights[size_t(bracket)]) / 49) < 1.5);
}

TEST_CASE("ASHA with one bracket decides exactly as ASHA did before brackets existed", "[tuner][schedulers][asha]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<AshaScheduler>(AshaOptions().min_budget(1).max_budget(27).eta(3).brackets(1)),
              StudyOptions().seed(3).max_trials(400));
  run_sequentially(study, [](const Trial& t) {
    if (t.config_id % 11 == 4) return Result::failed("planted failure");
    return Result::completed(biased_loss(t, t.budget));
  });
  // FNV-1a over (config_id, rung, bracket) of every trial in order, and the trials per budget, as
  // AshaScheduler at 9ca5348 (main before brackets) decided them for this same study.
  uint64_t hash = 1469598103934665603ull;
  std::map<double, int> per_budget;
  for (const auto& [id, record] : study.trials()) {
    for (const int64_t value : {record.trial.config_id, int64_t(record.trial.rung), int64_t(record.trial.bracket)}) {
      hash ^= uint64_t(value);
      hash *= 1099511628211ull;
    }
    ++per_budget[record.trial.budget];
  }
  CHECK(per_budget == std::map<double, int>{{1, 329}, {3, 84}, {9, 28}, {27, 9}});
  CHECK(hash == 7637197292741775546ull);
}

TEST_CASE("ASHA brackets: a study stopped after k journal records and resumed ends with the same journal",
          "[tuner][schedulers][asha][journal]") {
  const auto objective = branin_multi_fidelity();
  auto make_study = [&](const std::string& journal) {
    return std::make_unique<Study>(std::make_unique<TpeSampler>(objective.space),
                                   std::make_unique<AshaScheduler>(all_brackets(9)),
                                   StudyOptions().seed(7).max_trials(150).journal(journal).sync_journal(false));
  };
  check_resume_after_any_record(temporary_directory("asha-brackets-resume"), make_study, [&](const Trial& trial) {
    if (trial.id % 17 == 5) return Result::failed("planted failure");  // retries in the journal too
    return Result::completed(objective.evaluate(trial.config, trial.budget));
  });
}

TEST_CASE("ASHA refuses more brackets than the budget has rungs, naming the key", "[tuner][schedulers][asha][config]") {
  CHECK_THROWS_AS(AshaScheduler(all_brackets(9).brackets(4)), cohort::InputError);
  CHECK_THROWS_AS(AshaScheduler(all_brackets(9).brackets(-1)), cohort::InputError);
  CHECK(AshaScheduler(all_brackets(9).brackets(3)).bracket_weights().size() == 3);
  CHECK(AshaScheduler(all_brackets(9)).bracket_weights().size() == 3);  // 0: all
  const auto& registry = scheduler_registry();
  CHECK_THAT(error_of([&] { registry.create({{"name", "asha"}, {"brackets", 4}}, BudgetRange{1, 9, 3}); }),
             Equals("\"scheduler.brackets\" is 4, but budget 1 to 9 at eta 3 has 3 rungs to start a bracket at; use 1 "
                    "to 3, or 0 for all."));
  const auto schema = cohort::config::Schema().variant("scheduler", "fifo", registry.schemas(), "");
  CHECK_THAT(error_of([&] { schema.validate({{"scheduler", {{"name", "asha"}, {"brackets", -1}}}}, "s.json"); }),
             Equals("s.json: \"scheduler.brackets\" must be at least 0, got -1."));
  CHECK(schema.validate({{"scheduler", {{"name", "asha"}}}}, "s.json")["scheduler"]["brackets"] == 1);
}
