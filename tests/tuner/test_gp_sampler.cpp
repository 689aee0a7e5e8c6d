#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cohort/tuner/samplers/gp_sampler.h"
#include "cohort/tuner/samplers/registry.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "cohort/tuner/test_functions/test_functions.h"
#include "helpers.h"

using namespace cohort::tuner;

namespace {

SearchSpace one_uniform() { return SearchSpace().add(Parameter::uniform("x", 0.0, 1.0)); }

double x_of(const Proposal& proposal) { return proposal.config.at("x").get<double>(); }

/// The best value a sequential full-fidelity study of `trials` trials finds on `objective`.
double best_of(std::unique_ptr<Sampler> sampler, const TestObjective& objective, size_t trials, uint64_t seed) {
  Study study(std::move(sampler), std::make_unique<FifoScheduler>(objective.max_budget),
              StudyOptions().seed(seed).max_trials(trials));
  cohort::tuner::testing::run_sequentially(
      study, [&](const Trial& t) { return Result::completed(objective.evaluate(t.config, t.budget)); });
  return *study.best()->value;
}

}  // namespace

TEST_CASE("gp: prior draws until startup_trials observations, then the model", "[tuner][gp]") {
  const auto space = SearchSpace()
                         .add(Parameter::uniform("x", 0.0, 1.0))
                         .add(Parameter::fixed("epochs", 5))
                         .add(Parameter::choice("act", {"relu"}));
  GpSampler sampler(space, GpOptions().startup_trials(4));
  Rng data(1), rng(2);
  for (int n = 0; n < 4; ++n) {
    CHECK_FALSE(sampler.propose(1.0, rng)->model_based);
    const Json config = space.sample(data);
    sampler.observe({config, 1.0, std::abs(config.at("x").get<double>() - 0.3)});
  }
  for (int i = 0; i < 5; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    CHECK(proposal->model_based);
    CHECK(proposal->config.at("epochs") == 5);  // constants are copied
    CHECK(proposal->config.at("act") == "relu");
  }
  CHECK(sampler.observations() == 4);
}

TEST_CASE("gp: the same seed and observations give the same proposals", "[tuner][gp]") {
  auto run = [] {
    GpSampler sampler(SearchSpace()
                          .add(Parameter::uniform("x", -1.0, 1.0))
                          .add(Parameter::integer("k", 1, 9))
                          .add(Parameter::choice("c", {"a", "b"})));
    Rng rng(11);
    std::vector<Json> out;
    for (int i = 0; i < 25; ++i) {
      auto proposal = sampler.propose(1.0, rng);
      out.push_back(proposal->config);
      sampler.observe({proposal->config, 1.0, std::abs(proposal->config.at("x").get<double>() - 0.1)});
    }
    return out;
  };
  CHECK(run() == run());
}

TEST_CASE("gp: every kind of parameter gets valid values, and choices and ints are learnt", "[tuner][gp]") {
  const auto space = SearchSpace()
                         .add(Parameter::log_uniform("lr", 1e-5, 1e-1))
                         .add(Parameter::integer("n", 0, 100))
                         .add(Parameter::integer("big", 1, 100000, true))
                         .add(Parameter::ordinal("size", {"s", "m", "l", "xl"}))
                         .add(Parameter::choice("act", {"relu", "tanh", "gelu"}))
                         .add(Parameter::fixed("epochs", 3));
  // Best at lr = 1e-3, n = 17, act = tanh; the others do not matter.
  auto loss = [](const Json& c) {
    return std::abs(std::log10(c.at("lr").get<double>()) + 3.0) + std::abs(c.at("n").get<int>() - 17) / 10.0 +
           (c.at("act") == "tanh" ? 0.0 : 2.0);
  };
  GpSampler sampler(space);
  Rng rng(5);
  int tanh = 0, near_17 = 0;
  for (int i = 0; i < 45; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    const Json& c = proposal->config;
    // observe() refuses a value the space cannot take: each proposal must be valid.
    REQUIRE_NOTHROW(sampler.observe({c, 1.0, loss(c)}));
    CHECK(c.at("n").is_number_integer());
    CHECK(c.at("big").is_number_integer());
    CHECK(c.at("big").get<int64_t>() >= 1);
    CHECK(c.at("big").get<int64_t>() <= 100000);
    CHECK(c.at("lr").get<double>() >= 1e-5);
    CHECK(c.at("lr").get<double>() <= 1e-1);
    CHECK(c.at("epochs") == 3);
    if (i >= 25) {
      tanh += c.at("act") == "tanh";
      near_17 += std::abs(c.at("n").get<int>() - 17) <= 10;
    }
  }
  // A third of the prior's choices are tanh and a fifth of its n within 10 of 17 (of 20 proposals).
  CHECK(tanh >= 14);
  CHECK(near_17 >= 10);
}

TEST_CASE("gp beats random search's best on Branin with the same seed and 40 trials", "[tuner][gp][comparison]") {
  const TestObjective objective = branin();
  for (const uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    const double gp = best_of(std::make_unique<GpSampler>(objective.space), objective, 40, seed) - objective.optimum;
    const double random =
        best_of(std::make_unique<RandomSampler>(objective.space), objective, 40, seed) - objective.optimum;
    CAPTURE(gp, random);
    CHECK(gp < 0.2 * random);
  }
}

