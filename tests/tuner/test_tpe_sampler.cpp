#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cohort/tuner/samplers/tpe_sampler.h"
#include "cohort/tuner/schedulers/asha.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/test_functions/test_functions.h"
#include "helpers.h"

using namespace cohort::tuner;
using cohort::tuner::testing::median;

namespace {

SearchSpace one_uniform() { return SearchSpace().add(Parameter::uniform("x", 0.0, 1.0)); }

double x_of(const Proposal& proposal) { return proposal.config.at("x").get<double>(); }

/// Observes `count` draws of x at `budget` with loss (x - best)^2.
void observe_parabola(TpeSampler& sampler, Rng& rng, size_t count, double budget, double best) {
  for (size_t i = 0; i < count; ++i) {
    const double x = rng.uniform();
    sampler.observe({Json{{"x", x}}, budget, (x - best) * (x - best)});
  }
}

/// x of `count` proposals, each required to be model-based.
std::vector<double> model_xs(TpeSampler& sampler, Rng& rng, size_t count) {
  std::vector<double> xs;
  for (size_t i = 0; i < count; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    REQUIRE(proposal->model_based);
    xs.push_back(x_of(*proposal));
  }
  return xs;
}

double mean_distance(const std::vector<double>& values, double to) {
  double sum = 0.0;
  for (double v : values) sum += std::abs(v - to);
  return sum / double(values.size());
}

}  // namespace

TEST_CASE("tpe: prior draws until startup_trials observations, then the model", "[tuner][tpe]") {
  const auto space = SearchSpace()
                         .add(Parameter::uniform("x", 0.0, 1.0))
                         .add(Parameter::fixed("epochs", 5))
                         .add(Parameter::choice("act", {"relu"}));
  TpeSampler sampler(space, TpeOptions().startup_trials(4));
  Rng data(1), rng(2);
  for (int n = 0; n < 4; ++n) {
    const auto proposal = sampler.propose(1.0, rng);
    CHECK_FALSE(proposal->model_based);
    sampler.observe({space.sample(data), 1.0, double(n)});
  }
  for (int i = 0; i < 10; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    CHECK(proposal->model_based);
    CHECK(proposal->config.at("epochs") == 5);  // constants are copied
    CHECK(proposal->config.at("act") == "relu");
  }
  CHECK(sampler.observations() == 4);
  CHECK(sampler.observations_at(1.0) == 4);
}

TEST_CASE("tpe: model-based proposals concentrate where the loss is low", "[tuner][tpe]") {
  for (const bool multivariate : {true, false}) {
    INFO("multivariate " << multivariate);
    TpeSampler sampler(one_uniform(), TpeOptions().multivariate(multivariate));
    Rng data(3), rng(4);
    observe_parabola(sampler, data, 60, 1.0, 0.3);
    const auto xs = model_xs(sampler, rng, 100);
    std::vector<double> prior;
    for (int i = 0; i < 100; ++i) prior.push_back(rng.uniform());
    // The prior's mean distance to 0.3 is about 0.29; the model's must be far smaller.
    CHECK(mean_distance(xs, 0.3) < 0.1);
    CHECK(mean_distance(xs, 0.3) < 0.4 * mean_distance(prior, 0.3));
  }
}

TEST_CASE("tpe: every kind of parameter gets valid values, and choices and ints are learnt", "[tuner][tpe]") {
  const auto space = SearchSpace()
                         .add(Parameter::log_uniform("lr", 1e-5, 1e-1))
                         .add(Parameter::integer("n", 0, 100))
                         .add(Parameter::integer("big", 1, 100000, true))
                         .add(Parameter::ordinal("size", {"s", "m", "l", "xl"}))
                         .add(Parameter::choice("act", {"relu", "tanh", "gelu"}));
  // Best at lr = 1e-3, n = 17, act = tanh; the others do not matter.
  auto loss = [](const Json& c) {
    return std::abs(std::log10(c.at("lr").get<double>()) + 3.0) + std::abs(c.at("n").get<int>() - 17) / 10.0 +
           (c.at("act") == "tanh" ? 0.0 : 2.0);
  };
  TpeSampler sampler(space);
  Rng rng(5);
  int tanh = 0, near_17 = 0;
  for (int i = 0; i < 150; ++i) {
    const auto proposal = sampler.propose(1.0, rng);
    const Json& c = proposal->config;
    // observe() refuses a value the space cannot take: each proposal must be valid.
    REQUIRE_NOTHROW(sampler.observe({c, 1.0, loss(c)}));
    CHECK(c.at("n").is_number_integer());
    CHECK(c.at("big").get<int64_t>() >= 1);
    CHECK(c.at("big").get<int64_t>() <= 100000);
    if (i >= 100) {
      tanh += c.at("act") == "tanh";
      near_17 += std::abs(c.at("n").get<int>() - 17) <= 10;
    }
  }
  // A third of the prior's choices are tanh and a fifth of its n within 10 of 17.
  CHECK(tanh >= 35);
  CHECK(near_17 >= 25);
}

