#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cohort/tuner/samplers/bohb_sampler.h"
#include "helpers.h"

using cohort::tuner::BohbOptions;
using cohort::tuner::BohbSampler;
using cohort::tuner::Json;
using cohort::tuner::Observation;
using cohort::tuner::Parameter;
using cohort::tuner::Proposal;
using cohort::tuner::Rng;
using cohort::tuner::SearchSpace;

using cohort::tuner::testing::median;

namespace {

SearchSpace one_uniform() { return SearchSpace().add(Parameter::uniform("x", 0.0, 1.0)); }

double x_of(const Proposal& proposal) { return proposal.config.at("x").get<double>(); }

/// `count` proposals, all model-based (random_fraction 0 in the options).
std::vector<Proposal> model_proposals(BohbSampler& sampler, Rng& rng, size_t count) {
  std::vector<Proposal> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back(*sampler.propose(1.0, rng));
    REQUIRE(out.back().model_based);
  }
  return out;
}

double mean_distance(const std::vector<double>& values, double to) {
  double sum = 0.0;
  for (double v : values) sum += std::abs(v - to);
  return sum / double(values.size());
}

/// Observes `count` draws of x at `budget` with loss (x - best)^2.
void observe_parabola(BohbSampler& sampler, Rng& rng, size_t count, double budget, double best) {
  for (size_t i = 0; i < count; ++i) {
    const double x = rng.uniform();
    sampler.observe({Json{{"x", x}}, budget, (x - best) * (x - best)});
  }
}

}  // namespace

TEST_CASE("bohb: no model until both sets have min_points, d + 1 by default", "[tuner][bohb]") {
  // d = 2: the fixed value and the one-value choice are not dimensions.
  const auto space = SearchSpace()
                         .add(Parameter::uniform("x", 0.0, 1.0))
                         .add(Parameter::log_uniform("lr", 1e-4, 1e-1))
                         .add(Parameter::fixed("epochs", 5))
                         .add(Parameter::choice("act", {"relu"}));
  BohbSampler sampler(space);
  Rng data(1), rng(2);
  // min_points = 3: n_good = max(3, floor(0.15 n)) = 3 while n < 40, so the
  // bad set reaches 3 points at n = 6.
  for (int n = 0; n < 6; ++n) {
    CHECK_FALSE(sampler.model_budget());
    for (int i = 0; i < 20; ++i) {
      const auto proposal = sampler.propose(1.0, rng);
      REQUIRE(proposal);
      CHECK_FALSE(proposal->model_based);
      CHECK(proposal->config.at("epochs") == 5);
      CHECK(proposal->config.at("act") == "relu");
    }
    sampler.observe({space.sample(data), 1.0, double(n)});
  }
  REQUIRE(sampler.observations_at(1.0) == 6);
  REQUIRE(sampler.model_budget() == 1.0);
  int model_based = 0;
  for (int i = 0; i < 60; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    model_based += proposal->model_based;
    CHECK(proposal->config.at("epochs") == 5);
    CHECK(proposal->config.at("act") == "relu");
  }
  CHECK(model_based > 20);  // 2/3 of them on average
  CHECK(model_based < 60);  // and 1/3 from the prior
}

TEST_CASE("bohb: min_points and top_fraction set the boundary", "[tuner][bohb]") {
  BohbSampler sampler(one_uniform(), BohbOptions().min_points(2).top_fraction(0.5));
  CHECK(sampler.options().min_points() == 2);
  sampler.observe({Json{{"x", 0.1}}, 1.0, 0.1});
  sampler.observe({Json{{"x", 0.2}}, 1.0, 0.2});
  sampler.observe({Json{{"x", 0.3}}, 1.0, 0.3});
  CHECK_FALSE(sampler.model_budget());  // good 2, bad 1
  sampler.observe({Json{{"x", 0.4}}, 1.0, 0.4});
  CHECK(sampler.model_budget() == 1.0);  // good 2, bad 2

  BohbSampler whole(one_uniform(), BohbOptions().top_fraction(1.0));
  Rng rng(3);
  observe_parabola(whole, rng, 50, 1.0, 0.5);
  CHECK_FALSE(whole.model_budget());  // everything is good: no bad density, no model
}

TEST_CASE("bohb: model-based proposals concentrate where the loss is low", "[tuner][bohb]") {
  BohbSampler sampler(one_uniform(), BohbOptions().random_fraction(0.0));
  Rng data(11), rng(12);
  observe_parabola(sampler, data, 60, 1.0, 0.2);
  REQUIRE(sampler.model_budget() == 1.0);

  std::vector<double> model, prior;
  for (const auto& proposal : model_proposals(sampler, rng, 200)) model.push_back(x_of(proposal));
  for (int i = 0; i < 200; ++i) prior.push_back(one_uniform().sample(rng).at("x").get<double>());
  CHECK(std::abs(median(model) - 0.2) < 0.1);
  CHECK(mean_distance(model, 0.2) < 0.5 * mean_distance(prior, 0.2));
  for (double x : model) CHECK((x >= 0.0 && x <= 1.0));
}

