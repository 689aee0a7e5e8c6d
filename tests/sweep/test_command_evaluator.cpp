// Trials that are external commands: placeholders, the metric from the last
// JSON line, failures with their reason, the deadline.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>

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
using cohort::sweep::command_placeholders;
using cohort::sweep::expand_command;
using cohort::tuner::Result;
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

TEST_CASE("{parent_dir} is the parent's trial directory, empty without one", "[command]") {
  const auto promoted = make_trial(9, 3.0, {{"x", 1}}, /*parent=*/4);
  CHECK(expand_command({"--from={parent_dir}", "{trial_dir}"}, promoted, "/t/9", "/t/4") ==
        std::vector<std::string>{"--from=/t/4", "/t/9"});
  CHECK(expand_command({"--from={parent_dir}"}, make_trial(1, 1.0), "/t/1") == std::vector<std::string>{"--from="});
  CHECK(command_placeholders({"run", "{a}{budget}", "{\"json\": 1}", "{parent_dir}/x"}) ==
        std::vector<std::string>{"a", "budget", "parent_dir"});
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
  CHECK_FALSE(missing.retry);  // the same command would print the same
}

TEST_CASE("a command that fails says how, with its last stderr line", "[command][failure]") {
  const auto root = temporary_directory("command-failure");
  const auto trial = make_trial(0, 1.0);
  const auto context = context_for(root, trial);
  // A launcher's rule of dashes after the message is no line that says anything.
  const auto exited = CommandEvaluator({"sh", "-c",
                                        "echo starting; echo 'first' >&2; echo 'bad input x' >&2; "
                                        "echo '-----' >&2; exit 3"},
                                       "loss")
                          .evaluate(trial, context);
  CHECK(exited.state == TrialState::kFailed);
  CHECK(exited.error == "the command exited with status 3; last stderr line: bad input x");
  // A message framed by rules, as mpirun prints one, is read whole; 128 + n is said to be signal n.
  const auto banner = CommandEvaluator({"sh", "-c", "echo 'info' >&2; echo '---' >&2; echo 'mpirun noticed that' >&2; "
                                                    "echo 'rank 1 died.' >&2; echo '---' >&2; exit 137"},
                                       "loss")
                          .evaluate(trial, context);
  CHECK(banner.error == "the command exited with status 137 (128 + 9: a process it ran was killed by signal 9, "
                        "Killed); last stderr line: mpirun noticed that rank 1 died.");
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

TEST_CASE("a command does not inherit the sweep's MPI identity (OMPI_*, PMIX_*, PMI_*)",
          "[command][environment]") {
  const auto root = temporary_directory("command-environment");
  const auto trial = make_trial(0, 1.0);
  // What mpirun gives a rank (Open MPI's, PMIx's, PMI's), and what says who may run one.
  const std::vector<std::string> names = {"OMPI_COMM_WORLD_RANK", "OMPI_MCA_ess_base_jobid", "PMIX_RANK", "PMI_RANK",
                                          "OMPI_ALLOW_RUN_AS_ROOT"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const auto& name : names) {
    const char* value = std::getenv(name.c_str());
    saved[name] = value ? std::optional<std::string>(value) : std::nullopt;
    ::setenv(name.c_str(), "7", 1);
  }
  const auto result = CommandEvaluator({"sh", "-c",
                                        "echo \"{\\\"loss\\\": 0, \\\"identity\\\": \\\"$OMPI_COMM_WORLD_RANK"
                                        "$OMPI_MCA_ess_base_jobid$PMIX_RANK$PMI_RANK\\\", \\\"root\\\": "
                                        "\\\"$OMPI_ALLOW_RUN_AS_ROOT\\\"}\""},
                                       "loss")
                          .evaluate(trial, context_for(root, trial));
  for (const auto& [name, value] : saved)
    value ? ::setenv(name.c_str(), value->c_str(), 1) : ::unsetenv(name.c_str());
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.info.at("output").at("identity") == "");
  CHECK(result.info.at("output").at("root") == "7");
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
  // sh, not python: it ignores SIGTERM within milliseconds, where a python3 behind a pyenv shim
  // took 0.5 s on a loaded machine and was still starting when the deadline came.
  const auto stubborn = CommandEvaluator({"sh", "-c", "trap '' TERM; echo ready; sleep 30"}, "loss",
                                         CommandEvaluatorOptions().kill_grace_s(0.3))
                            .evaluate(trial, context);
  CHECK(stubborn.state == TrialState::kTimedOut);
  CHECK_THAT(stubborn.error, Contains("then SIGKILL after 0.3 s"));
}