TEST_CASE("tpe: constant liar spreads the proposals of trials that run at once", "[tuner][tpe]") {
  // Eight workers ask one after another with nothing finished: without the
  // liar every proposal comes from the same model and piles up; with it each
  // running trial pushes the next proposals away.
  auto spread = [](bool liar) {
    TpeSampler sampler(one_uniform(), TpeOptions().constant_liar(liar));
    Rng data(6), rng(7);
    observe_parabola(sampler, data, 30, 1.0, 0.5);
    std::vector<double> xs;
    for (int i = 0; i < 8; ++i) {
      const auto proposal = sampler.propose(1.0, rng);
      sampler.trial_started(proposal->config, 1.0);
      xs.push_back(x_of(*proposal));
    }
    CHECK(sampler.pending() == 8);
    std::sort(xs.begin(), xs.end());
    double smallest = 1.0;
    for (size_t i = 1; i < xs.size(); ++i) smallest = std::min(smallest, xs[i] - xs[i - 1]);
    return smallest;
  };
  const double with_liar = spread(true), without = spread(false);
  CAPTURE(with_liar, without);
  CHECK(with_liar > 2.0 * without);
}

TEST_CASE("tpe: a running trial stops being pending when it ends or is observed", "[tuner][tpe]") {
  TpeSampler sampler(one_uniform());
  const Json a{{"x", 0.25}}, b{{"x", 0.75}};
  sampler.trial_started(a, 1.0);
  sampler.trial_started(b, 1.0);
  CHECK(sampler.pending() == 2);
  sampler.trial_ended(a, 1.0);
  CHECK(sampler.pending() == 1);
  sampler.observe({b, 1.0, 0.5});  // a result: no longer a lie, though still running until ended
  CHECK(sampler.pending() == 0);
  sampler.trial_started(b, 3.0);  // a promotion of an observed configuration is not a lie either
  CHECK(sampler.pending() == 0);
  sampler.trial_ended(Json{{"x", 0.5}}, 1.0);  // never started: ignored
}

TEST_CASE("tpe: the largest budget with min_points observations dominates lower ones", "[tuner][tpe]") {
  // The cheap budget says 0.8 is best, the full one 0.2 (a biased low fidelity).
  TpeSampler sampler(one_uniform(), TpeOptions().min_points(10));
  Rng data(8), rng(9);
  observe_parabola(sampler, data, 90, 1.0, 0.8);
  CHECK(*sampler.reference_budget() == 1.0);
  observe_parabola(sampler, data, 9, 81.0, 0.2);
  CHECK(*sampler.reference_budget() == 1.0);  // 9 < min_points
  observe_parabola(sampler, data, 1, 81.0, 0.2);
  CHECK(*sampler.reference_budget() == 81.0);
  const auto xs = model_xs(sampler, rng, 100);
  // Each budget-1 kernel weighs 1/81: the full budget's optimum wins.
  CHECK(mean_distance(xs, 0.2) < mean_distance(xs, 0.8));
  CHECK(median(xs) < 0.5);

  // budget_exponent 0 weighs every budget alike: the 90 cheap points win.
  TpeSampler flat(one_uniform(), TpeOptions().budget_exponent(0.0));
  Rng data2(8), rng2(9);
  observe_parabola(flat, data2, 90, 1.0, 0.8);
  observe_parabola(flat, data2, 10, 81.0, 0.2);
  CHECK(median(model_xs(flat, rng2, 100)) > 0.5);
}

namespace {

/// Ten configurations spread over [0, 1], observed at budget 1 with loss
/// (x - low_best)^2 and at budget 81 with (x - high_best)^2: promoted, as a
/// scheduler would, so each budget's ranking can be compared with the other's.
void observe_promoted(TpeSampler& sampler, double low_best, double high_best) {
  for (int i = 0; i < 10; ++i) {
    const double x = 0.05 + 0.1 * i;
    sampler.observe({Json{{"x", x}}, 1.0, (x - low_best) * (x - low_best)});
    sampler.observe({Json{{"x", x}}, 81.0, (x - high_best) * (x - high_best)});
  }
}

}  // namespace