TEST_CASE("bohb: categories get a categorical kernel with mass on every category", "[tuner][bohb]") {
  const auto space = SearchSpace().add(Parameter::choice("c", {"a", "b", "c"}));
  // Losses a: 1, b: 0, c: 2, so the good set (4 of 30) is all "b".
  auto observe_all = [](BohbSampler& sampler) {
    const std::map<std::string, double> loss{{"a", 1.0}, {"b", 0.0}, {"c", 2.0}};
    for (int i = 0; i < 30; ++i) {
      const std::string c = std::vector<std::string>{"a", "b", "c"}[i % 3];
      sampler.observe({Json{{"c", c}}, 1.0, loss.at(c)});
    }
  };
  auto count = [](BohbSampler& sampler, Rng& rng, size_t n) {
    std::map<std::string, int> counts;
    for (const auto& proposal : model_proposals(sampler, rng, n)) ++counts[proposal.config.at("c").get<std::string>()];
    return counts;
  };
  Rng rng(21);

  SECTION("with the default candidates, the good category wins") {
    BohbSampler sampler(space, BohbOptions().random_fraction(0.0));
    observe_all(sampler);
    CHECK(count(sampler, rng, 200)["b"] >= 190);
  }
  SECTION("with few candidates, every category keeps some mass") {
    // Unwidened, the good kernel keeps "b" with probability 1 - lambda ~ 0.5
    // and gives ~0.25 to each other category. Of two candidates "b" wins when
    // either is "b" (~75%); "aa" and "cc" (~6% each) must propose the others.
    BohbSampler sampler(space, BohbOptions().random_fraction(0.0).num_candidates(2).bandwidth_factor(1.0));
    observe_all(sampler);
    auto counts = count(sampler, rng, 600);
    CHECK(counts["b"] > 380);
    CHECK(counts["a"] > 15);
    CHECK(counts["c"] > 15);
  }
}

TEST_CASE("bohb: ints and ordinals are always valid levels", "[tuner][bohb]") {
  const std::vector<Json> sizes{"small", "medium", "large"};
  const auto space = SearchSpace()
                         .add(Parameter::integer("layers", 1, 6))             // levels
                         .add(Parameter::integer("width", 1, 100, true))      // levels (100), log
                         .add(Parameter::integer("batch", 16, 1024, true))    // 1009 levels: unit scale, log
                         .add(Parameter::integer("steps", -500, 500))         // 1001 levels: unit scale
                         .add(Parameter::ordinal("size", sizes))
                         .add(Parameter::ordinal("decay", {0.0, 1e-4, 1e-2}));
  BohbSampler sampler(space, BohbOptions().random_fraction(0.0));
  Rng data(31), rng(32);
  for (int i = 0; i < 40; ++i) {
    const Json config = space.sample(data);
    sampler.observe({config, 1.0, std::abs(config.at("layers").get<double>() - 3.0) + data.uniform()});
  }
  REQUIRE(sampler.model_budget());
  auto is_int_in = [](const Json& v, int64_t low, int64_t high) {
    return v.is_number_integer() && v.get<int64_t>() >= low && v.get<int64_t>() <= high;
  };
  std::map<int64_t, int> layers;
  for (const auto& proposal : model_proposals(sampler, rng, 300)) {
    const auto& config = proposal.config;
    CHECK(is_int_in(config.at("layers"), 1, 6));
    CHECK(is_int_in(config.at("width"), 1, 100));
    CHECK(is_int_in(config.at("batch"), 16, 1024));
    CHECK(is_int_in(config.at("steps"), -500, 500));
    CHECK(std::count(sizes.begin(), sizes.end(), config.at("size")) == 1);
    CHECK((config.at("decay") == 0.0 || config.at("decay") == 1e-4 || config.at("decay") == 1e-2));
    ++layers[config.at("layers").get<int64_t>()];
  }
  CHECK(layers[3] > layers[1]);  // the discretised kernel follows the loss
  CHECK(layers[3] > layers[6]);
}

TEST_CASE("bohb: lower budgets are kept once a higher budget has a model", "[tuner][bohb]") {
  BohbSampler sampler(one_uniform(), BohbOptions().random_fraction(0.0));  // d = 1: min_points 2
  Rng data(41), rng(42);
  observe_parabola(sampler, data, 30, 1.0, 0.9);
  CHECK(sampler.model_budget() == 1.0);
  observe_parabola(sampler, data, 3, 3.0, 0.1);  // good 2, bad 1: not yet
  CHECK(sampler.model_budget() == 1.0);
  observe_parabola(sampler, data, 27, 3.0, 0.1);
  CHECK(sampler.model_budget() == 3.0);

  // The model is the higher budget's: proposals go where loss at budget 3 is low.
  std::vector<double> xs;
  for (const auto& proposal : model_proposals(sampler, rng, 100)) xs.push_back(x_of(proposal));
  CHECK(std::abs(median(xs) - 0.1) < 0.1);

  observe_parabola(sampler, data, 10, 1.0, 0.9);
  CHECK(sampler.observations_at(1.0) == 40);  // still kept, still counted
  CHECK(sampler.observations_at(3.0) == 30);
  sampler.observe({Json{{"x", 0.5}}, 9.0, 0.0});  // one point at budget 9 makes no model
  CHECK(sampler.observations_at(9.0) == 1);
  CHECK(sampler.observations_at(27.0) == 0);
  CHECK(sampler.model_budget() == 3.0);
}