namespace {

const std::string kWorker = std::string(COHORT_TESTS_DIR) + "/sweep/scripts/worker.py";

/// A trial of the test worker: loss x, misbehaving as `mode` says.
cohort::tuner::Trial worker_trial(int64_t id, double x, const std::string& mode = "ok", double budget = 1.0) {
  return make_trial(id, budget, {{"x", x}, {"mode", mode}});
}

}  // namespace

TEST_CASE("a persistent worker evaluates trial after trial in one process", "[command][worker]") {
  const auto root = temporary_directory("command-worker");
  CommandEvaluator worker({"python3", kWorker}, "loss", CommandEvaluatorOptions().worker(true));
  const auto first = worker.evaluate(worker_trial(0, 0.5), context_for(root, worker_trial(0, 0.5)));
  REQUIRE(first.state == TrialState::kCompleted);
  CHECK(first.value == 0.5);
  const auto promoted = make_trial(1, 1.0, {{"x", 0.25}}, /*parent=*/0);
  const auto second = worker.evaluate(promoted, context_for(root, promoted));
  REQUIRE(second.state == TrialState::kCompleted);
  CHECK(second.value == 0.25);
  CHECK(second.info.at("output").at("pid") == first.info.at("output").at("pid"));  // the same process
  CHECK(second.info.at("output").at("parent_dir") == (root / "trials" / "0").string());
  // Each trial's stdout and stderr are in its own directory.
  std::ifstream err(root / "trials" / "1" / "stderr.log");
  std::string line;
  std::getline(err, line);
  CHECK_THAT(line, Contains("trial 1 in"));
}

TEST_CASE("a worker's crash, hang past the deadline and malformed output fail only that trial",
          "[command][worker][failure]") {
  const auto root = temporary_directory("command-worker-faults");
  CommandEvaluator worker({"python3", kWorker}, "loss", CommandEvaluatorOptions().worker(true).kill_grace_s(0.3));
  int64_t id = 0;
  const auto run = [&](const std::string& mode, double deadline_after_s = 0.0) {
    const auto trial = worker_trial(id++, 0.5, mode);
    auto context = context_for(root, trial);
    if (deadline_after_s > 0) context.deadline = now_seconds() + deadline_after_s;
    return worker.evaluate(trial, context);
  };
  const auto pid_of = [](const Result& result) { return result.info.at("output").at("pid").get<int64_t>(); };
  const auto healthy = run("ok");
  REQUIRE(healthy.state == TrialState::kCompleted);

  const auto crashed = run("crash");
  CHECK(crashed.state == TrialState::kFailed);
  CHECK_THAT(crashed.error, Contains("the worker ended during the trial: the command exited with status 3") &&
                                Contains("last stderr line: worker: simulated crash"));
  const auto after_crash = run("ok");  // a new worker
  REQUIRE(after_crash.state == TrialState::kCompleted);
  CHECK(pid_of(after_crash) != pid_of(healthy));

  const auto hung = run("hang", 0.5);
  CHECK(hung.state == TrialState::kTimedOut);
  CHECK_THAT(hung.error, Contains("the worker ran past the trial's deadline"));
  const auto after_hang = run("ok");
  REQUIRE(after_hang.state == TrialState::kCompleted);
  CHECK(pid_of(after_hang) != pid_of(after_crash));

  const auto garbage = run("garbage");
  CHECK(garbage.state == TrialState::kFailed);
  CHECK_THAT(garbage.error, Contains("printed a line that is no JSON object on stdout: \"this is not json\""));
  const auto after_garbage = run("ok");
  REQUIRE(after_garbage.state == TrialState::kCompleted);
  CHECK(pid_of(after_garbage) != pid_of(after_hang));

  // A missing metric is the trial's mistake, not the worker's: not retried, and the worker goes on.
  const auto no_metric = run("nometric");
  CHECK(no_metric.state == TrialState::kFailed);
  CHECK_FALSE(no_metric.retry);
  CHECK_THAT(no_metric.error, Contains("the metric \"loss\" is not in the worker's answer"));
  CHECK(pid_of(run("ok")) == pid_of(after_garbage));
}