TEST_CASE("tpe: a lower budget weighs as much as it ranks like the reference", "[tuner][tpe]") {
  const auto options = TpeOptions().min_points(10).agreement_exponent(1.0);
  SECTION("a budget that ranks alike keeps its cost weight") {
    TpeSampler sampler(one_uniform(), options);
    observe_promoted(sampler, 0.3, 0.3);
    CHECK(*sampler.reference_budget() == 81.0);
    CHECK(sampler.budget_weights().at(1.0) == Approx(1.0 / 81));
    CHECK(sampler.budget_weights().at(81.0) == 1.0);
  }
  SECTION("one that ranks against it weighs nothing") {
    TpeSampler sampler(one_uniform(), options);
    observe_promoted(sampler, 0.8, 0.2);  // Kendall's tau about -0.7, clipped to 0
    CHECK(sampler.budget_weights().at(1.0) == 0.0);
    // Without the agreement the cost alone weighs it.
    TpeSampler by_cost(one_uniform(), TpeOptions().min_points(10).agreement_exponent(0.0));
    observe_promoted(by_cost, 0.8, 0.2);
    CHECK(by_cost.budget_weights().at(1.0) == Approx(1.0 / 81));
  }
  SECTION("fewer than min_points configurations at both budgets: no evidence, the cost alone") {
    TpeSampler sampler(one_uniform(), TpeOptions().min_points(11).agreement_exponent(1.0));
    observe_promoted(sampler, 0.8, 0.2);
    sampler.observe({Json{{"x", 0.5}}, 81.0, 0.09});  // 11 at the reference, 10 of them paired
    CHECK(*sampler.reference_budget() == 81.0);
    CHECK(sampler.budget_weights().at(1.0) == Approx(1.0 / 81));
  }
}

TEST_CASE("tpe: by default a lower budget weighs its cost times its agreement squared", "[tuner][tpe]") {
  // Ten configurations ranked alike at both budgets but for one swapped
  // pair: 44 concordant pairs, 1 discordant, tau = 43 / 45.
  TpeSampler sampler(one_uniform());
  for (int i = 0; i < 10; ++i) {
    const double x = 0.05 + 0.1 * i;
    const double cheap = i == 0 ? 0.15 : i == 1 ? 0.05 : x;
    sampler.observe({Json{{"x", x}}, 3.0, cheap});
    sampler.observe({Json{{"x", x}}, 27.0, x});
  }
  CHECK(sampler.budget_weights().at(3.0) == Approx(3.0 / 27 * (43.0 / 45) * (43.0 / 45)));
}

TEST_CASE("tpe: a cheap budget that disagrees with the full one stops steering the proposals", "[tuner][tpe]") {
  // budget_exponent 0 weighs both budgets alike, so the 90 cheap observations
  // at 0.8 would outvote the full budget's 0.2 (as in the test above); the
  // ten promoted configurations show that the cheap budget ranks against
  // the full one, and the agreement silences it.
  auto median_x = [](double agreement_exponent) {
    TpeSampler sampler(one_uniform(), TpeOptions().budget_exponent(0.0).agreement_exponent(agreement_exponent));
    Rng data(8), rng(9);
    observe_parabola(sampler, data, 80, 1.0, 0.8);
    observe_promoted(sampler, 0.8, 0.2);
    return median(model_xs(sampler, rng, 100));
  };
  CHECK(median_x(0.0) > 0.5);
  CHECK(median_x(1.0) < 0.35);
}

TEST_CASE("tpe: budgets that rank alike give the same proposals with or without the agreement", "[tuner][tpe]") {
  // A budget-independent objective (the same loss at every budget) ranks
  // alike everywhere: tau is 1, and the agreement changes nothing.
  auto run = [](double agreement_exponent) {
    TpeSampler sampler(one_uniform(), TpeOptions().agreement_exponent(agreement_exponent));
    Rng data(12), rng(13);
    observe_parabola(sampler, data, 30, 1.0, 0.4);
    observe_promoted(sampler, 0.4, 0.4);
    return model_xs(sampler, rng, 20);
  };
  CHECK(run(0.0) == run(2.0));
}

TEST_CASE("tpe: random_fraction replaces that share of model-based proposals by prior draws", "[tuner][tpe]") {
  auto model_based = [](double fraction) {
    TpeSampler sampler(one_uniform(), TpeOptions().random_fraction(fraction));
    Rng data(14), rng(15);
    observe_parabola(sampler, data, 30, 1.0, 0.5);
    int count = 0;
    for (int i = 0; i < 200; ++i) count += sampler.propose(1.0, rng)->model_based;
    return count;
  };
  CHECK(model_based(0.0) == 200);
  CHECK(model_based(1.0) == 0);
  const int half = model_based(0.5);
  CHECK(half > 70);
  CHECK(half < 130);
}

