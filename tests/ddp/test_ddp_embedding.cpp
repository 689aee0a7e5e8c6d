// Research code's own loop under ddp (issue 14): an unsharded loader is dealt
// out to the ranks instead of training each on everything, a loader sharded
// otherwise is refused, and metrics are those of one process over all the data.
#include <catch2/catch.hpp>

#include "cohort/distributed/runtime.h"
#include "cohort/strategies/ddp/ddp.h"
#include "unit/helpers.h"
#include "unit/regression_fixture.h"

using cohort::strategies::Ddp;
using cohort::strategies::DdpOptions;
using cohort::testing::flat;
using cohort::testing::regression_data;
using cohort::testing::regression_loader;
using cohort::testing::regression_model;
using cohort::testing::regression_options;
using cohort::testing::regression_trainer;
namespace data = cohort::data;
namespace distributed = cohort::distributed;
namespace trainer = cohort::trainer;

namespace {

trainer::TrainerOptions ddp_options(int64_t epochs = 1) {
  return regression_options(epochs).strategy(std::make_shared<Ddp>(DdpOptions().device(torch::kCPU)));
}

/// The metrics of `model` over all of `loader`, computed by this process alone.
std::map<std::string, double> alone(const cohort::testing::RegressionNet& model, const data::DataLoader& loader) {
  auto copy = regression_model();
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : model->named_parameters()) copy->named_parameters()[item.key()].copy_(item.value());
  }
  auto single = regression_trainer(copy, regression_options());
  return single.metrics(single.evaluate(loader));
}

void check_same_metrics(const std::map<std::string, double>& got, const std::map<std::string, double>& expected) {
  for (const auto& [name, value] : expected) {
    INFO(name);
    CHECK(got.at(name) == Approx(value).epsilon(1e-6));
  }
}

}  // namespace

TEST_CASE("an unsharded loader under ddp is dealt out to the ranks", "[ddp][embedding]") {
  const int64_t ranks = distributed::world_size(), rank = distributed::world_rank();
  auto unsharded = regression_trainer(regression_model(), ddp_options());
  unsharded.fit(regression_loader(96, 8));
  CHECK(unsharded.steps_done() == 12 / ranks);

  // The same as the loader a careful user builds for the rank.
  auto sharded = regression_trainer(regression_model(), ddp_options());
  data::DataLoader loader(regression_data(96),
                          data::DataLoaderOptions().batch_size(8).seed(5).num_replicas(ranks).rank(rank));
  sharded.fit(loader);
  CHECK(torch::equal(flat(sharded.model().ptr()->parameters()), flat(unsharded.model().ptr()->parameters())));
}

TEST_CASE("a loader sharded for another number of ranks is refused", "[ddp][embedding]") {
  const int64_t ranks = distributed::world_size();
  auto trainer = regression_trainer(regression_model(), ddp_options());
  data::DataLoader loader(regression_data(32), data::DataLoaderOptions().batch_size(8).num_replicas(ranks + 1).rank(0));
  CHECK_THROWS_WITH(trainer.fit(loader), Catch::Contains("sharded for " + std::to_string(ranks + 1) + " replicas") &&
                                             Catch::Contains("leave both unset"));
}

TEST_CASE("metrics under ddp equal those of one process over all the data", "[ddp][embedding][metrics]") {
  // 101 examples: the ranks' shards are uneven, and each example counts once.
  const auto validation = regression_loader(101, 16, false, 6);
  auto model = regression_model();
  auto parallel = regression_trainer(model, ddp_options(2));
  parallel.fit(regression_loader(96, 8), &validation);
  const auto expected = alone(model, validation);
  check_same_metrics(parallel.metrics(parallel.evaluate(validation)), expected);
  // The record of the last epoch says the same.
  const auto& record = parallel.last_record();
  for (const auto& name : {"r2", "mse", "mae", "loss"}) {
    INFO(name);
    CHECK(record.at(std::string("val_") + name).get<double>() == Approx(expected.at(name)).epsilon(1e-6));
  }
  CHECK(record.at("val_samples") == 101);
}
