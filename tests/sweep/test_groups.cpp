// Trials on a group of two ranks (CTest runs these under mpirun -np 2): a
// ddp training job over the group, promoted from its parent's checkpoint;
// a failure shared by the group; a command whose result reaches every rank.
#include <catch2/catch.hpp>

#include "cohort/distributed/runtime.h"
#include "cohort/sweep/command_evaluator.h"
#include "cohort/sweep/leader.h"
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
using cohort::tuner::TrialState;
using cohort::sweep::broadcast_json;
using cohort::sweep::CommandEvaluator;
using cohort::sweep::TrainingEvaluator;
namespace distributed = cohort::distributed;
namespace fs = std::filesystem;

namespace {

/// The group of a two-rank job: a communicator of its own, split from the
/// world as the executor splits it. Null (with a warning) under any other size.
std::shared_ptr<distributed::Communicator> two_rank_group() {
  if (distributed::world_size() != 2) {
    WARN("needs mpirun -np 2; skipped");
    return nullptr;
  }
  return distributed::world()->split(0, distributed::world_rank());
}

/// One directory for the whole group: rank 0's.
fs::path shared_directory(distributed::Communicator& group, const std::string& name) {
  const auto mine = group.rank() == 0 ? temporary_directory(name).string() : std::string();
  return broadcast_json(group, mine).get<std::string>();
}

/// The base config of the ddp trials.
Json ddp_base() {
  return sweep_base_config({{"strategy", {{"name", "ddp"}, {"device", "cpu"}, {"timeout_s", 60}}}});
}

}  // namespace

TEST_CASE("a ddp trial runs over its group and a promotion continues from its parent", "[group]") {
  auto group = two_rank_group();
  if (!group) return;
  const auto root = shared_directory(*group, "group-ddp");
  TrainingEvaluator objective(ddp_base(), "sweep.json", 3.0, "val_loss");
  const auto parent = make_trial(0, 0.5);
  const auto first = objective.evaluate(parent, context_for(root, parent, group));
  REQUIRE(first.state == TrialState::kCompleted);
  // 128 examples per rank in batches of 16: 8 steps an epoch over the group, 4 in half of one.
  CHECK(first.info.at("steps") == 4);
  const auto child = make_trial(1, 1.5, {{"optimizer.lr", 0.05}}, 0);
  const auto promoted = objective.evaluate(child, context_for(root, child, group));
  REQUIRE(promoted.state == TrialState::kCompleted);
  CHECK_THAT(promoted.info.at("start").get<std::string>(), Contains("trials/0/checkpoints/epoch-0000.5.pt"));
  CHECK(promoted.info.at("steps") == 12);
  // Both ranks report the value reduced over the group.
  auto values = torch::tensor({promoted.value, -promoted.value}, torch::kFloat64);
  group->allreduce(values, distributed::ReduceOp::kMax);
  CHECK(values[0].item<double>() == promoted.value);
  CHECK(-values[1].item<double>() == promoted.value);
  if (group->rank() == 0) {
    CHECK(fs::exists(root / "trials/1/train.log"));
  } else {
    CHECK_FALSE(promoted.info.contains("metrics"));  // rank 1 writes nothing
  }
  group->barrier();
}

// Also the regression test of Ddp::load, which once left the gradient
// reducer hooked to the parameters as they were before loading: the first
// steps after a resume then went unaveraged.
TEST_CASE("a promoted ddp trial ends where training straight does", "[group]") {
  auto group = two_rank_group();
  if (!group) return;
  const auto root = shared_directory(*group, "group-ddp-equal");
  TrainingEvaluator objective(ddp_base(), "sweep.json", 3.0, "val_loss");
  const auto parent = make_trial(0, 0.5);
  REQUIRE(objective.evaluate(parent, context_for(root, parent, group)).state == TrialState::kCompleted);
  const auto child = make_trial(1, 1.5, {{"optimizer.lr", 0.05}}, 0);
  const auto promoted = objective.evaluate(child, context_for(root, child, group));
  const auto alone = make_trial(2, 1.5);
  const auto straight = objective.evaluate(alone, context_for(root, alone, group));
  CHECK(promoted.value == straight.value);
  if (group->rank() == 0)
    CHECK(same_parameters(checkpoint_parameters((root / "trials/1").string()),
                          checkpoint_parameters((root / "trials/2").string())));
  group->barrier();
}

TEST_CASE("a failure on every rank of the group fails the trial and leaves the group usable", "[group]") {
  auto group = two_rank_group();
  if (!group) return;
  const auto root = shared_directory(*group, "group-failure");
  TrainingEvaluator objective(ddp_base(), "sweep.json", 1.0, "val_loss");
  const auto diverging = make_trial(0, 1.0, {{"optimizer.lr", 1e30}});
  const auto failed = objective.evaluate(diverging, context_for(root, diverging, group));
  CHECK(failed.state == TrialState::kFailed);
  CHECK_THAT(failed.error, Contains("trainer.nonfinite_loss"));
  auto deadline_context = context_for(root, make_trial(1, 1.0), group);
  deadline_context.deadline = 1.0;  // long past
  CHECK(objective.evaluate(make_trial(1, 1.0), deadline_context).state == TrialState::kTimedOut);
  const auto fine = make_trial(2, 1.0);
  CHECK(objective.evaluate(fine, context_for(root, fine, group)).state == TrialState::kCompleted);
}

TEST_CASE("a command runs on the leader and its result reaches every rank", "[group][command]") {
  auto group = two_rank_group();
  if (!group) return;
  const auto root = shared_directory(*group, "group-command");
  const auto trial = make_trial(5, 2.0, {{"x", 0.5}});
  // Sleeps past a heartbeat, so the waiting rank meets the leader more than once.
  const auto result = CommandEvaluator({"sh", "-c", "sleep 1.5; echo \"{\\\"loss\\\": {x}}\""}, "loss")
                          .evaluate(trial, context_for(root, trial, group));
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.value == 0.5);
  const auto failed = CommandEvaluator({"sh", "-c", "exit 4"}, "loss").evaluate(trial, context_for(root, trial, group));
  CHECK(failed.error == "the command exited with status 4; it wrote nothing on stderr");
}

TEST_CASE("a one-process strategy on a group of two ranks is refused, not trained twice", "[group]") {
  auto group = two_rank_group();
  if (!group) return;
  const auto root = shared_directory(*group, "group-single");
  TrainingEvaluator objective(sweep_base_config(), "sweep.json", 1.0, "val_loss");
  const auto trial = make_trial(0, 0.5);
  const auto refused = objective.evaluate(trial, context_for(root, trial, group));
  CHECK(refused.state == TrialState::kFailed);
  CHECK_THAT(refused.error, Contains("the strategy \"single\" runs in one process"));
  CHECK_FALSE(refused.retry);
  group->barrier();
}