TEST_CASE("tpe: the same seed and observations give the same proposals", "[tuner][tpe]") {
  auto run = [] {
    TpeSampler sampler(SearchSpace()
                           .add(Parameter::uniform("x", -1.0, 1.0))
                           .add(Parameter::integer("k", 1, 9))
                           .add(Parameter::choice("c", {"a", "b"})));
    Rng rng(11);
    std::vector<Json> out;
    for (int i = 0; i < 40; ++i) {
      auto proposal = sampler.propose(1.0, rng);
      out.push_back(proposal->config);
      sampler.observe({proposal->config, 1.0, std::abs(proposal->config.at("x").get<double>() - 0.1)});
    }
    return out;
  };
  CHECK(run() == run());
}

TEST_CASE("tpe: invalid options and observations are refused", "[tuner][tpe]") {
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().num_candidates(0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().gamma_fraction(0.0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().gamma_fraction(1.5)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().gamma_max(0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().prior_weight(0.0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().budget_exponent(-1.0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().min_points(0)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().agreement_exponent(-0.5)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().random_fraction(-0.1)), std::invalid_argument);
  CHECK_THROWS_AS(TpeSampler(one_uniform(), TpeOptions().random_fraction(1.5)), std::invalid_argument);
  TpeSampler sampler(one_uniform());
  CHECK_THROWS_AS(sampler.observe({Json{{"y", 0.5}}, 1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(sampler.observe({Json{{"x", "high"}}, 1.0, 0.0}), std::invalid_argument);
  CHECK(sampler.observations() == 0);
}

TEST_CASE("tpe in a study: ASHA's workers asking at once get distinct configurations", "[tuner][tpe][study]") {
  // Sixteen workers: after a sequential start, every ask happens while the
  // others' trials run. The constant liar keeps the new configurations apart.
  const TestObjective objective = branin();
  auto min_gap = [&](bool liar) {
    Study study(std::make_unique<TpeSampler>(objective.space, TpeOptions().constant_liar(liar)),
                std::make_unique<AshaScheduler>(AshaOptions().min_budget(1).max_budget(9).eta(3)),
                StudyOptions().seed(3));
    for (int i = 0; i < 40; ++i) {
      const auto trial = study.ask();
      study.tell(*trial, Result::completed(objective.evaluate(trial->config, trial->budget)));
    }
    std::vector<Trial> running;
    for (int i = 0; i < 16; ++i) running.push_back(*study.ask());
    double gap = 1e9;
    for (size_t i = 0; i < running.size(); ++i)
      for (size_t j = 0; j < i; ++j) {
        if (running[i].config_id == running[j].config_id) continue;
        const double dx = (running[i].config.at("x1").get<double>() - running[j].config.at("x1").get<double>()) / 15;
        const double dy = (running[i].config.at("x2").get<double>() - running[j].config.at("x2").get<double>()) / 15;
        gap = std::min(gap, std::hypot(dx, dy));
      }
    return gap;
  };
  const double with_liar = min_gap(true), without = min_gap(false);
  CAPTURE(with_liar, without);
  CHECK(with_liar > without);
  CHECK(with_liar > 0.01);
}

TEST_CASE("tpe beats random search at full fidelity on Branin and Hartmann6", "[tuner][tpe][comparison]") {
  for (const auto& objective : {branin(), hartmann6()}) {
    INFO(objective.name);
    auto regret = [&](bool tpe, uint64_t seed) {
      std::unique_ptr<Sampler> sampler;
      if (tpe) sampler = std::make_unique<TpeSampler>(objective.space);
      else sampler = std::make_unique<RandomSampler>(objective.space);
      Study study(std::move(sampler), std::make_unique<FifoScheduler>(objective.max_budget),
                  StudyOptions().seed(seed).max_trials(60));
      cohort::tuner::testing::run_sequentially(
          study, [&](const Trial& t) { return Result::completed(objective.evaluate(t.config, t.budget)); });
      return *study.best()->value - objective.optimum;
    };
    std::vector<double> tpe, random;
    for (uint64_t seed = 1; seed <= 7; ++seed) {
      tpe.push_back(regret(true, seed));
      random.push_back(regret(false, seed));
    }
    CAPTURE(median(tpe), median(random));
    CHECK(median(tpe) < 0.5 * median(random));
  }
}
