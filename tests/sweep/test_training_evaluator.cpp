// Trials that are training jobs, on one process: promotion from the parent's
// checkpoint, a trial handed out again, failures, the deadline, the metric.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>

#include <spdlog/spdlog.h>

#include "cohort/distributed/communicator.h"
#include "cohort/sweep/training_evaluator.h"
#include "sweep_helpers.h"

using Catch::Matchers::Contains;
using cohort::testing::checkpoint_parameters;
using cohort::testing::context_for;
using cohort::testing::make_trial;
using cohort::testing::same_parameters;
using cohort::testing::sweep_base_config;
using cohort::testing::temporary_directory;
using cohort::tuner::Json;
using cohort::tuner::Result;
using cohort::tuner::TrialState;
using cohort::sweep::TrainingEvaluator;
namespace fs = std::filesystem;

namespace {

constexpr double kMaxBudget = 3.0;

TrainingEvaluator evaluator(const std::string& metric = "val_loss", const Json& overrides = Json::object()) {
  return TrainingEvaluator(sweep_base_config(overrides), "sweep.json", kMaxBudget, metric);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("a promoted trial continues from its parent's checkpoint and ends where training straight does",
          "[evaluator][promotion]") {
  const auto root = temporary_directory("promotion");
  auto objective = evaluator();
  const auto parent = make_trial(0, 0.5);
  const auto parent_result = objective.evaluate(parent, context_for(root, parent));
  REQUIRE(parent_result.state == TrialState::kCompleted);
  CHECK(fs::exists(root / "trials/0/checkpoints/epoch-0000.5.pt"));
  CHECK(parent_result.info.at("epochs") == 0.5);
  CHECK(parent_result.info.at("start") == "scratch");

  const auto child = make_trial(1, 1.5, {{"optimizer.lr", 0.05}}, /*parent=*/0);
  const auto promoted = objective.evaluate(child, context_for(root, child));
  const auto alone = make_trial(2, 1.5);
  const auto straight = objective.evaluate(alone, context_for(root, alone));
  REQUIRE(promoted.state == TrialState::kCompleted);
  REQUIRE(straight.state == TrialState::kCompleted);
  CHECK_THAT(promoted.info.at("start").get<std::string>(), Contains("trials/0/checkpoints/epoch-0000.5.pt"));
  CHECK(straight.info.at("start") == "scratch");
  CHECK(promoted.value == Approx(straight.value).epsilon(1e-9));
  CHECK(promoted.info.at("epochs") == 1.5);
  CHECK(same_parameters(checkpoint_parameters((root / "trials/1").string()),
                        checkpoint_parameters((root / "trials/2").string())));
  // The promoted trial's learning curve starts with its parent's.
  std::ifstream metrics(root / "trials/1/metrics.jsonl");
  std::vector<double> epochs;
  for (std::string line; std::getline(metrics, line);) epochs.push_back(Json::parse(line).at("epoch").get<double>());
  CHECK(epochs == std::vector<double>{0.5, 1.0, 1.5});
  // And the trial's log went to its own file.
  std::ifstream log(root / "trials/1/train.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("resumed from") && Contains("epoch 1.5/3 (stopped part-way)"));
}

TEST_CASE("a trial trains on the group it is handed and logs to its own file, leaving the process's logger alone",
          "[evaluator][context]") {
  const auto root = temporary_directory("context");
  // ddp over a one-rank local group: the job is built over the group it is given, not a world it looks up.
  auto objective = evaluator("val_loss", {{"strategy", {{"name", "ddp"}}}});
  const auto before = spdlog::default_logger();
  const auto trial = make_trial(0, 1.0);
  const auto group = cohort::distributed::make_local_communicator();
  const auto result = objective.evaluate(trial, context_for(root, trial, group));
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.info.at("epochs") == 1.0);
  CHECK(spdlog::default_logger() == before);
  std::ifstream log(root / "trials/0/train.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("epoch 1/3 train_loss"));
}

TEST_CASE("a trial handed out again continues from its own checkpoint before its budget", "[evaluator][promotion]") {
  const auto root = temporary_directory("handed-out-again");
  auto objective = evaluator();
  const auto trial = make_trial(4, 1.5);
  const auto first = objective.evaluate(trial, context_for(root, trial));
  REQUIRE(first.state == TrialState::kCompleted);
  // As after a kill: the checkpoint at the budget stays (it is passed over), the one at epoch 1 is taken.
  const auto again = objective.evaluate(trial, context_for(root, trial));
  REQUIRE(again.state == TrialState::kCompleted);
  CHECK_THAT(again.info.at("start").get<std::string>(), Contains("trials/4/checkpoints/epoch-0001.pt"));
  CHECK(again.value == Approx(first.value).epsilon(1e-9));
}

TEST_CASE("a failing trial comes back failed with its message, and the next one runs", "[evaluator][failure]") {
  const auto root = temporary_directory("failing-trial");
  auto objective = evaluator();
  const auto diverging = make_trial(0, 1.0, {{"optimizer.lr", 1e30}});
  const auto failed = objective.evaluate(diverging, context_for(root, diverging));
  CHECK(failed.state == TrialState::kFailed);
  CHECK_THAT(failed.error, Contains("the loss is") && Contains("trainer.nonfinite_loss is \"fail\""));
  CHECK_FALSE(failed.retry);  // the seed is fixed: it would diverge again

  const auto misspelt = make_trial(1, 1.0, {{"optimizer.lrr", 0.1}});
  const auto refused = objective.evaluate(misspelt, context_for(root, misspelt));
  CHECK(refused.state == TrialState::kFailed);
  CHECK_THAT(refused.error, Contains("sweep.json (trial 1)") && Contains("\"optimizer.lrr\""));
  CHECK_FALSE(refused.retry);

  const auto fine = make_trial(2, 1.0);
  const auto result = objective.evaluate(fine, context_for(root, fine));
  CHECK(result.state == TrialState::kCompleted);
  CHECK(std::isfinite(result.value));
}

TEST_CASE("an unknown metric is refused before any trial, listing the metrics there are", "[evaluator][metric]") {
  CHECK_THROWS_AS(evaluator("validation.accuracy"), cohort::InputError);
  CHECK_THROWS_WITH(evaluator("validation.accuracy"),
                    Contains("sweep.json: \"objective.metric\": the metric \"validation.accuracy\" is not in a "
                             "training job's metrics record") &&
                        Contains("val_accuracy") && Contains("train_loss") && Contains("memory.cpu_rss_mb") &&
                        Contains("loss_scale"));
  CHECK_NOTHROW(evaluator("memory.cpu_peak_rss_mb"));

  // A metric only some records have (no validation split here) fails the trial, naming what there is.
  const auto root = temporary_directory("unknown-metric");
  auto no_validation = evaluator("val_loss", {{"data", {{"validation_fraction", 0.0}}}});
  const auto trial = make_trial(0, 0.25);
  const auto result = no_validation.evaluate(trial, context_for(root, trial));
  CHECK(result.state == TrialState::kFailed);
  CHECK_THAT(result.error, Contains("\"val_loss\" is not in the trial's final metrics record") &&
                               Contains("train_loss"));

  auto accuracy = evaluator("val_accuracy");
  const auto ok = accuracy.evaluate(make_trial(1, 0.25), context_for(root, make_trial(1, 0.25)));
  REQUIRE(ok.state == TrialState::kCompleted);
  CHECK(ok.value >= 0.0);
  CHECK(ok.value <= 1.0);
}

TEST_CASE("the objective may be any metric the job's trainer.metrics reports", "[evaluator][metric]") {
  const Json top2 = {{"trainer", {{"metrics", {"accuracy", "top2_accuracy"}}}}};
  CHECK_THROWS_WITH(evaluator("val_top2_accuracy"), Contains("val_accuracy"));
  auto objective = evaluator("val_top2_accuracy", top2);
  const auto root = temporary_directory("top2-metric");
  const auto result = objective.evaluate(make_trial(0, 0.25), context_for(root, make_trial(0, 0.25)));
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.value >= 0.0);
  CHECK(result.value <= 1.0);
}

TEST_CASE("a trial past its deadline is stopped and timed out", "[evaluator][deadline]") {
  const auto root = temporary_directory("deadline");
  auto objective = evaluator();
  const auto trial = make_trial(0, 2.0);
  auto context = context_for(root, trial);
  context.deadline = now_seconds() - 1.0;
  const auto result = objective.evaluate(trial, context);
  CHECK(result.state == TrialState::kTimedOut);
  CHECK_THAT(result.error, Contains("timed out") && Contains("deadline"));
  // No checkpoint is written where the trial was stopped.
  CHECK(cohort::trainer::list_checkpoints((root / "trials/0/checkpoints").string()).empty());

  context.deadline = now_seconds() + 3600.0;
  const auto next = make_trial(1, 0.5);
  auto next_context = context_for(root, next);
  next_context.deadline = context.deadline;
  CHECK(objective.evaluate(next, next_context).state == TrialState::kCompleted);
}