TEST_CASE("gp: trials running at once are believed, so concurrent asks are not near-copies", "[tuner][gp]") {
  auto smallest_gap = [](bool believe) {
    GpSampler sampler(one_uniform(), GpOptions().believe_pending(believe));
    Rng data(6), rng(7);
    for (int i = 0; i < 20; ++i) {
      const double x = data.uniform();
      sampler.observe({Json{{"x", x}}, 1.0, (x - 0.5) * (x - 0.5)});
    }
    std::vector<double> xs;
    for (int i = 0; i < 6; ++i) {
      const auto proposal = sampler.propose(1.0, rng);
      sampler.trial_started(proposal->config, 1.0);
      xs.push_back(x_of(*proposal));
    }
    CHECK(sampler.pending() == 6);
    std::sort(xs.begin(), xs.end());
    double gap = 1.0;
    for (size_t i = 1; i < xs.size(); ++i) gap = std::min(gap, xs[i] - xs[i - 1]);
    return gap;
  };
  const double believed = smallest_gap(true), ignored = smallest_gap(false);
  CAPTURE(believed, ignored);
  CHECK(believed > 0.01);
  CHECK(believed > 10 * ignored);
}

TEST_CASE("gp: a running trial stops being pending when it ends or is observed", "[tuner][gp]") {
  GpSampler sampler(one_uniform());
  const Json a{{"x", 0.25}}, b{{"x", 0.75}};
  sampler.trial_started(a, 1.0);
  sampler.trial_started(b, 1.0);
  sampler.trial_started(Json{{"y", 1}}, 1.0);  // not of this space: ignored
  CHECK(sampler.pending() == 2);
  sampler.trial_ended(a, 1.0);
  CHECK(sampler.pending() == 1);
  sampler.observe({b, 1.0, 0.5});
  CHECK(sampler.pending() == 0);
}

TEST_CASE("gp: NaN and huge losses neither break the model nor flatten it", "[tuner][gp]") {
  GpSampler sampler(one_uniform());
  Rng data(8), rng(9);
  for (int i = 0; i < 30; ++i) {
    const double x = data.uniform();
    // Diverged runs on the right (NaN or 1e300), a parabola around 0.2 elsewhere.
    const double loss = x > 0.9 ? (i % 2 ? std::nan("") : 1e300) : (x - 0.2) * (x - 0.2);
    sampler.observe({Json{{"x", x}}, 1.0, loss});
  }
  double distance = 0.0;
  for (int i = 0; i < 10; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    REQUIRE(proposal->model_based);
    const double x = x_of(*proposal);
    REQUIRE(std::isfinite(x));
    distance += std::abs(x - 0.2) / 10;
    sampler.observe({proposal->config, 1.0, (x - 0.2) * (x - 0.2)});
  }
  // The prior's mean distance to 0.2 is 0.34; the model's must be far smaller.
  CHECK(distance < 0.1);
}

TEST_CASE("gp: with Hyperband the model is fitted at the largest budget with min_points observations",
          "[tuner][gp]") {
  GpSampler sampler(one_uniform(), GpOptions().startup_trials(0).min_points(3));
  CHECK_FALSE(sampler.model_budget());
  Rng rng(10);
  for (int i = 0; i < 9; ++i) sampler.observe({Json{{"x", rng.uniform()}}, 1.0, 1.0});
  sampler.observe({Json{{"x", 0.5}}, 9.0, 0.0});
  sampler.observe({Json{{"x", 0.6}}, 9.0, 0.1});
  CHECK(*sampler.model_budget() == 1.0);  // only two at 9
  sampler.observe({Json{{"x", 0.7}}, 9.0, 0.2});
  CHECK(*sampler.model_budget() == 9.0);
  CHECK(sampler.propose(9.0, rng)->model_based);
}

TEST_CASE("gp: invalid options, observations and config keys are refused", "[tuner][gp]") {
  CHECK_THROWS_AS(GpSampler(one_uniform(), GpOptions().num_candidates(0)), std::invalid_argument);
  CHECK_THROWS_AS(GpSampler(one_uniform(), GpOptions().max_points(1)), std::invalid_argument);
  CHECK_THROWS_AS(GpSampler(one_uniform(), GpOptions().fit_iterations(0)), std::invalid_argument);
  GpSampler sampler(one_uniform());
  CHECK_THROWS_AS(sampler.observe({Json{{"y", 0.5}}, 1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampler.observe({Json{{"x", "high"}}, 1.0, 0.0}), std::invalid_argument);
  CHECK(sampler.observations() == 0);
  // From a config: one sentence naming the key.
  const auto schema = sampler_registry().schemas().at("gp");
  CHECK_THROWS_WITH(schema.validate(Json{{"max_points", 1}}, "sweep.json", "sampler"),
                    Catch::Contains("\"sampler.max_points\" must be between 2 and 1000, got 1"));
  CHECK_THROWS_WITH(schema.validate(Json{{"max_point", 100}}, "sweep.json", "sampler"),
                    Catch::Contains("max_point"));
  Json options = schema.validate(Json{{"max_points", 64}}, "sweep.json", "sampler");
  options["name"] = "gp";
  auto built = sampler_registry().create(options, one_uniform());
  CHECK(dynamic_cast<GpSampler&>(*built).options().max_points() == 64);
}
