#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>

#include "cohort/core/error.h"
#include "cohort/tuner/samplers/grid_sampler.h"
#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/space/search_space.h"

using cohort::InputError;
using cohort::tuner::Json;
using cohort::tuner::Parameter;
using cohort::tuner::Rng;
using cohort::tuner::SearchSpace;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

std::string error_of(const Json& space) {
  try {
    SearchSpace::from_json(space, "sweep.json");
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

Json int_parameter(Json low, Json high) { return {{"type", "int"}, {"low", low}, {"high", high}}; }

}  // namespace

TEST_CASE("a space is read from JSON, literals as fixed values", "[tuner][space]") {
  const auto space = SearchSpace::from_json(
      {{"optimizer.lr", {{"type", "loguniform"}, {"low", 1e-4}, {"high", 0.1}}},
       {"model.hidden", {{"type", "choice"}, {"values", {{128}, {256, 256}}}}},
       {"loader.batch_size", {{"type", "int"}, {"low", 16}, {"high", 256}, {"log", true}}},
       {"optimizer.momentum", 0.9}},
      "sweep.json");
  REQUIRE(space.size() == 4);
  Rng rng(1);
  const auto config = space.sample(rng);
  CHECK(config["optimizer.momentum"] == 0.9);
  CHECK(config["optimizer.lr"].get<double>() >= 1e-4);
  CHECK(config["optimizer.lr"].get<double>() <= 0.1);
  Json nested = {{"optimizer", {{"name", "sgd"}}}};
  cohort::tuner::apply_configuration(config, nested);
  CHECK(nested["optimizer"]["name"] == "sgd");
  CHECK(nested["optimizer"]["momentum"] == 0.9);
  CHECK(nested["model"]["hidden"] == config["model.hidden"]);
}

TEST_CASE("spaces that cannot be sampled are refused with the key's path", "[tuner][space]") {
  CHECK_THAT(error_of({{"optimizer.lr", {{"type", "uniform"}, {"low", 0.1}, {"high", 0.01}}}}),
             Equals("sweep.json: \"space.optimizer.lr\": low (0.1) must be below high (0.01)."));
  CHECK_THAT(error_of({{"optimizer.lr", {{"type", "loguniform"}, {"low", 0}, {"high", 1}}}}),
             Contains("\"space.optimizer.lr\": a log scale needs low above 0, not 0."));
  CHECK_THAT(error_of({{"loader.batch_size", {{"type", "int"}, {"low", 0}, {"high", 8}, {"log", true}}}}),
             Contains("a log scale needs low above 0"));
  CHECK_THAT(error_of({{"model.name", {{"type", "choice"}, {"values", Json::array()}}}}),
             Contains("\"space.model.name\": \"values\" must be a non-empty list."));
  CHECK_THAT(error_of({{"model.name", {{"type", "choise"}, {"values", {1}}}}}),
             Contains("unknown type \"choise\" (did you mean \"choice\"?)."));
  CHECK_THAT(error_of({{"x", {{"type", "uniform"}, {"low", 0}, {"hihg", 1}}}}),
             Contains("unknown key \"hihg\" for a uniform parameter (did you mean \"high\"?)."));
  CHECK_THAT(error_of({{"x", {{"type", "int"}, {"low", 0.5}, {"high", 3}}}}), Contains("needs integer bounds"));
  CHECK_THAT(error_of({{"x", {{"type", "uniform"}, {"low", 0}}}}), Contains("a uniform parameter needs \"high\""));
  CHECK_THAT(error_of(Json::object()), Contains("must be an object with at least one parameter"));
}

TEST_CASE("priors: uniform, log-uniform, int and choice draw what they promise", "[tuner][space]") {
  Rng rng(42);
  const int n = 20000;
  const auto uniform = Parameter::uniform("u", 2.0, 4.0);
  const auto log_uniform = Parameter::log_uniform("l", 1e-4, 1.0);
  const auto integer = Parameter::integer("i", 1, 4);
  const auto log_int = Parameter::integer("k", 1, 1000, true);
  const auto choice = Parameter::choice("c", {"a", "b", "c"});
  double sum_u = 0, below_1e2 = 0, log_small = 0;
  std::map<int64_t, int> ints;
  std::map<std::string, int> choices;
  for (int i = 0; i < n; ++i) {
    sum_u += uniform.sample(rng).get<double>();
    below_1e2 += log_uniform.sample(rng).get<double>() < 1e-2;  // half the log-range
    ints[integer.sample(rng).get<int64_t>()]++;
    log_small += log_int.sample(rng).get<int64_t>() < 32;  // about half the log-range of [1, 1001)
    choices[choice.sample(rng).get<std::string>()]++;
  }
  CHECK(sum_u / n == Approx(3.0).margin(0.02));
  CHECK(below_1e2 / n == Approx(0.5).margin(0.02));
  CHECK(log_small / n == Approx(std::log(32.0) / std::log(1001.0)).margin(0.02));
  REQUIRE(ints.size() == 4);
  for (const auto& [value, count] : ints) CHECK(double(count) / n == Approx(0.25).margin(0.02));
  for (const auto& [value, count] : choices) CHECK(double(count) / n == Approx(1.0 / 3).margin(0.02));
}

TEST_CASE("the grid is the full Cartesian product in a fixed order", "[tuner][space]") {
  SearchSpace space;
  space.add(Parameter::grid("a", {1, 2}))
      .add(Parameter::choice("b", {"x", "y", "z"}))
      .add(Parameter::integer("c", 0, 1))
      .add(Parameter::fixed("d", true));
  cohort::tuner::GridSampler sampler(space);
  Rng rng(0);
  std::vector<Json> seen;
  while (auto proposal = sampler.propose(1.0, rng)) seen.push_back(proposal->config);
  REQUIRE(seen.size() == 12);
  CHECK(seen.front() == Json({{"a", 1}, {"b", "x"}, {"c", 0}, {"d", true}}));
  CHECK(seen[1] == Json({{"a", 1}, {"b", "x"}, {"c", 1}, {"d", true}}));
  CHECK(seen.back() == Json({{"a", 2}, {"b", "z"}, {"c", 1}, {"d", true}}));
  CHECK(std::set<std::string>([&] {
          std::set<std::string> keys;
          for (const auto& s : seen) keys.insert(s.dump());
          return keys;
        }()).size() == 12);
  SearchSpace floats;
  floats.add(Parameter::uniform("lr", 0.0, 1.0));
  CHECK_THROWS_WITH(cohort::tuner::GridSampler(floats), Contains("\"space.lr\" is a uniform float"));
}

TEST_CASE("the same seed gives the same random proposals", "[tuner][space]") {
  SearchSpace space;
  space.add(Parameter::uniform("x", 0, 1)).add(Parameter::choice("c", {1, 2, 3}));
  cohort::tuner::RandomSampler a(space), b(space);
  Rng ra(9), rb(9), rc(10);
  for (int i = 0; i < 20; ++i) CHECK(a.propose(1, ra)->config == b.propose(1, rb)->config);
  CHECK(a.propose(1, ra)->config != b.propose(1, rc)->config);
}

// Spaces that would overflow, produce non-finite samples or exhaust the
// coordinator are refused when they are read (issue 19, items 2, 6, 12).

TEST_CASE("an int parameter's span must fit where it is counted", "[tuner][space][limits]") {
  // The reproducer: all of int64 crashed the sampler with SIGFPE (its level count wrapped to 0).
  CHECK_THAT(error_of({{"x1", int_parameter(INT64_MIN, 9223372036854774784LL)}}),
             Contains("sweep.json: \"space.x1\": an int parameter's bounds must lie within +-9007199254740992"));
  CHECK_THAT(error_of({{"x1", int_parameter(0, 1e300)}}), Contains("must lie within +-9007199254740992"));
  // The widest span allowed samples inside its bounds and counts its levels exactly.
  const double bound = 9007199254740992.0;
  const auto space = SearchSpace::from_json({{"x", int_parameter(-bound, bound)}}, "sweep.json");
  const auto& p = space.parameters().at(0);
  CHECK(p.levels() == size_t(2 * 9007199254740992ULL + 1));
  Rng rng(3);
  for (int i = 0; i < 100; ++i) {
    const auto value = space.sample(rng).at("x").get<int64_t>();
    CHECK(double(value) >= -bound);
    CHECK(double(value) <= bound);
    CHECK(p.level(p.index_of(value)) == value);
  }
}

TEST_CASE("a value that is no level of an int parameter is refused, not wrapped", "[tuner][space][limits]") {
  const auto space = SearchSpace::from_json({{"x", int_parameter(5, 9)}}, "sweep.json");
  const auto& p = space.parameters().at(0);
  CHECK(p.index_of(7) == 2);
  CHECK_THROWS_AS(p.index_of(4), std::out_of_range);
  CHECK_THROWS_AS(p.index_of(INT64_MIN), std::out_of_range);
  CHECK_THROWS_AS(p.index_of(Json(18446744073709551615ULL)), std::out_of_range);
  CHECK_THROWS_AS(p.index_of(7.5), std::out_of_range);
}

TEST_CASE("a float parameter whose span is beyond a double is refused", "[tuner][space][limits]") {
  CHECK_THAT(error_of({{"x1", {{"type", "uniform"}, {"low", -1e308}, {"high", 1e308}}}}),
             Contains("\"space.x1\": the span high - low (1e+308 - -1e+308) is beyond a double"));
  // Wide but finite spans sample finite values.
  const auto space =
      SearchSpace::from_json({{"x", {{"type", "uniform"}, {"low", -8e307}, {"high", 8e307}}}}, "sweep.json");
  Rng rng(1);
  for (int i = 0; i < 100; ++i) CHECK(std::isfinite(space.sample(rng).at("x").get<double>()));
}

TEST_CASE("grids and value lists have a bound, named when it is passed", "[tuner][space][limits]") {
  const auto big = SearchSpace::from_json({{"x", int_parameter(0, 10000)}, {"y", int_parameter(0, 10000)}}, "s");
  try {
    big.grid();
    FAIL("a grid of 10001 x 10001 points was built");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Contains("the grid crosses more than 100000 points (at \"space.y\", 10001 values)"));
  }
  // Exactly at the bound is allowed, and the count does not wrap with many large parameters.
  CHECK(SearchSpace::from_json({{"x", int_parameter(0, 99)}, {"y", int_parameter(0, 999)}}, "s").grid_size() ==
        100000);
  Json huge = Json::object();
  for (const char* name : {"a", "b", "c", "d", "e"}) huge[name] = int_parameter(0, 9007199254740992.0);
  CHECK_THROWS_AS(SearchSpace::from_json(huge, "s").grid_size(), InputError);

  Json values = Json::array();
  for (int i = 0; i <= 100000; ++i) values.push_back(i);
  CHECK_THAT(error_of({{"c", {{"type", "choice"}, {"values", values}}}}),
             Contains("\"space.c\": \"values\" lists 100001 values, more than the 100000 a parameter may have."));
  values.erase(values.begin());
  values.back() = 7;  // 100,000 values, one of them twice: still found
  CHECK_THAT(error_of({{"c", {{"type", "grid"}, {"values", values}}}}), Contains("\"values\" lists 7 twice."));
}

TEST_CASE("space messages quote long or multi-line values briefly", "[tuner][space][limits]") {
  const auto message = error_of({{"x", {{"type", std::string(100000, 't') + "\n"}}}});
  CHECK(message.size() < 300);
  CHECK(message.find('\n') == std::string::npos);
  CHECK_THAT(message, Contains("…"));
  CHECK_THAT(error_of({{"a..b", 1}}), Contains("\"space.a..b\": not a valid config key path."));
}
