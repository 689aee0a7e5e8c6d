// Trials that are external commands: placeholders, the metric from the last
// JSON line, failures with their reason, the deadline.
#include <catch2/catch.hpp>

#include <fstream>

#include "cohort/sweep/command_evaluator.h"
#include "sweep_helpers.h"

using Catch::Matchers::Contains;
using cohort::testing::context_for;
using cohort::testing::make_trial;
using cohort::testing::temporary_directory;
using cohort::tuner::Json;
using cohort::tuner::TrialState;
using cohort::sweep::CommandEvaluator;
using cohort::sweep::CommandEvaluatorOptions;
using cohort::sweep::expand_command;
namespace fs = std::filesystem;

namespace {

/// Writes `text` to <dir>/<name> and returns its path.
std::string write_script(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("placeholders take the trial's values, numbers exactly", "[command]") {
  const auto trial = make_trial(7, 1.5, {{"optimizer.lr", 0.1}, {"model.width", 64}, {"model.name", "cnn"},
                                         {"optimizer.eps", 1e-300}, {"loader.shuffle", true}});
  const auto argv = expand_command({"run", "--lr={optimizer.lr}", "{model.width}", "{model.name}", "{budget}",
                                    "{trial_id}", "{trial_dir}/out", "{optimizer.eps}", "{loader.shuffle}",
                                    "{\"json\": {}}", "{ not one }"},
                                   trial, "/t/7");
  CHECK(argv == std::vector<std::string>{"run", "--lr=0.1", "64", "cnn", "1.5", "7", "/t/7/out", "1e-300", "true",
                                         "{\"json\": {}}", "{ not one }"});
  const auto odd = make_trial(0, 1.0, {{"x", 0.30000000000000004}});
  CHECK(std::stod(expand_command({"{x}"}, odd, "")[0]) == 0.30000000000000004);
  CHECK_THROWS_WITH(expand_command({"--lr={optimizer.lrr}"}, trial, ""),
                    Contains("\"{optimizer.lrr}\" names no value of trial 7") && Contains("{optimizer.lr}"));
}

TEST_CASE("the metric is read from the last JSON object line of stdout", "[command]") {
  const auto root = temporary_directory("command-metric");
  const auto script = write_script(root, "objective.py",
                                   "import sys, json\n"
                                   "lr, budget = float(sys.argv[1]), float(sys.argv[2])\n"
                                   "print(json.dumps({'loss': 99}))\n"
                                   "print(json.dumps({'loss': lr * budget, 'scores': {'f1': 0.25}}))\n"
                                   "print('[1, 2]')\n"
                                   "print('done')\n");
  const auto trial = make_trial(3, 2.0, {{"optimizer.lr", 0.125}});
  const auto context = context_for(root, trial);
  CommandEvaluator objective({"python3", script, "{optimizer.lr}", "{budget}"}, "loss");
  const auto loss = objective.evaluate(trial, context);
  REQUIRE(loss.state == TrialState::kCompleted);
  CHECK(loss.value == 0.25);
  CHECK(fs::exists(fs::path(context.trial_dir) / "stdout.log"));
  CHECK(loss.info.at("output").at("scores").at("f1") == 0.25);
  const auto nested = CommandEvaluator({"python3", script, "1", "1"}, "scores.f1").evaluate(trial, context);
  CHECK(nested.value == 0.25);
  const auto missing = CommandEvaluator({"python3", script, "1", "1"}, "accuracy").evaluate(trial, context);
  CHECK(missing.state == TrialState::kFailed);
  CHECK_THAT(missing.error, Contains("\"accuracy\" is not in the command's last JSON line") && Contains("scores.f1"));
}

TEST_CASE("a command that fails says how, with its last stderr line", "[command][failure]") {
  const auto root = temporary_directory("command-failure");
  const auto trial = make_trial(0, 1.0);
  const auto context = context_for(root, trial);
  const auto exited =
      CommandEvaluator({"sh", "-c", "echo starting; echo 'first' >&2; echo 'bad input x' >&2; exit 3"}, "loss")
          .evaluate(trial, context);
  CHECK(exited.state == TrialState::kFailed);
  CHECK(exited.error == "the command exited with status 3; last stderr line: bad input x");
  const auto killed = CommandEvaluator({"sh", "-c", "kill -9 $$"}, "loss").evaluate(trial, context);
  CHECK_THAT(killed.error, Contains("killed by signal 9"));
  const auto silent = CommandEvaluator({"sh", "-c", "echo no json here"}, "loss").evaluate(trial, context);
  CHECK_THAT(silent.error, Contains("printed no JSON object line on stdout"));
  const auto text = CommandEvaluator({"sh", "-c", "echo '{\"loss\": \"low\"}'"}, "loss").evaluate(trial, context);
  CHECK_THAT(text.error, Contains("\"loss\" is not a number"));
  const auto absent = CommandEvaluator({"no-such-program-cohort", "x"}, "loss").evaluate(trial, context);
  CHECK_THAT(absent.error, Contains("cannot start the command \"no-such-program-cohort\""));
  const auto unknown = CommandEvaluator({"echo", "{nope}"}, "loss").evaluate(trial, context);
  CHECK(unknown.state == TrialState::kFailed);
  CHECK_THAT(unknown.error, Contains("\"{nope}\""));
  // The evaluator is fine after all that.
  CHECK(CommandEvaluator({"sh", "-c", "echo '{\"loss\": 1}'"}, "loss").evaluate(trial, context).value == 1.0);
}

TEST_CASE("a command past its deadline is stopped, by SIGKILL if it ignores SIGTERM", "[command][deadline]") {
  const auto root = temporary_directory("command-deadline");
  const auto trial = make_trial(0, 1.0);
  auto context = context_for(root, trial);
  context.deadline = now_seconds() + 0.2;
  const auto slow = CommandEvaluator({"sh", "-c", "sleep 30; echo '{\"loss\": 1}'"}, "loss").evaluate(trial, context);
  CHECK(slow.state == TrialState::kTimedOut);
  CHECK(slow.error == "timed out: the command ran past the trial's deadline and was stopped with SIGTERM");

  context.deadline = now_seconds() + 0.5;
  const auto stubborn = CommandEvaluator({"python3", "-c",
                                          "import signal, time\n"
                                          "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                          "print('ready', flush=True)\n"
                                          "time.sleep(30)\n"},
                                         "loss", CommandEvaluatorOptions().kill_grace_s(0.3))
                            .evaluate(trial, context);
  CHECK(stubborn.state == TrialState::kTimedOut);
  CHECK_THAT(stubborn.error, Contains("then SIGKILL after 0.3 s"));
}
