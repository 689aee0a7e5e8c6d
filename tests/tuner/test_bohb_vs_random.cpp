#include <catch2/catch.hpp>

#include <algorithm>

#include "cohort/tuner/test_functions/test_functions.h"
#include "cohort/tuner/samplers/bohb_sampler.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "helpers.h"

using namespace cohort::tuner;
using cohort::tuner::testing::median;
using cohort::tuner::testing::run_sequentially;

namespace {

constexpr double kBudgetMultiple = 30;  // total budget, in evaluations at the full budget

double final_regret(const TestObjective& objective, bool bohb, uint64_t seed) {
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<Scheduler> scheduler;
  if (bohb) {
    sampler = std::make_unique<BohbSampler>(objective.space);
    scheduler = std::make_unique<HyperbandScheduler>(
        HyperbandOptions().min_budget(objective.max_budget / 27).max_budget(objective.max_budget).eta(3));
  } else {
    sampler = std::make_unique<RandomSampler>(objective.space);
    scheduler = std::make_unique<FifoScheduler>(objective.max_budget);
  }
  Study study(std::move(sampler), std::move(scheduler),
              StudyOptions().seed(seed).max_total_budget(kBudgetMultiple * objective.max_budget));
  run_sequentially(study, [&](const Trial& t) { return Result::completed(objective.evaluate(t.config, t.budget)); });
  return *study.best()->value - objective.optimum;
}

}  // namespace

TEST_CASE("BOHB beats random search on Branin and Hartmann6 at a fixed budget", "[tuner][bohb][comparison]") {
  for (const auto& objective : {branin(), hartmann6()}) {
    INFO(objective.name);
    std::vector<double> bohb, random;
    int wins = 0;
    for (uint64_t seed = 1; seed <= 7; ++seed) {
      bohb.push_back(final_regret(objective, true, seed));
      random.push_back(final_regret(objective, false, seed));
      wins += bohb.back() < random.back();
    }
    CAPTURE(median(bohb), median(random), wins);
    CHECK(median(bohb) < 0.5 * median(random));
    CHECK(wins >= 5);
  }
}
