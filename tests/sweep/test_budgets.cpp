// Budgets in epochs, fractions allowed: stopping part-way through an epoch,
// its record and checkpoint, resuming from there exactly, and the stop hook.
#include <catch2/catch.hpp>

#include <fstream>

#include "cohort/data/data_loader.h"
#include "sweep_helpers.h"

using Catch::Matchers::Contains;
using cohort::job::TrainingJob;
using cohort::testing::flat_parameters;
using cohort::testing::same_parameters;
using cohort::testing::sweep_base_config;
using cohort::testing::temporary_directory;
using cohort::trainer::FitOptions;
namespace fs = std::filesystem;
namespace trainer = cohort::trainer;

namespace {

/// The base job with output to `dir` and a horizon of 3 epochs.
cohort::config::Json job_config(const fs::path& dir) {
  return sweep_base_config({{"output_dir", dir.string()}, {"trainer", {{"epochs", 3}}}});
}

nlohmann::json last_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  return nlohmann::json::parse(last);
}

}  // namespace

TEST_CASE("a pass can start part-way without building the batches before", "[budgets][data]") {
  auto data = cohort::data::dataset_registry().create(sweep_base_config().at("data"), 7).train;
  for (int64_t workers : {0, 2}) {
    const auto options = cohort::data::DataLoaderOptions().batch_size(16).num_workers(workers).seed(3);
    cohort::data::DataLoader loader(data, options);
    auto whole = loader.epoch(2);
    for (int i = 0; i < 5; ++i) whole->next();
    auto rest = loader.epoch(2, 5);
    int64_t count = 0;
    while (auto batch = rest->next()) {
      auto expected = whole->next();
      REQUIRE(expected);
      CHECK(torch::equal(batch->target, expected->target));
      CHECK(torch::equal(batch->data, expected->data));
      ++count;
    }
    CHECK_FALSE(whole->next().has_value());
    CHECK(count == loader.num_batches() - 5);
  }
}

TEST_CASE("checkpoint names say their epochs, fractions too, and sort by them", "[budgets][checkpoint]") {
  CHECK(trainer::checkpoint_name(1, 8, 16) == "epoch-0001.5.pt");
  CHECK(trainer::checkpoint_name(0, 1, 3) == "epoch-0000.333333.pt");
  CHECK(trainer::checkpoint_name(2, 0, 16) == "epoch-0002.pt");
  CHECK(trainer::checkpoint_epochs("/x/epoch-0001.5.pt").value() == Approx(1.5));
  CHECK(trainer::checkpoint_epochs("epoch-0003.pt").value() == Approx(3.0));
  CHECK_FALSE(trainer::checkpoint_epochs("epoch-0003.pt.tmp").has_value());
  CHECK_FALSE(trainer::checkpoint_epochs("epoch-x.pt").has_value());
  const auto dir = temporary_directory("checkpoint-names");
  for (const char* name : {"epoch-0002.pt", "epoch-0001.5.pt", "epoch-0001.pt", "epoch-0000.25.pt", "notes.txt"})
    std::ofstream(dir / name) << "x";
  std::vector<std::string> names;
  for (const auto& path : trainer::list_checkpoints(dir.string())) names.push_back(fs::path(path).filename());
  CHECK(names == std::vector<std::string>{"epoch-0000.25.pt", "epoch-0001.pt", "epoch-0001.5.pt", "epoch-0002.pt"});
}

TEST_CASE("a stop part-way through an epoch evaluates, records the fraction and checkpoints there", "[budgets]") {
  const auto dir = temporary_directory("budget-stop");
  TrainingJob job(job_config(dir), "test config");
  const auto results = job.fit(FitOptions().until_epochs(1.5));
  REQUIRE(results.size() == 2);
  CHECK(results[0].epochs == 1.0);
  CHECK(results[1].epochs == 1.5);
  CHECK(results[1].validation.has_value());
  CHECK(job.trainer().epochs_done() == 1);
  CHECK(job.trainer().epoch_steps_done() == 8);
  CHECK(job.trainer().steps_done() == 24);
  const auto record = last_line(dir / "metrics.jsonl");
  CHECK(record.at("epoch") == 1.5);
  CHECK(record.at("step") == 24);
  CHECK(record.contains("val_accuracy"));
  CHECK(record == job.trainer().last_record());
  CHECK(fs::exists(dir / "checkpoints" / "epoch-0001.5.pt"));
}

TEST_CASE("stopping at 0.5 and resuming to 1.5 equals training straight to 1.5", "[budgets][checkpoint]") {
  const auto straight_dir = temporary_directory("budget-straight");
  TrainingJob straight(job_config(straight_dir), "test config");
  straight.fit(FitOptions().until_epochs(1.5));

  const auto split_dir = temporary_directory("budget-split");
  {
    TrainingJob first(job_config(split_dir), "test config");
    first.fit(FitOptions().until_epochs(0.5));
  }
  TrainingJob second(job_config(split_dir), "test config");
  second.resume((split_dir / "checkpoints" / "epoch-0000.5.pt").string());
  CHECK(second.trainer().epoch_steps_done() == 8);
  const auto results = second.fit(FitOptions().until_epochs(1.5));
  REQUIRE(results.size() == 2);
  CHECK(results[0].epoch == 1);  // the rest of the first epoch
  CHECK(results[0].train.samples == 8 * 16);
  CHECK(same_parameters(flat_parameters(straight), flat_parameters(second)));
  CHECK(second.trainer().last_record().at("val_loss") == straight.trainer().last_record().at("val_loss"));
  CHECK(second.trainer().steps_done() == straight.trainer().steps_done());
}

TEST_CASE("the schedule's horizon is trainer.epochs, not the stop", "[budgets]") {
  // Same stop, another horizon: the learning rate at the stop differs.
  TrainingJob three(job_config(""), "test config");
  three.fit(FitOptions().until_epochs(1.0));
  auto config = job_config("");
  config["trainer"]["epochs"] = 1;
  TrainingJob one(config, "test config");
  one.fit(FitOptions().until_epochs(1.0));
  CHECK(three.trainer().last_record().at("lr").get<double>() > 10 * one.trainer().last_record().at("lr").get<double>());
}

TEST_CASE("the stop hook stops every rank at the same step, with TrainingStopped", "[budgets]") {
  TrainingJob job(job_config(""), "test config");
  int asked = 0;
  CHECK_THROWS_AS(job.fit(FitOptions().stop_when([&] { return ++asked > 5; })), trainer::TrainingStopped);
  CHECK(job.trainer().steps_done() == 5);
  TrainingJob again(job_config(""), "test config");
  CHECK_THROWS_WITH(again.fit(FitOptions().stop_when([] { return true; })),
                    Contains("stopped before step 1") && Contains("stop condition"));
}
