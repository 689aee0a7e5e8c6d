// cohort-bench-sweep: what the MPI executor of cohort-tune costs.
//
//   mpirun -np 3 cohort-bench-sweep dispatch --trials 5000 [--sync]
//       trials handed out and reported per second with an empty objective
//       (the journal fdatasync'ed after every record with --sync, as
//       cohort-tune does by default; not without);
//   mpirun -np 9 cohort-bench-sweep busy --trials 600 --sleep 0.004
//       the share of the wall time the worker groups spend evaluating under
//       ASHA, trials taking sleep x budget x [0.25, 1.75) seconds.
//
// Prints one JSON line on rank 0. Run by hand, never by CTest.

#include <ftw.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"
#include "cohort/sweep/evaluator.h"
#include "cohort/sweep/executor.h"
#include "cohort/sweep/sweep_config.h"

namespace {

using cohort::tuner::Json;
using namespace cohort::tuner;
using namespace cohort::sweep;

struct Arguments {
  std::string mode = "dispatch";
  int64_t trials = 5000;
  bool sync = false;
  double sleep_s = 0.004;
  std::string output_dir = "runs/bench_sweep";
};

/// The objective that does nothing, to time the executor alone.
class EmptyEvaluator : public Evaluator {
 public:
  Result evaluate(const Trial&, const TrialContext&) override { return Result::completed(0.0); }
};

/// CLOCK_MONOTONIC in seconds: one clock for every process of the machine,
/// so the leaders' busy intervals can be laid side by side.
double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Wraps an evaluator and reports when it ran, as info "busy_from"/"busy_to".
class TimedEvaluator : public Evaluator {
 public:
  explicit TimedEvaluator(std::unique_ptr<Evaluator> inner) : inner_(std::move(inner)) {}
  Result evaluate(const Trial& trial, const TrialContext& context) override {
    const double from = monotonic();
    auto result = inner_->evaluate(trial, context);
    result.info["busy_from"] = from;
    result.info["busy_to"] = monotonic();
    return result;
  }

 private:
  std::unique_ptr<Evaluator> inner_;
};

Json sweep_json(const Arguments& args) {
  Json sweep = {{"space", {{"x1", {{"type", "uniform"}, {"low", -5}, {"high", 10}}},
                           {"x2", {{"type", "uniform"}, {"low", 0}, {"high", 15}}}}},
                {"objective", {{"function", "branin"}}},
                {"sampler", {{"name", "random"}}},
                {"max_trials", args.trials},
                {"sync_journal", args.sync},
                {"progress_every_s", 1e9},  // no progress lines inside the measurement
                {"output_dir", args.output_dir}};
  if (args.mode == "dispatch") {
    sweep["scheduler"] = {{"name", "fifo"}};
  } else {
    sweep["scheduler"] = {{"name", "asha"}};
    sweep["budget"] = {{"min", 1}, {"max", 27}, {"eta", 3}};
    sweep["objective"]["sleep_s"] = args.sleep_s;
    sweep["objective"]["uneven"] = true;
  }
  return sweep;
}

/// Deletes `path` and everything under it. (Not std::filesystem::remove_all:
/// with LibTorch 2.11 loaded, that call binds to libtorch.so's own copy,
/// which crashes.)
void remove_tree(const std::string& path) {
  const auto remove_entry = [](const char* entry, const struct stat*, int, struct FTW*) { return ::remove(entry); };
  ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/// The share of groups x time that the groups spent evaluating: over the
/// whole run (`seconds`, including the end, when groups run out of trials
/// while the last ones finish), and in the steady state, from the first trial
/// start to the last (every group is handed work then, so only dispatch
/// costs idle time).
std::pair<double, double> busy_fractions(const Study& study, int64_t groups, double seconds) {
  double busy = 0, first = 1e300, last = 0;
  for (const auto& [id, record] : study.trials()) {
    busy += record.info.value("busy_to", 0.0) - record.info.value("busy_from", 0.0);
    first = std::min(first, record.info.value("busy_from", 1e300));
    last = std::max(last, record.info.value("busy_from", 0.0));
  }
  double steady = 0;
  for (const auto& [id, record] : study.trials()) {
    const double from = record.info.value("busy_from", 0.0), to = record.info.value("busy_to", 0.0);
    steady += std::max(0.0, std::min(to, last) - std::max(from, first));
  }
  return {busy / (double(groups) * seconds), steady / (double(groups) * (last - first))};
}

int run(const Arguments& args) {
  const auto sweep = parse_sweep_config(sweep_json(args), "cohort-bench-sweep", ".");
  const bool coordinator = cohort::distributed::world_rank() == 0;
  if (coordinator) remove_tree(args.output_dir);
  MpiExecutor executor(ExecutorOptions().output_dir(sweep.output_dir).progress_every_s(1e9).outputs_every_s(1e9));
  std::unique_ptr<Study> study;
  if (coordinator) study = std::make_unique<Study>(sweep.make_sampler(), sweep.make_scheduler(), sweep.study_options());
  std::unique_ptr<Evaluator> evaluator;
  if (executor.evaluates()) {
    evaluator = std::make_unique<TimedEvaluator>(args.mode == "dispatch" ? std::make_unique<EmptyEvaluator>()
                                                                         : make_evaluator(sweep.objective, sweep.base,
                                                                                          sweep.source, sweep.max_budget));
  }
  const auto summary = executor.run(study.get(), evaluator.get());
  if (!coordinator) return 0;
  Json line = {{"mode", args.mode},
               {"ranks", cohort::distributed::world_size()},
               {"groups", executor.groups()},
               {"trials", summary.dispatched},
               {"seconds", summary.seconds},
               {"sync_journal", args.sync}};
  if (args.mode == "dispatch") {
    line["dispatches_per_second"] = double(summary.dispatched) / summary.seconds;
  } else {
    line["sleep_s"] = args.sleep_s;
    const auto [overall, steady] = busy_fractions(*study, executor.groups(), summary.seconds);
    line["busy_fraction"] = overall;
    line["busy_fraction_steady"] = steady;
  }
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  CLI::App app{"What the MPI executor of cohort-tune costs."};
  app.add_option("mode", args.mode, "dispatch or busy")->check(CLI::IsMember({"dispatch", "busy"}));
  app.add_option("--trials", args.trials, "trials to run");
  app.add_flag("--sync", args.sync, "fdatasync the journal after every record");
  app.add_option("--sleep", args.sleep_s, "busy: seconds per unit of budget of a trial (budgets 1..27)");
  app.add_option("--output-dir", args.output_dir, "where the sweep writes (emptied first)");
  CLI11_PARSE(app, argc, argv);
  cohort::distributed::initialize(&argc, &argv);
  cohort::logging::setup(cohort::distributed::world_rank(), "warn");
  return run(args);
}
