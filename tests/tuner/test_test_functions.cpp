#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "cohort/core/error.h"
#include "cohort/tuner/test_functions/test_functions.h"

using cohort::InputError;
using cohort::tuner::Json;
using cohort::tuner::Parameter;
using cohort::tuner::Rng;
using cohort::tuner::TestObjective;

namespace {

/// A counting-ones configuration: c1..cN from the bits of `pattern`, every x the same.
Json counting_config(int categorical, int continuous, unsigned pattern, double x) {
  Json config = Json::object();
  for (int i = 0; i < categorical; ++i) config["c" + std::to_string(i + 1)] = int((pattern >> i) & 1U);
  for (int j = 0; j < continuous; ++j) config["x" + std::to_string(j + 1)] = x;
  return config;
}

/// Root mean square of (loss - expected loss) over 32 configurations with
/// x = 0.5 everywhere and different categorical bits: distinct configurations
/// get independent noise, and the bits' contribution is known exactly.
double noise_rms(const TestObjective& objective, int categorical, int continuous, double budget) {
  double squares = 0.0;
  const unsigned count = 32;
  for (unsigned pattern = 0; pattern < count; ++pattern) {
    const Json config = counting_config(categorical, continuous, pattern, 0.5);
    double ones = 0.0;
    for (int i = 0; i < categorical; ++i) ones += double((pattern >> i) & 1U);
    const double error = objective.evaluate(config, budget) + ones + 0.5 * continuous;
    squares += error * error;
  }
  return std::sqrt(squares / count);
}

}  // namespace

TEST_CASE("branin equals its optimum at its three minimisers, whatever the budget", "[tuner][test_functions]") {
  const auto objective = cohort::tuner::branin();
  CHECK(objective.name == "branin");
  REQUIRE(objective.space.size() == 2);
  CHECK(objective.space.parameters()[0].path == "x1");
  CHECK(objective.space.parameters()[0].low == -5.0);
  CHECK(objective.space.parameters()[0].high == 10.0);
  CHECK(objective.space.parameters()[1].path == "x2");
  CHECK(objective.space.parameters()[1].low == 0.0);
  CHECK(objective.space.parameters()[1].high == 15.0);
  CHECK(objective.min_budget == 1.0);
  CHECK(objective.max_budget == 243.0);

  for (const auto& [x1, x2] : std::vector<std::pair<double, double>>{{-M_PI, 12.275}, {M_PI, 2.275}, {9.42478, 2.475}})
    for (double budget : {1.0, 27.0, 243.0})
      CHECK(objective.evaluate({{"x1", x1}, {"x2", x2}}, budget) == Approx(objective.optimum).margin(1e-5));

  const Json elsewhere = {{"x1", 0.0}, {"x2", 0.0}};
  const double value = objective.evaluate(elsewhere, 1.0);
  CHECK(value > objective.optimum + 1.0);
  CHECK(objective.evaluate(elsewhere, 243.0) == value);
}

TEST_CASE("hartmann6 equals its optimum at its minimiser over six unit dimensions", "[tuner][test_functions]") {
  const auto objective = cohort::tuner::hartmann6();
  CHECK(objective.name == "hartmann6");
  REQUIRE(objective.space.size() == 6);
  for (size_t j = 0; j < 6; ++j) {
    const auto& parameter = objective.space.parameters()[j];
    CHECK(parameter.path == "x" + std::to_string(j + 1));
    CHECK(parameter.kind == Parameter::Kind::kUniform);
    CHECK(parameter.low == 0.0);
    CHECK(parameter.high == 1.0);
  }
  const Json minimiser = {{"x1", 0.20169},  {"x2", 0.150011}, {"x3", 0.476874},
                          {"x4", 0.275332}, {"x5", 0.311652}, {"x6", 0.6573}};
  CHECK(objective.evaluate(minimiser, 1.0) == Approx(objective.optimum).margin(1e-5));
  CHECK(objective.evaluate(minimiser, 243.0) == objective.evaluate(minimiser, 1.0));
  const Json centre = {{"x1", 0.5}, {"x2", 0.5}, {"x3", 0.5}, {"x4", 0.5}, {"x5", 0.5}, {"x6", 0.5}};
  CHECK(objective.evaluate(centre, 1.0) > objective.optimum + 0.1);
}

