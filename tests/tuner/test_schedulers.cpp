#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include "cohort/core/error.h"
#include "cohort/tuner/samplers/grid_sampler.h"
#include "cohort/tuner/schedulers/asha.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "common/temporary_directory.h"
#include "helpers.h"

using namespace cohort::tuner;
using cohort::tuner::testing::run_sequentially;
using cohort::tuner::testing::trials_per_budget;
using cohort::tuner::testing::unit_space;

namespace {

std::vector<int64_t> configs_of(const std::vector<RungPlan>& plan) {
  std::vector<int64_t> out;
  for (const auto& rung : plan) out.push_back(rung.configs);
  return out;
}
std::vector<double> budgets_of(const std::vector<RungPlan>& plan) {
  std::vector<double> out;
  for (const auto& rung : plan) out.push_back(rung.budget);
  return out;
}

Result loss_is_x(const Trial& trial) { return Result::completed(trial.config["x"].get<double>()); }

}  // namespace

TEST_CASE("budget ladders are integer-exact", "[tuner][schedulers]") {
  const BudgetLadder ladder(1, 243, 3);
  CHECK(ladder.s_max() == 5);  // log3(243) = 4.999... in floating point
  CHECK(ladder.budgets() == std::vector<double>{1, 3, 9, 27, 81, 243});
  CHECK(BudgetLadder(1, 81, 3).s_max() == 4);
  CHECK(BudgetLadder(0.1, 2.7, 3).s_max() == 3);
  CHECK(BudgetLadder(1, 100, 3).s_max() == 4);
  CHECK(BudgetLadder(1, 100, 3).budgets().front() == Approx(100.0 / 81));
  CHECK(BudgetLadder(5, 5, 2).budgets() == std::vector<double>{5});
  CHECK_THROWS_AS(BudgetLadder(0, 10, 3), cohort::InputError);
  CHECK_THROWS_AS(BudgetLadder(10, 1, 3), cohort::InputError);
  CHECK_THROWS_AS(BudgetLadder(1, 10, 1), cohort::InputError);
}

TEST_CASE("Hyperband brackets for min 1, max 243, eta 3 match the hand-computed table", "[tuner][schedulers]") {
  const BudgetLadder ladder(1, 243, 3);
  // n = ceil(6 / (s + 1) * 3^s); rung i keeps floor(n / 3^i).
  CHECK(configs_of(hyperband_bracket(ladder, 5)) == std::vector<int64_t>{243, 81, 27, 9, 3, 1});
  CHECK(budgets_of(hyperband_bracket(ladder, 5)) == std::vector<double>{1, 3, 9, 27, 81, 243});
  CHECK(configs_of(hyperband_bracket(ladder, 4)) == std::vector<int64_t>{98, 32, 10, 3, 1});
  CHECK(budgets_of(hyperband_bracket(ladder, 4)) == std::vector<double>{3, 9, 27, 81, 243});
  CHECK(configs_of(hyperband_bracket(ladder, 3)) == std::vector<int64_t>{41, 13, 4, 1});
  CHECK(budgets_of(hyperband_bracket(ladder, 3)) == std::vector<double>{9, 27, 81, 243});
  CHECK(configs_of(hyperband_bracket(ladder, 2)) == std::vector<int64_t>{18, 6, 2});
  CHECK(configs_of(hyperband_bracket(ladder, 1)) == std::vector<int64_t>{9, 3});
  CHECK(budgets_of(hyperband_bracket(ladder, 1)) == std::vector<double>{81, 243});
  CHECK(configs_of(hyperband_bracket(ladder, 0)) == std::vector<int64_t>{6});
}

TEST_CASE("Hyperband brackets for max 81 match the Hyperband paper's table", "[tuner][schedulers]") {
  const BudgetLadder ladder(1, 81, 3);
  CHECK(configs_of(hyperband_bracket(ladder, 4)) == std::vector<int64_t>{81, 27, 9, 3, 1});
  CHECK(configs_of(hyperband_bracket(ladder, 3)) == std::vector<int64_t>{34, 11, 3, 1});
  CHECK(configs_of(hyperband_bracket(ladder, 2)) == std::vector<int64_t>{15, 5, 1});
  CHECK(configs_of(hyperband_bracket(ladder, 1)) == std::vector<int64_t>{8, 2});
  CHECK(configs_of(hyperband_bracket(ladder, 0)) == std::vector<int64_t>{5});
}

