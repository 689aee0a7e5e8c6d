// cohort-tune end to end: sweeps over test functions under mpirun, checked
// through what they leave in output_dir (journal, results.csv, best.json).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <catch2/catch.hpp>

#include "common/temporary_directory.h"
#include "tune_helpers.h"

namespace fs = std::filesystem;
using cohort::testing::Json;
using namespace cohort::testing;

namespace {

/// Every trial id the journal handed out, checked to be distinct.
std::set<int64_t> distinct_ids(const fs::path& journal) {
  std::set<int64_t> ids;
  for (const auto& trial : journal_events(journal, "ask")) {
    const auto id = trial.at("id").get<int64_t>();
    INFO("trial id " << id << " was handed out twice");
    CHECK(ids.insert(id).second);
  }
  return ids;
}

int64_t count_state(const fs::path& journal, const std::string& state) {
  const auto tells = journal_events(journal, "tell");
  return std::count_if(tells.begin(), tells.end(), [&](const Json& t) { return t.at("state") == state; });
}

/// The last line of stdout: the sweep's summary.
Json final_line(const TuneRun& run) {
  const auto end = run.out.find_last_not_of('\n');
  const auto start = run.out.rfind('\n', end);
  return Json::parse(run.out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1)));
}

}  // namespace

TEST_CASE("random search at -np 3 runs max_trials trials on two groups", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-random");
  auto sweep = branin_sweep(dir / "out");
  const auto config = write_sweep(dir, "sweep.json", sweep);
  const auto run = run_command(tune_command(3, {"--config", config}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto journal = dir / "out" / "journal.jsonl";
  CHECK(distinct_ids(journal) == std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(count_state(journal, "completed") == 12);
  for (const auto& trial : journal_events(journal, "ask")) CHECK(trial.at("budget") == 9.0);  // fifo: max budget
  CHECK(results_without_times(dir / "out" / "results.csv").size() == 13);  // header + 12 trials
  for (int id = 0; id < 12; ++id) CHECK(fs::is_directory(dir / "out" / "trials" / std::to_string(id)));

  // best.json holds the lowest value of the journal.
  double lowest = 1e300;
  for (const auto& tell : journal_events(journal, "tell")) lowest = std::min(lowest, tell.at("value").get<double>());
  const auto best = read_json(dir / "out" / "best.json");
  CHECK(best.at("value").get<double>() == lowest);
  CHECK(best.at("objective") == "branin");
  CHECK(fs::exists(dir / "out" / "configs.json"));
  CHECK(fs::exists(dir / "out" / "results.json"));
  CHECK(fs::exists(dir / "out" / "report.html"));
  const auto summary = final_line(run);
  CHECK(summary.at("completed") == 12);
  CHECK(summary.at("best").at("value").get<double>() == lowest);
  // Both groups worked: the progress names two groups.
  CHECK(run.err.find("2 worker group(s) of 1 rank(s)") != std::string::npos);
}

TEST_CASE("hyperband at -np 3 runs each bracket's rungs as docs/tuner.md's table says", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-hyperband");
  auto sweep = branin_sweep(dir / "out");
  sweep["scheduler"] = {{"name", "hyperband"}, {"max_brackets", 3}};
  sweep.erase("max_trials");
  // Trials take a little time (budget x 5 ms), so rungs wait for results
  // while the other group takes work from the next bracket.
  sweep["objective"]["sleep_s"] = 0.005;
  const auto config = write_sweep(dir, "sweep.json", sweep);
  const auto run = run_command(tune_command(3, {"--config", config}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto journal = dir / "out" / "journal.jsonl";
  // min 1, max 9, eta 3 (s_max 2): bracket 0 is 9 @ 1, 3 @ 3, 1 @ 9; bracket 1
  // is ceil(3/2 * 3) = 5 @ 3, 1 @ 9; bracket 2 is 3 @ 9.
  std::map<std::tuple<int, int, double>, int> rungs;
  for (const auto& trial : journal_events(journal, "ask"))
    ++rungs[{trial.at("bracket").get<int>(), trial.at("rung").get<int>(), trial.at("budget").get<double>()}];
  const std::map<std::tuple<int, int, double>, int> expected = {
      {{0, 0, 1.0}, 9}, {{0, 1, 3.0}, 3}, {{0, 2, 9.0}, 1}, {{1, 0, 3.0}, 5}, {{1, 1, 9.0}, 1}, {{2, 0, 9.0}, 3}};
  CHECK(rungs == expected);
  CHECK(distinct_ids(journal).size() == 22);
  CHECK(count_state(journal, "completed") == 22);
  // Promoted trials name their parent, whose directory exists.
  for (const auto& trial : journal_events(journal, "ask")) {
    if (trial.at("rung") == 0) continue;
    const auto parent = trial.at("parent").get<int64_t>();
    CHECK(parent >= 0);
    CHECK(fs::is_directory(dir / "out" / "trials" / std::to_string(parent)));
  }
  const auto summary = final_line(run);
  CHECK(summary.at("finished") == true);
}

TEST_CASE("a failing trial is isolated: retried, failed for good, and the sweep goes on", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-failures");
  auto sweep = branin_sweep(dir / "out");
  sweep["objective"]["fail_fraction"] = 0.4;  // the same configurations fail on every attempt
  sweep["max_failures"] = 1;
  const auto config = write_sweep(dir, "sweep.json", sweep);
  const auto run = run_command(tune_command(3, {"--config", config}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto journal = dir / "out" / "journal.jsonl";
  const auto failed = count_state(journal, "failed"), completed = count_state(journal, "completed");
  REQUIRE(failed > 0);
  REQUIRE(completed > 0);
  // Each failing configuration: a first try and one retry (max_failures 1), both failed.
  CHECK(failed % 2 == 0);
  CHECK(completed + failed / 2 == 12);
  CHECK(distinct_ids(journal).size() == size_t(completed + failed));
  std::map<int64_t, int> attempts;  // by configuration
  for (const auto& trial : journal_events(journal, "ask")) ++attempts[trial.at("config_id").get<int64_t>()];
  for (const auto& tell : journal_events(journal, "tell"))
    if (tell.at("state") == "failed") CHECK(tell.at("error").get<std::string>().find("fail_fraction") != std::string::npos);
  for (const auto& [config, n] : attempts) CHECK((n == 1 || n == 2));
}

TEST_CASE("a trial past trial_timeout_s is timed out, and a sweep with no completed trial exits 1", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-timeout");
  auto sweep = branin_sweep(dir / "out");
  sweep["objective"]["sleep_s"] = 10.0;  // 90 s at budget 9
  sweep["trial_timeout_s"] = 0.2;
  sweep["max_trials"] = 2;
  sweep["max_failures"] = 0;
  const auto config = write_sweep(dir, "sweep.json", sweep);
  const auto run = run_command(tune_command(3, {"--config", config}), dir, "run");
  CHECK(run.status == 1);
  CHECK(run.err.find("no trial completed") != std::string::npos);
  CHECK(count_state(dir / "out" / "journal.jsonl", "timed_out") == 2);
}

TEST_CASE("a sweep killed with SIGKILL and resumed ends like one never interrupted", "[tune][mpi][resume]") {
  const auto dir = temporary_directory("tune-resume");
  // One worker group (-np 2), so the study hears results in the same order in
  // both sweeps, and Hyperband's decisions depend on that order.
  const auto sweep_for = [&](const std::string& out) {
    auto sweep = branin_sweep(dir / out);
    sweep["scheduler"] = {{"name", "hyperband"}, {"max_brackets", 2}};
    sweep["sampler"] = {{"name", "bohb"}, {"min_points", 2}};
    sweep.erase("max_trials");
    sweep["objective"]["sleep_s"] = 0.03;
    return sweep;
  };
  const auto straight = run_command(tune_command(2, {"--config", write_sweep(dir, "a.json", sweep_for("a"))}), dir, "a");
  INFO(straight.err);
  REQUIRE(straight.status == 0);

  const auto config = write_sweep(dir, "b.json", sweep_for("b"));
  const auto journal = dir / "b" / "journal.jsonl";
  const pid_t job = start_command(tune_command(2, {"--config", config}), dir, "b1");
  // Kill the whole job (mpirun and its ranks) once some results are in and trials are running.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (journal_events(journal, "tell").size() < 6 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill_session(job);
  const auto told = journal_events(journal, "tell").size();
  REQUIRE(told >= 6);
  REQUIRE(told < journal_events(dir / "a" / "journal.jsonl", "tell").size());

  const auto resumed = run_command(tune_command(2, {"--resume", (dir / "b").string()}), dir, "b2");
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.err.find("resuming") != std::string::npos);
  // The same asks and results in the same order: nothing rerun, nothing lost, no id used twice.
  CHECK(journal_without_times(journal) == journal_without_times(dir / "a" / "journal.jsonl"));
  CHECK(results_without_times(dir / "b" / "results.csv") == results_without_times(dir / "a" / "results.csv"));
  CHECK(distinct_ids(journal).size() == distinct_ids(dir / "a" / "journal.jsonl").size());
  CHECK(read_json(dir / "b" / "best.json").at("value") == read_json(dir / "a" / "best.json").at("value"));
}

TEST_CASE("cohort-tune without mpirun runs the sweep in its own process", "[tune]") {
  const auto dir = temporary_directory("tune-single");
  const auto config = write_sweep(dir, "sweep.json", branin_sweep(dir / "out"));
  const auto run = run_command(tune_command(0, {"--config", config, "--set", "max_trials=5"}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  CHECK(run.err.find("one process") != std::string::npos);
  CHECK(count_state(dir / "out" / "journal.jsonl", "completed") == 5);
}

namespace {

/// A successive-halving bracket of two-rank ddp trials on the synthetic data
/// (2 configurations at 1 epoch, the better one promoted to 2), each trial a
/// child job: objective.isolation "process".
Json isolated_sweep(const fs::path& output_dir) {
  auto base = read_json(COHORT_SOURCE_DIR "/tests/cli/synthetic.json");  // 192 training examples, batch 32
  base["strategy"] = {{"name", "ddp"}};
  return {{"base", base},
          {"space", {{"optimizer.lr", {{"type", "loguniform"}, {"low", 0.01}, {"high", 0.3}}}}},
          {"objective", {{"metric", "val_accuracy"}, {"mode", "max"}, {"isolation", "process"},
                         {"launcher", trial_launcher()}}},
          {"budget", {{"min", 1}, {"max", 2}, {"eta", 2}}},
          {"scheduler", {{"name", "successive_halving"}, {"max_brackets", 1}}},
          {"ranks_per_trial", 2},
          {"sync_journal", false},
          {"output_dir", output_dir.string()}};
}

std::string text_of(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("bad input is refused with one sentence and exit status 2", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-bad");
  const auto config = write_sweep(dir, "sweep.json", branin_sweep(dir / "out"));
  const auto expect_refusal = [&](int ranks, const std::vector<std::string>& args, const std::string& sentence) {
    const auto run = run_command(tune_command(ranks, args), dir, "bad");
    INFO(run.err);
    CHECK(run.status == 2);
    CHECK(run.err.find(sentence) != std::string::npos);
    // Said once, by one rank, not once per rank.
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
  };
  SECTION("a misspelt key") {
    expect_refusal(3, {"--config", config, "--set", "max_trails=3"},
                   "unknown key \"max_trails\"; did you mean \"max_trials\"?");
  }
  SECTION("more ASHA brackets than the budget has rungs, before anything is written") {
    expect_refusal(0, {"--config", config, "--set", "scheduler={\"name\": \"asha\", \"brackets\": 4}"},
                   "sweep.json (with --set overrides): \"scheduler.brackets\" is 4, but budget 1 to 9 at eta 3 has 3 "
                   "rungs to start a bracket at; use 1 to 3, or 0 for all.");
    expect_refusal(0, {"--config", config, "--set", "scheduler={\"name\": \"asha\", \"brackets\": -1}"},
                   "\"scheduler.brackets\" must be at least 0, got -1.");
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  SECTION("a sweep that would never end") {
    expect_refusal(3, {"--config", config, "--set", "max_trials=0", "--set", "scheduler.name=asha"},
                   "never ends on its own; set max_trials");
  }
  SECTION("a command placeholder that names no key of the space, before any trial runs") {
    auto sweep = branin_sweep(dir / "typo");
    sweep["objective"] = {{"command", {"echo", "{x_1}"}}, {"metric", "loss"}};
    expect_refusal(3, {"--config", write_sweep(dir, "typo.json", sweep)},
                   "\"objective.command\" has the placeholder \"{x_1}\", which is no key of \"space\" (did you mean "
                   "\"{x1}\"?); the placeholders are {budget}, {trial_id}, {trial_dir}, {parent_dir}, {x1}, {x2}.");
    CHECK_FALSE(fs::exists(dir / "typo"));  // nothing ran, nothing was written
    sweep["objective"] = {{"command", {"python3", "worker.py", "{x1}"}}, {"worker", true}, {"metric", "loss"}};
    expect_refusal(0, {"--config", write_sweep(dir, "typo.json", sweep)},
                   "but a worker (objective.worker) is started once for many trials");
    sweep["objective"] = {{"function", "branin"}, {"worker", true}};
    expect_refusal(0, {"--config", write_sweep(dir, "typo.json", sweep)},
                   "\"objective.worker\" needs objective.command: the worker to start.");
  }
  SECTION("isolation settings that cannot work, before any trial runs") {
    auto sweep = isolated_sweep(dir / "isolated");
    sweep["objective"]["trainer"] = (dir / "no-such-cohort-train").string();
    expect_refusal(3, {"--config", write_sweep(dir, "isolated.json", sweep)},
                   "\"objective.trainer\": " + (dir / "no-such-cohort-train").string() + " is not an executable file");
    sweep["objective"].erase("trainer");
    sweep["objective"]["launcher"] = {"mpirun", "-np", "{rank}"};
    expect_refusal(0, {"--config", write_sweep(dir, "isolated.json", sweep)},
                   "\"objective.launcher\" has the placeholder \"{rank}\"; its only placeholder is {ranks}");
    sweep["objective"].erase("isolation");
    expect_refusal(0, {"--config", write_sweep(dir, "isolated.json", sweep)},
                   "\"objective.launcher\" is a setting of isolated training trials and needs objective.isolation "
                   "\"process\".");
    CHECK_FALSE(fs::exists(dir / "isolated"));  // nothing ran, nothing was written
  }
  SECTION("ranks that do not split into groups") {
    expect_refusal(4, {"--config", config, "--set", "ranks_per_trial=2"}, "do not split into groups of 2");
  }
  SECTION("a rerun into an existing sweep's output_dir, and a resume of nothing") {
    REQUIRE(run_command(tune_command(0, {"--config", config}), dir, "first").status == 0);
    expect_refusal(3, {"--config", config}, "already holds a sweep (journal.jsonl); continue it with --resume");
    expect_refusal(3, {"--resume", (dir / "nothing").string()}, "there is no sweep to resume there");
    // Resuming under another config is refused too, and the sweep is untouched.
    const auto before = results_without_times(dir / "out" / "results.csv");
    expect_refusal(3, {"--config", config, "--resume", (dir / "out").string(), "--set", "seed=8"},
                   "was written by a different sweep");
    CHECK(results_without_times(dir / "out" / "results.csv") == before);
  }
}

TEST_CASE("ranks_per_trial 2 runs each trial as a two-rank ddp training job", "[tune][mpi][ddp]") {
  const auto dir = temporary_directory("tune-ddp");
  auto base = read_json(COHORT_SOURCE_DIR "/tests/cli/synthetic.json");  // 192 training examples, batch 32
  base["strategy"] = {{"name", "ddp"}};
  const Json sweep = {{"base", base},
                      {"space", {{"optimizer.lr", {{"type", "loguniform"}, {"low", 0.01}, {"high", 0.3}}}}},
                      {"objective", {{"metric", "val_accuracy"}, {"mode", "max"}}},
                      {"budget", {{"min", 1}, {"max", 2}, {"eta", 2}}},
                      {"scheduler", {{"name", "successive_halving"}, {"max_brackets", 1}}},
                      {"ranks_per_trial", 2},
                      {"sync_journal", false},
                      {"output_dir", (dir / "out").string()}};
  const auto run = run_command(tune_command(3, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto tells = journal_events(dir / "out" / "journal.jsonl", "tell");
  REQUIRE(tells.size() == 3);  // 2 configurations at 1 epoch, the better one promoted to 2
  for (const auto& tell : tells) CHECK(tell.at("state") == "completed");
  // Each rank trained on half of the 192 examples: 3 steps of 32 per epoch, not 6.
  CHECK(tells.at(0).at("info").at("steps") == 3);
  // The promoted trial continued from its parent's checkpoint at 1 epoch.
  const auto promoted = journal_events(dir / "out" / "journal.jsonl", "ask").at(2);
  CHECK(promoted.at("budget") == 2.0);
  CHECK(tells.at(2).at("info").at("start").get<std::string>().find(
            "trials/" + std::to_string(promoted.at("parent").get<int64_t>()) + "/checkpoints") != std::string::npos);
  CHECK(tells.at(2).at("info").at("steps") == 6);
  const auto best = read_json(dir / "out" / "best.json");
  CHECK(best.at("training_config").at("strategy").at("name") == "ddp");
  CHECK(best.at("training_config").at("optimizer").at("lr") == best.at("config").at("optimizer.lr"));
  CHECK(fs::exists(dir / "out" / "trials" / "0" / "metrics.jsonl"));
}

namespace {

const std::string kScripts = std::string(COHORT_SOURCE_DIR) + "/tests";

/// A sweep over x in [0, 1] whose objective is `command`.
Json command_sweep(const fs::path& output_dir, const Json& command) {
  auto sweep = branin_sweep(output_dir);
  sweep["space"] = {{"x", {{"type", "uniform"}, {"low", 0}, {"high", 1}}}};
  sweep["objective"] = {{"command", command}, {"metric", "loss"}};
  return sweep;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a missing metric fails its trial once, not retried, and the console says why", "[tune]") {
  const auto dir = temporary_directory("tune-missing-metric");
  auto sweep = command_sweep(dir / "out", {"sh", "-c", "echo '{\"val\": 1}'"});
  sweep["max_trials"] = 2;
  const auto run = run_command(tune_command(0, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  CHECK(run.status == 1);
  const auto tells = journal_events(dir / "out" / "journal.jsonl", "tell");
  CHECK(tells.size() == 2);  // max_failures 2, but nothing retried
  for (const auto& tell : tells) CHECK(tell.at("retry") == false);
  CHECK(run.err.find("sweep failed: no trial completed; trial 1 failed: the metric \"loss\" is not in the command's "
                     "last JSON line; its numbers are: val; see ") != std::string::npos);
  CHECK(run.err.find("trial 0 failed (not retried: it would fail again): the metric \"loss\"") != std::string::npos);
}

TEST_CASE("promoted command trials continue from {parent_dir}: no parent epoch is run again", "[tune]") {
  const auto dir = temporary_directory("tune-parent-dir");
  auto sweep = command_sweep(dir / "out", {"python3", kScripts + "/tune/scripts/continue_from_parent.py", "{x}",
                                           "{budget}", "{trial_dir}", "{parent_dir}"});
  sweep["scheduler"] = {{"name", "successive_halving"}, {"max_brackets", 1}};  // 9 at 1, 3 at 3, 1 at 9
  sweep.erase("max_trials");
  const auto run = run_command(tune_command(0, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  std::map<int64_t, Json> asked;
  for (const auto& trial : journal_events(dir / "out" / "journal.jsonl", "ask")) asked[trial.at("id")] = trial;
  REQUIRE(asked.size() == 13);
  int64_t epochs_run = 0, promoted = 0;
  for (const auto& [id, trial] : asked) {
    const auto epochs = lines_of(dir / "out" / "trials" / std::to_string(id) / "epochs_run.txt");
    const int64_t parent = trial.at("parent");
    const int first = parent < 0 ? 1 : int(asked.at(parent).at("budget").get<double>()) + 1;
    INFO("trial " << id);
    REQUIRE_FALSE(epochs.empty());
    CHECK(epochs.front() == std::to_string(first));  // from its parent's checkpoint, not from epoch 1
    CHECK(epochs.back() == std::to_string(int(trial.at("budget").get<double>())));
    epochs_run += int64_t(epochs.size());
    promoted += parent >= 0;
  }
  CHECK(promoted == 4);
  CHECK(epochs_run == 9 * 1 + 3 * (3 - 1) + 1 * (9 - 3));  // 21, where starting over would run 9 + 9 + 9 = 27
}

TEST_CASE("a persistent worker at -np 2 is pruned by the median rule through intermediate reports", "[tune][mpi]") {
  const auto dir = temporary_directory("tune-worker");
  auto sweep = command_sweep(dir / "out", {"python3", kScripts + "/sweep/scripts/worker.py"});
  sweep["objective"]["worker"] = true;
  sweep["budget"] = {{"min", 4}, {"max", 4}, {"eta", 3}};
  sweep["scheduler"] = {{"name", "fifo"}, {"pruner", "median"}, {"pruner_startup_trials", 2}};
  const auto run = run_command(tune_command(2, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto journal = dir / "out" / "journal.jsonl";
  const auto reports = journal_events(journal, "report");
  CHECK(reports.size() >= 12);  // at budgets 1, 2, 3 of the completed trials at least
  std::set<int64_t> pids;
  int64_t pruned = 0;
  for (const auto& tell : journal_events(journal, "tell")) {
    if (tell.at("state") == "pruned") {
      ++pruned;
      CHECK(tell.at("info").at("pruned_at_budget").get<double>() < 4.0);
    } else {
      REQUIRE(tell.at("state") == "completed");
      pids.insert(tell.at("info").at("output").at("pid").get<int64_t>());
    }
  }
  CHECK(pruned > 0);
  CHECK(pids.size() == 1);  // one worker served every trial
}

TEST_CASE("isolated trials: a rank killed with SIGKILL fails only its trial, and a promotion resumes its parent",
          "[tune][mpi][isolation]") {
  const auto dir = temporary_directory("tune-isolated");
  auto sweep = isolated_sweep(dir / "out");
  // Rank 1 of trial 0's job dies as it starts (tests/tune/scripts/kill_rank.sh); the other ranks are cohort-train.
  sweep["objective"]["trainer"] = kScripts + "/tune/scripts/kill_rank.sh";
  sweep["max_failures"] = 0;
  ::setenv("COHORT_TEST_TRAINER", COHORT_TRAIN_BINARY, 1);
  // A coordinator and two ranks that start the trials' jobs: trials 0 and 1 run side by side.
  const auto run = run_command(tune_command(3, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  const auto journal = dir / "out" / "journal.jsonl";
  std::map<int64_t, Json> told;
  for (const auto& tell : journal_events(journal, "tell")) told[tell.at("trial_id")] = tell;
  REQUIRE(told.size() == 3);

  // Trial 0 failed alone, in one sentence naming how its job ended and its log.
  REQUIRE(told.at(0).at("state") == "failed");
  const auto error = told.at(0).at("error").get<std::string>();
  CHECK(error.rfind("the trial's training job ", 0) == 0);
  CHECK(error.find("trials/0/train.log") != std::string::npos);
  // mpirun's exit status for a rank killed by SIGKILL (its banner may or may not say which rank it was).
  CHECK(error.find("exited with status 137 (128 + 9: a process it ran was killed by signal 9, Killed)") !=
        std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
  CHECK(run.err.find("sweep: trial 0 failed") != std::string::npos);

  // Trial 1 trained as a two-rank ddp job: each rank on half of the 192 examples, 3 steps per epoch.
  REQUIRE(told.at(1).at("state") == "completed");
  CHECK(told.at(1).at("info").at("steps") == 3);
  CHECK(told.at(1).at("info").at("start") == "scratch");

  // Trial 2, trial 1 promoted to 2 epochs, continued from its parent's checkpoint: the child job's log says so.
  const auto promoted = journal_events(journal, "ask").at(2);
  REQUIRE(promoted.at("parent") == 1);
  REQUIRE(told.at(2).at("state") == "completed");
  CHECK(told.at(2).at("info").at("start").get<std::string>().find("trials/1/checkpoints") != std::string::npos);
  CHECK(told.at(2).at("info").at("steps") == 6);
  const auto log = text_of(dir / "out" / "trials" / "2" / "train.log");
  INFO(log);
  CHECK(log.find("resumed from " + (dir / "out" / "trials" / "1" / "checkpoints").string()) != std::string::npos);
  // Its learning curve is its parent's epoch, then its own.
  const auto curve = read_jsonl(dir / "out" / "trials" / "2" / "metrics.jsonl");
  REQUIRE(curve.size() == 2);
  CHECK(curve.at(0) == read_jsonl(dir / "out" / "trials" / "1" / "metrics.jsonl").at(0));
  CHECK(curve.at(1).at("epoch") == 2);
  const auto summary = final_line(run);
  CHECK(summary.at("completed") == 2);
  CHECK(summary.at("failed") == 1);
}

TEST_CASE("isolated trials without a launcher: cohort-train alone per trial, its own failure sentence in the trial's",
          "[tune][isolation]") {
  const auto dir = temporary_directory("tune-isolated-alone");
  auto sweep = isolated_sweep(dir / "out");
  sweep["base"]["strategy"] = {{"name", "single"}};
  sweep["base"]["trainer"]["nonfinite_loss"] = "fail";
  sweep["objective"]["launcher"] = Json::array();  // no mpirun: each trial is one cohort-train process
  sweep["ranks_per_trial"] = 1;
  sweep["space"] = {{"optimizer.lr", {{"type", "grid"}, {"values", {0.1, 1e30}}}}};  // 1e30 diverges at once
  sweep["sampler"] = {{"name", "grid"}};
  sweep["scheduler"] = {{"name", "fifo"}};
  sweep["max_failures"] = 0;
  // cohort-tune alone, without mpirun: it starts the trials' processes itself.
  const auto run = run_command(tune_command(0, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  REQUIRE(run.status == 0);
  std::map<double, Json> by_lr;
  for (const auto& trial : journal_events(dir / "out" / "journal.jsonl", "ask"))
    by_lr[trial.at("config").at("optimizer.lr").get<double>()] = trial;
  const auto tells = journal_events(dir / "out" / "journal.jsonl", "tell");
  REQUIRE(tells.size() == 2);
  for (const auto& tell : tells) {
    const bool diverged = tell.at("trial_id") == by_lr.at(1e30).at("id");
    INFO(tell.dump());
    CHECK(tell.at("state") == (diverged ? "failed" : "completed"));
    if (!diverged) continue;
    const auto error = tell.at("error").get<std::string>();
    // The trainer's own sentence, not the end of its log.
    CHECK(error.rfind("the trial's training job exited with status 1: cohort-train: training failed: step ", 0) == 0);
    CHECK(error.find("the loss is nan") != std::string::npos);
    CHECK(error.find("(its log: ") != std::string::npos);
  }
}

TEST_CASE("isolated trials past trial_timeout_s: the job is stopped and the trial timed out", "[tune][isolation]") {
  const auto dir = temporary_directory("tune-isolated-timeout");
  auto sweep = isolated_sweep(dir / "out");
  sweep["objective"]["launcher"] = Json::array();
  sweep["objective"]["trainer"] = kScripts + "/tune/scripts/hang.sh";  // sleeps 60 s
  sweep["ranks_per_trial"] = 1;
  sweep["scheduler"] = {{"name", "fifo"}};
  sweep["max_trials"] = 1;
  sweep["max_failures"] = 0;
  sweep["trial_timeout_s"] = 1;
  const auto run = run_command(tune_command(0, {"--config", write_sweep(dir, "sweep.json", sweep)}), dir, "run");
  INFO(run.err);
  CHECK(run.status == 1);  // no trial completed
  const auto tells = journal_events(dir / "out" / "journal.jsonl", "tell");
  REQUIRE(tells.size() == 1);
  CHECK(tells.at(0).at("state") == "timed_out");  // had it run its 60 s, it would have failed (no record)
  CHECK(tells.at(0).at("error").get<std::string>().rfind(
            "timed out: the trial's training job ran past its deadline and was stopped with SIGTERM; its log is ", 0) ==
        0);
}