TEST_CASE("counting ones: a mixed space whose optimum is all ones", "[tuner][test_functions]") {
  const auto objective = cohort::tuner::counting_ones();
  REQUIRE(objective.space.size() == 16);
  CHECK(objective.optimum == -16.0);
  CHECK(objective.min_budget == 9.0);
  CHECK(objective.max_budget == 729.0);
  for (size_t i = 0; i < 8; ++i) {
    const auto& parameter = objective.space.parameters()[i];
    CHECK(parameter.path == "c" + std::to_string(i + 1));
    CHECK(parameter.is_categorical());
    CHECK(parameter.values == std::vector<Json>{0, 1});
  }
  for (size_t j = 0; j < 8; ++j) {
    const auto& parameter = objective.space.parameters()[8 + j];
    CHECK(parameter.path == "x" + std::to_string(j + 1));
    CHECK(parameter.kind == Parameter::Kind::kUniform);
    CHECK(parameter.low == 0.0);
    CHECK(parameter.high == 1.0);
  }

  // Bernoulli(1) is always 1 and Bernoulli(0) always 0: exact at every budget.
  for (double budget : {1.0, 9.0, 10.4, 81.0, 729.0}) {
    CHECK(objective.evaluate(counting_config(8, 8, 0xFFU, 1.0), budget) == -16.0);
    CHECK(objective.evaluate(counting_config(8, 8, 0U, 0.0), budget) == 0.0);
  }

  const auto small = cohort::tuner::counting_ones(2, 3);
  CHECK(small.space.size() == 5);
  CHECK(small.optimum == -5.0);
  CHECK(small.evaluate(counting_config(2, 3, 0x3U, 1.0), 9.0) == -5.0);
  CHECK(small.name != objective.name);
}

TEST_CASE("counting ones estimates the mean with the budget as the sample count", "[tuner][test_functions]") {
  const auto objective = cohort::tuner::counting_ones();
  const Json halves = counting_config(8, 8, 0xFFU, 0.5);
  // Expected -(8 + 8 * 0.5); at 729 samples the sum's standard deviation is
  // sqrt(8 * 0.25 / 729) ~ 0.052, so 0.25 is about five of them.
  const double value = objective.evaluate(halves, 729.0);
  CHECK(value == Approx(-12.0).margin(0.25));
  CHECK(objective.evaluate(halves, 729.0) == value);
  const auto copy = objective;
  CHECK(copy.evaluate(halves, 729.0) == value);
  CHECK(cohort::tuner::counting_ones().evaluate(halves, 729.0) == value);

  // Each mean's standard deviation is sqrt(0.25 / n): about 0.47 for the sum of
  // eight at n = 9 and 0.052 at n = 729, a ratio of 9. Over 32 configurations
  // the measured ratio lies far above 3.
  const double noisy = noise_rms(objective, 8, 8, 9.0);
  const double precise = noise_rms(objective, 8, 8, 729.0);
  CHECK(noisy > 0.2);
  CHECK(precise < 0.15);
  CHECK(noisy > 3.0 * precise);
}

TEST_CASE("counting ones' noise is seeded from the configuration and budget alone", "[tuner][test_functions]") {
  const auto objective = cohort::tuner::counting_ones(1, 2);
  const Json config = {{"c1", 1}, {"x1", 0.5}, {"x2", 0.25}};
  // Pinned: FNV-1a, mt19937_64 and Rng's draws are all defined bit for bit, so
  // this value is the same on every platform; if it changes, results from
  // earlier benchmark runs are no longer comparable.
  // At budget 9 the two means are k1 / 9 and k2 / 9; here k1 + k2 = 8.
  const double at_9 = objective.evaluate(config, 9.0);
  CHECK(at_9 == Approx(-1.0 - 8.0 / 9.0));
  CHECK(objective.evaluate(config, 11.0) == Approx(-2.0));
  // A different budget or configuration draws different noise.
  bool differs = false;
  for (double budget : {9.0, 10.0, 11.0, 12.0, 13.0}) differs |= objective.evaluate(config, budget) != at_9;
  CHECK(differs);
}

TEST_CASE("objectives refuse configurations without their parameters", "[tuner][test_functions]") {
  CHECK_THROWS_AS(cohort::tuner::branin().evaluate({{"x1", 0.0}}, 1.0), InputError);
  CHECK_THROWS_AS(cohort::tuner::hartmann6().evaluate({{"x1", "a"}}, 1.0), InputError);
  CHECK_THROWS_AS(cohort::tuner::counting_ones(1, 1).evaluate({{"c1", 1}}, 9.0), InputError);
  CHECK_THROWS_AS(cohort::tuner::counting_ones(0, 0), std::invalid_argument);
  CHECK_THROWS_AS(cohort::tuner::counting_ones(-1, 2), std::invalid_argument);
}

TEST_CASE("every objective's space samples finite values no better than its optimum", "[tuner][test_functions]") {
  for (const auto& objective :
       {cohort::tuner::branin(), cohort::tuner::hartmann6(), cohort::tuner::counting_ones(),
        cohort::tuner::counting_ones(3, 5)}) {
    INFO(objective.name);
    Rng rng(7);
    for (int i = 0; i < 200; ++i) {
      const Json config = objective.space.sample(rng);
      for (double budget : {objective.min_budget, objective.max_budget}) {
        const double value = objective.evaluate(config, budget);
        INFO(config.dump() << " at budget " << budget);
        CHECK(std::isfinite(value));
        CHECK(value >= objective.optimum - 1e-9);
      }
    }
  }
}