TEST_CASE("bohb: the same seed and observations give the same proposals", "[tuner][bohb]") {
  const auto space = SearchSpace()
                         .add(Parameter::uniform("x", -1.0, 1.0))
                         .add(Parameter::log_uniform("lr", 1e-5, 1.0))
                         .add(Parameter::integer("layers", 1, 8))
                         .add(Parameter::choice("opt", {"sgd", "adam", "rmsprop"}))
                         .add(Parameter::ordinal("size", {"s", "m", "l"}))
                         .add(Parameter::fixed("epochs", 3));
  auto run = [&](uint64_t seed) {
    BohbSampler sampler(space);
    Rng rng(seed);
    std::vector<Json> configs;
    for (int i = 0; i < 80; ++i) {
      const auto proposal = sampler.propose(1.0, rng);
      configs.push_back(proposal->config);
      const double x = proposal->config.at("x").get<double>();
      sampler.observe({proposal->config, i % 2 ? 1.0 : 3.0, x * x + 0.1 * (proposal->config.at("opt") == "sgd")});
    }
    REQUIRE(sampler.model_budget());
    return configs;
  };
  const auto first = run(7);
  CHECK(run(7) == first);
  CHECK(run(8) != first);
}

TEST_CASE("bohb: invalid options and observations are refused", "[tuner][bohb]") {
  CHECK_THROWS_AS(BohbSampler(one_uniform(), BohbOptions().top_fraction(0.0)), std::invalid_argument);
  CHECK_THROWS_AS(BohbSampler(one_uniform(), BohbOptions().random_fraction(1.5)), std::invalid_argument);
  CHECK_THROWS_AS(BohbSampler(one_uniform(), BohbOptions().num_candidates(0)), std::invalid_argument);
  CHECK_THROWS_AS(BohbSampler(one_uniform(), BohbOptions().min_bandwidth(0.0)), std::invalid_argument);

  BohbSampler sampler(SearchSpace().add(Parameter::choice("c", {"a", "b"})).add(Parameter::integer("n", 1, 4)));
  CHECK_THROWS_AS(sampler.observe({Json{{"n", 2}}, 1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampler.observe({Json{{"c", "z"}, {"n", 2}}, 1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampler.observe({Json{{"c", "a"}, {"n", 9}}, 1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampler.observe({Json{{"c", "a"}, {"n", "two"}}, 1.0, 0.0}), std::invalid_argument);
  CHECK(sampler.observations_at(1.0) == 0);
}

// Not run by default (hidden): `cohort-tuner-tests "[bench]"`. Prints, never asserts.
TEST_CASE("bohb: time per model-based proposal, 1,000 observations in 6 dims", "[.][bench]") {
  SearchSpace space;
  for (int d = 0; d < 6; ++d) space.add(Parameter::uniform("x" + std::to_string(d), 0.0, 1.0));
  BohbSampler sampler(space, BohbOptions().random_fraction(0.0));
  Rng data(51), rng(52);
  auto loss = [](const Json& config) {
    double sum = 0.0;
    for (const auto& item : config.items()) sum += std::pow(item.value().get<double>() - 0.3, 2);
    return sum;
  };
  for (int i = 0; i < 1000; ++i) {
    const Json config = space.sample(data);
    sampler.observe({config, 1.0, loss(config)});
  }
  using Clock = std::chrono::steady_clock;
  // The best of five batches: the machine is shared, and the best batch is the
  // one least disturbed by others.
  auto best_of_batches = [&](auto step) {
    double best = 1e300;
    for (int batch = 0; batch < 5; ++batch) {
      const auto start = Clock::now();
      for (int i = 0; i < 100; ++i) step();
      best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - start).count() / 100);
    }
    return best;
  };
  sampler.propose(1.0, rng);  // builds the model
  const double cached = best_of_batches([&] { sampler.propose(1.0, rng); });
  // An observation at a lower budget leaves the model's 1,000 points as they
  // are but makes the next proposal rebuild the model, as each result does.
  const double rebuilt = best_of_batches([&] {
    sampler.observe({space.sample(data), 0.5, 0.0});
    sampler.propose(1.0, rng);
  });
  std::printf("bohb: model-based proposal, 1000 observations, 6 continuous dims: %.0f us with the model built, "
              "%.0f us with a rebuild first\n",
              cached, rebuilt);
}