TEST_CASE("successive halving promotes the best of each rung and prunes the rest", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<SuccessiveHalvingScheduler>(
                  HyperbandOptions().min_budget(1).max_budget(27).eta(3).max_brackets(1)),
              StudyOptions().seed(3));
  run_sequentially(study, loss_is_x);
  REQUIRE(study.finished());
  CHECK(trials_per_budget(study) == std::map<double, int>{{1, 27}, {3, 9}, {9, 3}, {27, 1}});
  // The 9 promoted to budget 3 are the 9 smallest x of the 27 started.
  std::vector<double> first_rung, promoted;
  int pruned = 0;
  for (const auto& [id, record] : study.trials()) {
    if (record.trial.budget == 1) first_rung.push_back(*record.value);
    if (record.trial.budget == 3) promoted.push_back(*record.value);
    pruned += record.state == TrialState::kPruned;
  }
  std::sort(first_rung.begin(), first_rung.end());
  std::sort(promoted.begin(), promoted.end());
  CHECK(promoted == std::vector<double>(first_rung.begin(), first_rung.begin() + 9));
  CHECK(pruned == 18 + 6 + 2);
  CHECK(study.best()->trial.budget == 27);
  CHECK(*study.best()->value == first_rung.front());
}

TEST_CASE("a promoted trial names the trial it continues", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<SuccessiveHalvingScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(1)),
              StudyOptions().seed(1));
  run_sequentially(study, loss_is_x);
  for (const auto& [id, record] : study.trials()) {
    const auto& trial = record.trial;
    if (trial.rung == 0) {
      CHECK(trial.parent == -1);
      continue;
    }
    const auto& parent = study.trials().at(trial.parent).trial;
    CHECK(parent.config_id == trial.config_id);
    CHECK(parent.budget * 3 == trial.budget);
  }
}

TEST_CASE("Hyperband runs every bracket of a cycle, then finishes", "[tuner][schedulers]") {
  // min 1, max 9, eta 3: brackets 9@1 3@3 1@9, then 5@3 1@9, then 3@9.
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(3)),
              StudyOptions().seed(5));
  run_sequentially(study, loss_is_x);
  CHECK(study.finished());
  CHECK(study.trials().size() == 22);
  CHECK(trials_per_budget(study) == std::map<double, int>{{1, 9}, {3, 8}, {9, 5}});
}

TEST_CASE("while a rung waits for results, the next bracket hands out work", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<HyperbandScheduler>(HyperbandOptions().min_budget(1).max_budget(9)), StudyOptions());
  std::vector<Trial> running;
  for (int i = 0; i < 10; ++i) {
    auto trial = study.ask();
    REQUIRE(trial);
    running.push_back(*trial);
  }
  CHECK(running[8].bracket == 0);
  CHECK(running[9].bracket == 1);
  CHECK(running[9].budget == 3);
  CHECK(study.running() == 10);
}

TEST_CASE("ASHA promotes the top 1/eta as soon as a rung allows, and never waits", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<AshaScheduler>(AshaOptions().min_budget(1).max_budget(9).eta(3)), StudyOptions().seed(2));
  std::vector<Trial> first;
  for (int i = 0; i < 3; ++i) first.push_back(*study.ask());
  for (const auto& trial : first) {
    CHECK(trial.budget == 1);
    study.tell(trial, loss_is_x(trial));
  }
  // Three results at rung 0: the best one goes to budget 3 next.
  const auto promoted = study.ask();
  REQUIRE(promoted);
  CHECK(promoted->budget == 3);
  const auto best_first = std::min_element(first.begin(), first.end(), [](const Trial& a, const Trial& b) {
    return a.config["x"].get<double>() < b.config["x"].get<double>();
  });
  CHECK(promoted->config_id == best_first->config_id);
  // Nothing else is promotable: workers get new configurations instead of waiting.
  for (int i = 0; i < 5; ++i) CHECK(study.ask()->budget == 1);
}

