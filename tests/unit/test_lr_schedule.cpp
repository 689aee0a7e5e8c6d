#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/optim/lr_schedule.h"

using cohort::optim::LrSchedule;
using cohort::optim::LrScheduleKind;
using cohort::optim::LrScheduleOptions;

TEST_CASE("step decay multiplies by gamma every step_epochs epochs", "[optim]") {
  LrSchedule schedule(LrScheduleOptions().kind(LrScheduleKind::kStep).step_epochs(2).gamma(0.5), {1.0});
  // 10 steps per epoch.
  CHECK(schedule.factor(0, 10, 100) == Approx(1.0));
  CHECK(schedule.factor(19, 10, 100) == Approx(1.0));
  CHECK(schedule.factor(20, 10, 100) == Approx(0.5));
  CHECK(schedule.factor(45, 10, 100) == Approx(0.25));
}

TEST_CASE("cosine falls from the base rate to min_factor at the last step", "[optim]") {
  LrSchedule schedule(LrScheduleOptions().kind(LrScheduleKind::kCosine).min_factor(0.1), {1.0});
  CHECK(schedule.factor(0, 10, 101) == Approx(1.0));
  CHECK(schedule.factor(50, 10, 101) == Approx(0.55));
  CHECK(schedule.factor(100, 10, 101) == Approx(0.1));
}

TEST_CASE("warm-up rises linearly, then the schedule takes over", "[optim]") {
  LrSchedule schedule(LrScheduleOptions().kind(LrScheduleKind::kCosine).warmup_steps(4), {1.0});
  CHECK(schedule.factor(0, 10, 105) == Approx(0.25));
  CHECK(schedule.factor(3, 10, 105) == Approx(1.0));
  CHECK(schedule.factor(4, 10, 105) == Approx(1.0));
  CHECK(schedule.factor(54, 10, 105) == Approx(0.5));
  CHECK(schedule.factor(104, 10, 105) == Approx(0.0).margin(1e-12));
}

TEST_CASE("apply sets every parameter group from its own base rate", "[optim]") {
  auto a = torch::zeros({1}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  torch::optim::SGD sgd({torch::optim::OptimizerParamGroup({a}, std::make_unique<torch::optim::SGDOptions>(0.2)),
                         torch::optim::OptimizerParamGroup({b}, std::make_unique<torch::optim::SGDOptions>(0.4))},
                        torch::optim::SGDOptions(0.2));
  LrSchedule schedule(LrScheduleOptions().kind(LrScheduleKind::kStep).step_epochs(1).gamma(0.1), {0.2, 0.4});
  CHECK(schedule.apply(sgd, 5, 5, 50) == Approx(0.02));
  CHECK(sgd.param_groups()[1].options().get_lr() == Approx(0.04));
}
