#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cohort/core/error.h"
#include "cohort/tuner/test_functions/learning_curve.h"
#include "cohort/tuner/test_functions/multi_fidelity.h"

using namespace cohort::tuner;

namespace {

/// Spearman's rank correlation of two equally long vectors (no ties expected).
double rank_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (size_t k = 0; k < order.size(); ++k) r[order[k]] = double(k);
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  double d2 = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = double(a.size());
  return 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
}

/// The objective's values at `budget` for `configs`.
std::vector<double> values_at(const TestObjective& objective, const std::vector<Json>& configs, double budget) {
  std::vector<double> out;
  for (const auto& config : configs) out.push_back(objective.evaluate(config, budget));
  return out;
}

std::vector<Json> samples(const TestObjective& objective, size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<Json> out;
  for (size_t i = 0; i < count; ++i) out.push_back(objective.space.sample(rng));
  return out;
}

size_t argmin(const std::vector<double>& v) { return size_t(std::min_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

TEST_CASE("fidelity runs from 0 at the smallest budget to 1 at the largest, on a log scale", "[tuner][test_functions]") {
  CHECK(fidelity(1.0, 1.0, 243.0) == 0.0);
  CHECK(fidelity(243.0, 1.0, 243.0) == 1.0);
  CHECK(fidelity(std::sqrt(243.0), 1.0, 243.0) == Approx(0.5));
  CHECK(fidelity(0.5, 1.0, 243.0) == 0.0);   // clamped
  CHECK(fidelity(1e6, 1.0, 243.0) == 1.0);
}

TEST_CASE("budget-aware branin and hartmann6: exact at the full budget, biased and noisy below", "[tuner][test_functions]") {
  for (const auto& [bent, plain] : {std::make_pair(branin_multi_fidelity(), branin()),
                                    std::make_pair(hartmann6_multi_fidelity(), hartmann6())}) {
    INFO(bent.name);
    CHECK(bent.optimum == plain.optimum);
    CHECK(bent.max_budget == plain.max_budget);
    const auto configs = samples(bent, 300, 1);
    for (size_t i = 0; i < 20; ++i)
      CHECK(bent.evaluate(configs[i], bent.max_budget) == plain.evaluate(configs[i], plain.max_budget));
    // Deterministic per (config, budget), and different at different budgets.
    CHECK(bent.evaluate(configs[0], 3.0) == bent.evaluate(configs[0], 3.0));
    CHECK(bent.evaluate(configs[0], 3.0) != bent.evaluate(configs[0], 9.0));
    // Rankings agree more with the full budget's as the budget grows, and the cheapest one's best is another.
    const auto full = values_at(bent, configs, bent.max_budget);
    const double r1 = rank_correlation(values_at(bent, configs, 1.0), full);
    const double r27 = rank_correlation(values_at(bent, configs, 27.0), full);
    CAPTURE(r1, r27);
    CHECK(r1 < r27);
    CHECK(r27 < 1.0);
    CHECK(r1 > 0.3);  // still an approximation, not noise
    // (For hartmann6 random draws rarely reach the wells that swap ranks: the next test checks those.)
    if (bent.name == "branin_mf") CHECK(argmin(values_at(bent, configs, 1.0)) != argmin(full));
  }
}

TEST_CASE("budget-aware hartmann6's cheapest budget prefers another well than the global minimum",
          "[tuner][test_functions]") {
  const auto objective = hartmann6_multi_fidelity();
  const Json global{{"x1", 0.20169}, {"x2", 0.150011}, {"x3", 0.476874},
                    {"x4", 0.275332}, {"x5", 0.311652}, {"x6", 0.6573}};
  const Json fourth{{"x1", 0.4047}, {"x2", 0.8828}, {"x3", 0.8732}, {"x4", 0.5743}, {"x5", 0.1091}, {"x6", 0.0381}};
  CHECK(objective.evaluate(global, 243.0) == Approx(objective.optimum).margin(1e-4));
  CHECK(objective.evaluate(global, 243.0) < objective.evaluate(fourth, 243.0));
  CHECK(objective.evaluate(fourth, 1.0) < objective.evaluate(global, 1.0));
}

TEST_CASE("learning_curve trains a model: deterministic, and more epochs change the ranking",
          "[tuner][test_functions]") {
  const auto objective = learning_curve();
  CHECK(objective.min_budget == 1.0);
  CHECK(objective.max_budget == 81.0);
  const auto configs = samples(objective, 24, 2);
  CHECK(objective.evaluate(configs[0], 9.0) == objective.evaluate(configs[0], 9.0));
  const auto at3 = values_at(objective, configs, 3.0), at81 = values_at(objective, configs, 81.0);
  for (double v : at81) {
    CHECK(v > 0.0);
    CHECK(v <= 10.0);
  }
  // Someone learns: the best after 81 epochs is well below log 2 (a constant guess).
  CHECK(*std::min_element(at81.begin(), at81.end()) < 0.6);
  const double r = rank_correlation(at3, at81);
  CAPTURE(r);
  CHECK(r < 0.95);
  CHECK(r > 0.0);
  // A sensible configuration improves with training.
  const Json good{{"lr", 0.05}, {"weight_decay", 1e-4}, {"width", 16}, {"momentum", 0.9}, {"batch_size", 32}};
  CHECK(objective.evaluate(good, 27.0) < objective.evaluate(good, 1.0));
  CHECK_THROWS_AS(objective.evaluate(Json{{"lr", 0.1}}, 1.0), cohort::InputError);
}