namespace {

/// A sampler whose every proposal beats all before it, as a model's may: x = 1 / (k + 1).
class ImprovingSampler : public Sampler {
 public:
  ImprovingSampler() : Sampler(unit_space()) {}
  std::optional<Proposal> propose(double, Rng&) override { return Proposal{Json{{"x", 1.0 / double(++count_)}}, true}; }

 private:
  int count_ = 0;
};

/// Trials per budget when ASHA runs an improving sampler for `trials` trials.
std::map<double, int> asha_with_improving_sampler(bool quota, int64_t trials) {
  Study study(std::make_unique<ImprovingSampler>(),
              std::make_unique<AshaScheduler>(AshaOptions().min_budget(1).max_budget(9).eta(3).promotion_quota(quota)),
              StudyOptions().seed(1).max_trials(trials));
  run_sequentially(study, loss_is_x);
  return trials_per_budget(study);
}

}  // namespace

TEST_CASE("ASHA's promotion quota: improving proposals do not fill the top rungs", "[tuner][schedulers]") {
  // Published ASHA promotes every newcomer that reaches its rung's top third:
  // here each one does, so most trials run at the larger budgets.
  const auto published = asha_with_improving_sampler(false, 90);
  CHECK(published.at(9.0) > published.at(1.0) / 3);
  // With the quota each rung promotes at most a third of what it completed, as successive halving.
  const auto quota = asha_with_improving_sampler(true, 90);
  CAPTURE(quota.at(1.0), quota.at(3.0), quota.at(9.0));
  CHECK(quota.at(3.0) <= quota.at(1.0) / 3);
  CHECK(quota.at(9.0) <= quota.at(3.0) / 3);
  CHECK(quota.at(9.0) >= 1);
}

TEST_CASE("FIFO runs every grid point once at the full budget", "[tuner][schedulers]") {
  SearchSpace space;
  space.add(Parameter::grid("a", {1, 2, 3})).add(Parameter::choice("b", {"x", "y"}));
  Study study(std::make_unique<GridSampler>(space), std::make_unique<FifoScheduler>(10.0), StudyOptions());
  run_sequentially(study, [](const Trial& t) { return Result::completed(t.config["a"].get<double>()); });
  CHECK(study.finished());
  CHECK(trials_per_budget(study) == std::map<double, int>{{10.0, 6}});
}

TEST_CASE("failed trials are retried up to max_failures, then fail for good and are never promoted", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()),
              std::make_unique<SuccessiveHalvingScheduler>(HyperbandOptions().min_budget(1).max_budget(9).max_brackets(1)),
              StudyOptions().seed(4).max_failures(1));
  // The configuration with the smallest x always fails; one other fails once.
  std::map<int64_t, int> attempts;
  run_sequentially(study, [&](const Trial& t) {
    const double x = t.config["x"].get<double>();
    attempts[t.config_id]++;
    if (t.config_id == 0) return Result::failed("always broken");
    if (t.config_id == 1 && t.attempt == 0) return Result::timed_out();
    return Result::completed(x);
  });
  CHECK(attempts[0] == 2);  // first try + max_failures retries at budget 1, then never again
  CHECK(attempts[1] >= 2);
  int failed = 0;
  for (const auto& [id, record] : study.trials()) {
    if (record.trial.config_id == 0) CHECK(record.trial.budget == 1);
    failed += record.state == TrialState::kFailed;
  }
  CHECK(failed == 2);
  CHECK(trials_per_budget(study)[3] == 3);  // the rung still fills from the successes
}

