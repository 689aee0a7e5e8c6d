// cohort-tune: runs the hyperparameter sweep a JSON config describes. Under
// mpirun, rank 0 coordinates and the other ranks form groups of
// ranks_per_trial, each running one trial (a training job, a command or a
// test function) at a time; started alone it runs trials itself. With
// objective.isolation "process" each group is one rank, which starts every
// training trial as a child job of ranks_per_trial ranks (mpirun cohort-train).
//
//   mpirun -np 3 cohort-tune --config configs/sweep_fmnist_bohb.json [--set max_trials=20 ...]
//   mpirun -np 3 cohort-tune --resume runs/sweep_fmnist_bohb      (after a crash or a kill)
//
// Prints the outcome as one JSON line on stdout at the end.
// Exit status: 0 success, 1 the sweep failed (or no trial completed), 2 bad input.

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cohort/config/config.h"
#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "cohort/distributed/runtime.h"
#include "cohort/logging/logging.h"
#include "cohort/sweep/evaluator.h"
#include "cohort/sweep/executor.h"
#include "cohort/sweep/sweep_config.h"
#include "cohort/sweep/sweep_outputs.h"
#include "cohort/core/run_layout.h"
#include "cohort/job/program.h"

namespace {

using cohort::tuner::Json;
using namespace cohort::sweep;

struct Arguments {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string resume;
  std::string log_level = "info";
  bool print_config = false;
  bool print_reference = false;
};

void print_reference() {
  std::cout << "Two keys are free-form:\n\n"
            << "- `base` (object or string; required for a training objective): the training config every trial "
               "starts from, inline or the path of a file relative to the sweep config.\n"
            << "- `space` (object; required): training-config key paths to parameters (docs/tuner.md).\n\n";
  sweep_schema().write_reference(std::cout);
}

/// The outcome as one JSON line.
Json summary_line(const SweepSummary& summary, const cohort::tuner::Study& study) {
  Json line = {{"event", "final"},           {"trials", summary.trials},
               {"completed", summary.completed}, {"failed", summary.failed},
               {"dispatched", summary.dispatched}, {"seconds", summary.seconds},
               {"finished", summary.study_finished}, {"time_limit_reached", summary.time_limit_reached}};
  if (const auto best = study.best())
    line["best"] = {{"trial_id", best->trial.id}, {"value", *best->value}, {"budget", best->trial.budget},
                    {"config", best->trial.config}};
  return line;
}

/// What the last trial that failed said, for the console: "; trial 5 failed: ..." ("" if none said anything).
std::string last_failure(const cohort::tuner::Study& study) {
  const auto& trials = study.trials();
  for (auto it = trials.rbegin(); it != trials.rend(); ++it) {
    auto error = it->second.error;
    if (error.empty()) continue;
    if (error.back() == '.') error.pop_back();  // the sentence goes on
    return fmt::format("; trial {} {}: {}", it->first, cohort::tuner::state_name(it->second.state), error);
  }
  return "";
}

int run(const Arguments& args) {
  if (args.print_reference) {
    print_reference();
    return cohort::kExitSuccess;
  }
  if (args.config_path.empty() && args.resume.empty())
    throw cohort::InputError("--config FILE (or --resume DIR) is required.");
  const auto sweep = cohort::job::load_agreed([&] {
    return open_sweep(args.config_path, args.overrides, args.resume, cohort::distributed::world_size());
  });
  const int rank = cohort::distributed::world_rank();
  cohort::logging::setup(rank, rank != 0 && args.log_level == "info" ? "warn" : args.log_level);
  if (args.print_config) {
    if (rank == 0) std::cout << sweep.config.dump(2) << "\n";
    return cohort::kExitSuccess;
  }

  SweepOutputs outputs(sweep);
  MpiExecutor executor(ExecutorOptions()
                           .ranks_per_trial(sweep.group_size())
                           .output_dir(sweep.output_dir)
                           .trial_timeout_s(sweep.trial_timeout_s)
                           .time_limit_s(sweep.time_limit_s)
                           .progress_every_s(sweep.config.at("progress_every_s").get<double>())
                           .outputs_every_s(sweep.config.at("outputs_every_s").get<double>())
                           .write_outputs([&](const cohort::tuner::Study& study) { outputs.write(study); }));
  // The evaluators (worker ranks) and the study (rank 0) can refuse input
  // too (a metric the job does not report, a journal of another sweep):
  // agreed as well, the evaluators first, so that a refused sweep leaves no
  // journal behind.
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<cohort::tuner::Study> study;
  cohort::job::load_agreed([&] {
    if (executor.evaluates()) evaluator = make_evaluator(sweep.objective, sweep.base, sweep.source, sweep.max_budget);
    return true;
  });
  cohort::job::load_agreed([&] {
    if (executor.coordinates())
      study = std::make_unique<cohort::tuner::Study>(sweep.make_sampler(), sweep.make_scheduler(), sweep.study_options());
    return true;
  });
  if (executor.coordinates()) {
    cohort::write_file_atomically(cohort::run_layout::in(sweep.output_dir, cohort::run_layout::kSweepConfig),
                                  sweep.config.dump(2) + "\n");
    spdlog::info("sweep: {} {} into {}", args.resume.empty() ? "starting" : "resuming", sweep.source, sweep.output_dir);
  }

  const auto summary = executor.run(study.get(), evaluator.get());
  if (!executor.coordinates()) return cohort::kExitSuccess;
  std::cout << summary_line(summary, *study).dump() << std::endl;
  // A study with nothing to run succeeds; one whose time limit ran out before any trial completed did not.
  if (summary.completed > 0 || (summary.trials == 0 && !summary.time_limit_reached)) return cohort::kExitSuccess;
  // The other ranks are done and exit normally, so no abort: rank 0 says why.
  if (summary.trials == 0)
    std::cerr << "cohort-tune: sweep failed: no trial completed; time_limit_s (" << sweep.time_limit_s
              << " s) ran out before the first one was handed out." << std::endl;
  else
    std::cerr << "cohort-tune: sweep failed: no trial completed" << last_failure(*study) << "; see "
              << cohort::run_layout::in(sweep.output_dir, cohort::run_layout::kResults) << std::endl;
  return cohort::kExitTrainingFailed;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  CLI::App app{"Cohort: run the hyperparameter sweep a JSON config describes."};
  app.add_option("-c,--config", args.config_path, "the sweep config (JSON)");
  app.add_option("-s,--set", args.overrides, "override a key: --set max_trials=20 (repeatable)");
  app.add_option("-r,--resume", args.resume,
                 "continue the sweep in this output directory (with its saved config unless --config is given)");
  app.add_option("--log-level", args.log_level, "trace, debug, info, warn, error or off");
  app.add_flag("--print-config", args.print_config, "print the complete sweep config with defaults, then exit");
  app.add_flag("--print-config-reference", args.print_reference,
               "print the Markdown reference of every sweep config key, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? cohort::kExitSuccess : cohort::kExitBadInput;
  }
  return cohort::job::run_program("cohort-tune", "sweep failed", &argc, &argv, [&] { return run(args); });
}
