// cohort-train: trains the model a JSON config describes, evaluates it on the
// test set and prints the final metrics as one JSON line on stdout.
//
//   cohort-train --config configs/fmnist_mlp.json [--set optimizer.lr=0.05 ...] [--resume CKPT]
//
// Exit status: 0 success, 1 training failed, 2 bad input (one sentence on stderr).

#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cohort/config/config.h"
#include "cohort/core/error.h"
#include "cohort/job/training_job.h"
#include "cohort/logging/logging.h"
#include "cohort/runtime/device.h"

namespace {

struct Arguments {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string resume;
  std::string log_level;
  bool print_config = false;
  bool print_reference = false;
};

int run(const Arguments& args) {
  const auto schema = cohort::job::training_schema();
  if (args.print_reference) {
    schema.write_reference(std::cout);
    return cohort::kExitSuccess;
  }
  if (args.config_path.empty()) throw cohort::InputError("--config FILE is required.");
  auto config = cohort::config::load(args.config_path, args.overrides, schema);
  const int rank = cohort::runtime::launcher_rank();
  cohort::logging::setup(rank, args.log_level.empty() ? config.at("log_level").get<std::string>() : args.log_level);
  if (args.print_config) {
    std::cout << config.dump(2) << "\n";
    return cohort::kExitSuccess;
  }

  cohort::job::TrainingJob job(config, args.config_path);
  if (!args.resume.empty()) job.resume(args.resume);
  const auto epochs = job.fit();
  const auto test = job.test();
  nlohmann::json summary = {{"event", "final"},
                            {"epochs", job.trainer().epochs_done()},
                            {"steps", job.trainer().steps_done()},
                            {"test_loss", test.mean_loss()},
                            {"test_accuracy", test.accuracy()}};
  if (!epochs.empty()) {
    summary["train_loss"] = epochs.back().train.mean_loss();
    summary["samples_per_second"] = epochs.back().samples_per_second;
    if (epochs.back().validation) summary["val_accuracy"] = epochs.back().validation->accuracy();
  }
  spdlog::info("test_loss {:.4f} test_accuracy {:.4f}", test.mean_loss(), test.accuracy());
  if (rank == 0) std::cout << summary.dump() << std::endl;
  return cohort::kExitSuccess;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  CLI::App app{"Cohort: train the model a JSON config describes."};
  app.add_option("-c,--config", args.config_path, "the training config (JSON)");
  app.add_option("-s,--set", args.overrides, "override a key: --set optimizer.lr=0.05 (repeatable)");
  app.add_option("-r,--resume", args.resume, "continue from a checkpoint file or a directory of them");
  app.add_option("--log-level", args.log_level, "trace, debug, info, warn, error or off (overrides log_level)");
  app.add_flag("--print-config", args.print_config, "print the complete config with defaults, then exit");
  app.add_flag("--print-config-reference", args.print_reference,
               "print the Markdown reference of every config key, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? cohort::kExitSuccess : cohort::kExitBadInput;
  }

  try {
    cohort::logging::setup(cohort::runtime::launcher_rank(), "info");
    return run(args);
  } catch (const cohort::InputError& error) {
    std::cerr << "cohort-train: " << error.what() << std::endl;
    return cohort::kExitBadInput;
  } catch (const std::exception& error) {
    std::cerr << "cohort-train: training failed: " << cohort::describe_exception(error) << std::endl;
    return cohort::kExitTrainingFailed;
  }
}