TEST_CASE("intermediate reports reach the scheduler, which may stop the trial", "[command][report]") {
  const auto root = temporary_directory("command-reports");
  std::vector<std::pair<double, double>> heard;
  const auto listen = [&](double stop_at) {
    return [&heard, stop_at](double budget, double value) {
      heard.emplace_back(budget, value);
      return budget >= stop_at;
    };
  };
  SECTION("a command run once per trial is stopped") {
    const auto trial = make_trial(0, 9.0, {{"x", 0.5}});
    auto context = context_for(root, trial);
    context.report = listen(2.0);
    const auto result =
        CommandEvaluator({"sh", "-c",
                          "echo '{\"budget\": 1, \"loss\": 0.4}'; echo '{\"budget\": 2, \"loss\": 0.3}'; sleep 30; "
                          "echo '{\"loss\": 0.1}'"},
                         "loss")
            .evaluate(trial, context);
    CHECK(result.state == TrialState::kPruned);
    CHECK(result.value == 0.3);
    CHECK(result.info.at("pruned_at_budget") == 2.0);
    CHECK(heard == std::vector<std::pair<double, double>>{{1.0, 0.4}, {2.0, 0.3}});
  }
  SECTION("a report without the metric fails the trial, not retried") {
    const auto trial = make_trial(0, 9.0, {{"x", 0.5}});
    auto context = context_for(root, trial);
    context.report = listen(100.0);
    const auto result =
        CommandEvaluator({"sh", "-c", "echo '{\"budget\": 1, \"acc\": 0.4}'; sleep 30"}, "loss").evaluate(trial, context);
    CHECK(result.state == TrialState::kFailed);
    CHECK_FALSE(result.retry);
    CHECK_THAT(result.error, Contains("the metric \"loss\" is not in the command's report at budget 1"));
  }
  SECTION("a worker is told to prune, and goes on with the next trial") {
    CommandEvaluator worker({"python3", kWorker}, "loss", CommandEvaluatorOptions().worker(true));
    const auto kept = worker_trial(0, 0.5, "ok", 4.0);
    auto context = context_for(root, kept);
    context.report = listen(100.0);  // never stops
    const auto completed = worker.evaluate(kept, context);
    CHECK(completed.state == TrialState::kCompleted);
    CHECK(heard == std::vector<std::pair<double, double>>{{1.0, 0.5}, {2.0, 1.0}, {3.0, 1.5}});
    heard.clear();
    const auto stopped = worker_trial(1, 0.25, "ok", 4.0);
    context = context_for(root, stopped);
    context.report = listen(2.0);
    const auto pruned = worker.evaluate(stopped, context);
    CHECK(pruned.state == TrialState::kPruned);
    CHECK(pruned.value == 0.5);
    CHECK(heard.size() == 2);
    const auto next = worker_trial(2, 0.125);
    const auto after = worker.evaluate(next, context_for(root, next));
    REQUIRE(after.state == TrialState::kCompleted);
    CHECK(after.value == 0.125);
    CHECK(after.info.at("output").at("pid") == completed.info.at("output").at("pid"));
  }
}
