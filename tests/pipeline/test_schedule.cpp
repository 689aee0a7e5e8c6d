#include <catch2/catch.hpp>

#include <algorithm>

#include "cohort/strategies/pipeline/schedule.h"

using namespace cohort::strategies::pipeline;

namespace {

/// Every micro-batch is forwarded once and backwarded once after it, and both
/// kinds run in micro-batch order (what lets neighbours match messages by order).
void check_well_formed(const std::vector<Action>& order, int64_t micro_batches) {
  REQUIRE(order.size() == size_t(2 * micro_batches));
  int64_t next_forward = 0, next_backward = 0;
  for (const auto& action : order) {
    if (action.kind == Action::Kind::kForward) {
      CHECK(action.micro_batch == next_forward++);
    } else {
      CHECK(action.micro_batch == next_backward++);
      CHECK(action.micro_batch < next_forward);
    }
  }
}

}  // namespace

TEST_CASE("GPipe runs every forward, then every backward", "[pipeline][schedule]") {
  const auto order = actions(Schedule::kGPipe, 3, 1, 4);
  check_well_formed(order, 4);
  for (int64_t i = 0; i < 4; ++i) {
    CHECK(order[size_t(i)] == Action{Action::Kind::kForward, i});
    CHECK(order[size_t(4 + i)] == Action{Action::Kind::kBackward, i});
  }
  CHECK(peak_in_flight(order) == 4);
}

TEST_CASE("1F1B warms up with stages - stage - 1 forwards, then alternates", "[pipeline][schedule]") {
  using K = Action::Kind;
  // Stage 0 of 3, 4 micro-batches: F0 F1 | F2 B0 F3 B1 | B2 B3.
  const std::vector<Action> expected{{K::kForward, 0},  {K::kForward, 1},  {K::kForward, 2},  {K::kBackward, 0},
                                     {K::kForward, 3},  {K::kBackward, 1}, {K::kBackward, 2}, {K::kBackward, 3}};
  CHECK(actions(Schedule::k1F1B, 3, 0, 4) == expected);
  // The last stage has no warm-up: F B F B ...
  const auto last = actions(Schedule::k1F1B, 3, 2, 4);
  for (size_t i = 0; i < last.size(); ++i) CHECK(last[i].kind == (i % 2 == 0 ? K::kForward : K::kBackward));
}

TEST_CASE("1F1B keeps at most stages - stage micro-batches in flight, GPipe all of them", "[pipeline][schedule]") {
  for (int64_t stages : {1, 2, 3, 4, 8}) {
    for (int64_t micro_batches : {1, 2, 3, 4, 8, 16}) {
      for (int64_t stage = 0; stage < stages; ++stage) {
        INFO("stage " << stage << " of " << stages << ", " << micro_batches << " micro-batches");
        const auto one_f_one_b = actions(Schedule::k1F1B, stages, stage, micro_batches);
        const auto gpipe = actions(Schedule::kGPipe, stages, stage, micro_batches);
        check_well_formed(one_f_one_b, micro_batches);
        check_well_formed(gpipe, micro_batches);
        CHECK(peak_in_flight(one_f_one_b) == std::min(stages - stage, micro_batches));
        CHECK(peak_in_flight(gpipe) == micro_batches);
      }
    }
  }
}

TEST_CASE("schedules are named gpipe and 1f1b", "[pipeline][schedule]") {
  CHECK(parse_schedule("gpipe") == Schedule::kGPipe);
  CHECK(parse_schedule(to_string(Schedule::k1F1B)) == Schedule::k1F1B);
  CHECK_THROWS_WITH(parse_schedule("zigzag"), Catch::Contains("use gpipe or 1f1b"));
  CHECK_THROWS_AS(actions(Schedule::k1F1B, 2, 2, 4), std::invalid_argument);
}
