// Search spaces that would overflow, produce non-finite samples or exhaust
// the coordinator are refused when they are read (issue 19, items 2, 6, 12).

#include <catch2/catch.hpp>

#include <stdexcept>

#include "cohort/core/error.h"
#include "cohort/tuner/space/search_space.h"

using cohort::InputError;
using cohort::tuner::Json;
using cohort::tuner::Rng;
using cohort::tuner::SearchSpace;
using Catch::Matchers::Contains;

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