TEST_CASE("a non-finite value counts as a failure", "[tuner][schedulers]") {
  Study study(std::make_unique<RandomSampler>(unit_space()), std::make_unique<FifoScheduler>(1.0),
              StudyOptions().max_trials(1).max_failures(0));
  run_sequentially(study, [](const Trial&) { return Result::completed(std::nan("")); });
  REQUIRE(study.trials().size() == 1);
  CHECK(study.trials().begin()->second.state == TrialState::kFailed);
  CHECK_FALSE(study.best());
}

TEST_CASE("the median pruner stops a trial whose best so far is worse than the median at that budget",
          "[tuner][schedulers][pruner]") {
  MedianPruner pruner(MedianPrunerOptions().startup_trials(3).warmup(2.0));
  // Three completed configurations reported 1, 2, 3 at budget 2 (and 10, 20, 30 at budget 3).
  for (int64_t config = 0; config < 3; ++config) {
    CHECK_FALSE(pruner.should_stop(config, 2.0, 1.0 + double(config)));  // too few completed yet
    CHECK_FALSE(pruner.should_stop(config, 3.0, 10.0 * double(config + 1)));
    pruner.completed(config);
  }
  CHECK_FALSE(pruner.should_stop(7, 1.0, 100.0));  // below the warmup budget
  CHECK(pruner.should_stop(7, 2.0, 2.5));          // median 2
  CHECK_FALSE(pruner.should_stop(8, 2.0, 1.5));
  CHECK_FALSE(pruner.should_stop(8, 3.0, 25.0));   // worse than the median 20 now, but its best so far, 1.5, is not
  CHECK_FALSE(pruner.should_stop(9, 4.0, 1e9));    // nobody completed reported at budget 4
  pruner.forget(7);  // a pruned configuration does not join the history
  pruner.completed(7);
  CHECK(pruner.should_stop(10, 2.0, 2.1));         // still the median of 1, 2, 3
}

TEST_CASE("intermediate reports: fifo with the median pruner stops trials, journaled and replayed exactly",
          "[tuner][schedulers][pruner][journal]") {
  const auto dir = cohort::testing::temporary_directory("median-pruner");
  const auto journal = (dir / "journal.jsonl").string();
  const auto make_study = [&] {
    return std::make_unique<Study>(std::make_unique<RandomSampler>(unit_space()),
                                   std::make_unique<FifoScheduler>(
                                       4.0, MedianPruner(MedianPrunerOptions().startup_trials(2))),
                                   StudyOptions().seed(3).max_trials(12).journal(journal).sync_journal(false));
  };
  auto study = make_study();
  // Each trial reports x at budgets 1, 2, 3, and stops when told to.
  while (auto trial = study->ask()) {
    const double x = trial->config["x"].get<double>();
    // A value that is no number is no report: nothing to judge, nothing journaled.
    CHECK_FALSE(study->report(*trial, 1.0, std::nan("")));
    std::optional<Result> result;
    for (double budget = 1; budget < trial->budget && !result; ++budget)
      if (study->report(*trial, budget, x)) result = Result::pruned(x, budget);
    study->tell(*trial, result.value_or(Result::completed(x)));
  }
  int64_t pruned = 0;
  std::vector<double> completed;
  for (const auto& [id, record] : study->trials()) {
    const double x = record.trial.config["x"].get<double>();
    if (record.state == TrialState::kPruned) {
      ++pruned;
      CHECK_FALSE(record.value);  // its value is at a smaller budget: it ranks with no trial
      CHECK(record.info.at("pruned_at_budget") == 1.0);
      CHECK(x > testing::median(completed));
    } else {
      REQUIRE(record.state == TrialState::kCompleted);
      if (completed.size() >= 2) CHECK(x <= testing::median(completed));
      completed.push_back(x);
    }
  }
  CHECK(pruned > 0);
  CHECK(completed.size() >= 2);
  // Opening the journal again replays the reports: the same trials, the same states.
  const auto trials = study->trials();
  study.reset();  // it holds the journal's lock
  const auto resumed = make_study();
  REQUIRE(resumed->trials().size() == trials.size());
  for (const auto& [id, record] : trials) CHECK(resumed->trials().at(id).state == record.state);
  CHECK(resumed->finished());
}
