// cohort-train: trains the model a JSON config describes, evaluates it on the
// test set and prints the final metrics as one JSON line on stdout.
//
//   cohort-train --config configs/fmnist_mlp.json [--set optimizer.lr=0.05 ...] [--resume CKPT]
//   cohort-train --config job.json --find-batch-size   (prints the largest micro-batch that fits)
//   cohort-train --config job.json --summary           (prints the model layer by layer, trains nothing)
//   cohort-train --config trial.json --until-epochs 1.5 --no-test   (a sweep's isolated trial: to its budget)
//
// While it trains, `kill -USR1 <pid>` logs a memory report at the next step.
//
// Exit status: 0 success, 1 training failed, 2 bad input (one sentence on stderr).

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cohort/job/program.h"
#include "cohort/config/config.h"
#include "cohort/core/error.h"
#include "cohort/distributed/runtime.h"
#include "cohort/job/training_job.h"
#include "cohort/logging/logging.h"
#include "cohort/memory/batch_size_finder.h"
#include "cohort/memory/memory_report.h"
#include "cohort/models/summary.h"

namespace {

struct Arguments {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string resume;
  std::string log_level;
  double until_epochs = 0.0;
  bool no_test = false;
  bool print_config = false;
  bool print_reference = false;
  bool find_batch_size = false;
  bool summary = false;
};

/// --find-batch-size: the largest micro-batch whose training step fits, as one JSON line.
int find_batch_size(const nlohmann::json& config, const std::string& source) {
  cohort::job::TrainingJob job(config, source);
  auto& trainer = job.trainer();
  if (trainer.strategy().data_parallel_size() != 1)
    throw cohort::InputError("--find-batch-size runs on one process; start it without mpirun (the micro-batch that "
                             "fits one device fits each rank of ddp).");
  const auto& memory = config.at("memory");
  const auto result = cohort::memory::find_batch_size(trainer.strategy(), trainer.options().task(), *job.data().train,
                                                      cohort::memory::BatchSizeSearchOptions()
                                                          .fraction(memory.at("fraction").get<double>())
                                                          .cpu_budget_mb(memory.at("cpu_budget_mb").get<int64_t>())
                                                          .autocast(trainer.step_runner().autocast()));
  const auto budget = cohort::memory::format_bytes(result.budget_bytes);
  if (result.micro_batch_size == 0)
    throw std::runtime_error("not even a micro-batch of 1 example fits in " + budget + " on " + result.device +
                             "; see docs/memory.md.");
  const auto batch = config.at("loader").at("batch_size").get<int64_t>();
  const auto accumulation = (batch + result.micro_batch_size - 1) / result.micro_batch_size;
  spdlog::info("the largest micro-batch that fits in {} on {} is {}{}; for loader.batch_size {} set "
               "trainer.accumulation_steps to at least {}",
               budget, result.device, result.reached_max ? "at least " : "", result.micro_batch_size, batch,
               accumulation);
  auto line = result.to_json();
  line["batch_size"] = batch;
  line["accumulation_steps"] = accumulation;
  std::cout << line.dump() << std::endl;
  return cohort::kExitSuccess;
}

/// Tensors the configured optimizer keeps per parameter: momentum for SGD
/// with momentum, two moments for Adam and AdamW.
int64_t optimizer_states(const nlohmann::json& optimizer) {
  const auto& name = optimizer.at("name").get_ref<const std::string&>();
  if (name == "adam" || name == "adamw") return 2;
  return optimizer.value("momentum", 0.0) > 0 ? 1 : 0;
}

/// The memory the device `device` has: its capacity (CUDA) or what the process may still hold (CPU).
double device_bytes(const torch::Device& device) {
  if (!device.is_cuda()) return cohort::memory::cpu_memory_available();
  for (const auto& cuda : cohort::memory::capture_memory_report().cuda)
    if (cuda.device == device.index()) return double(cuda.total);
  return 0;
}

/// --summary: the model layer by layer on one batch of the configured size,
/// and the memory a training step needs; trains and writes nothing.
int print_summary(const nlohmann::json& config, const std::string& source) {
  cohort::job::TrainingJob job(config, source);
  auto& trainer = job.trainer();
  const auto device = trainer.strategy().input_device();
  const auto& train = *job.data().train;
  const auto batch = std::min(config.at("loader").at("batch_size").get<int64_t>(), train.size());
  const auto input =
      train.get_batch(torch::arange(batch, torch::kInt64)).at(trainer.options().task().inputs().front()).to(device);
  const auto report = cohort::models::summary(trainer.model(), input);
  std::cout << report.format(cohort::models::SummaryOptions()
                                 .optimizer_states(optimizer_states(config.at("optimizer")))
                                 .device_bytes(device_bytes(device))
                                 .device(device.str()));
  return cohort::kExitSuccess;
}

/// The configured level; ranks other than 0 keep to warnings unless asked for
/// more on the command line, so a job's log reads like one process's.
std::string log_level(const Arguments& args, const cohort::config::Json& config, int rank) {
  if (!args.log_level.empty()) return args.log_level;
  const auto level = config.at("log_level").get<std::string>();
  return rank != 0 && level == "info" ? "warn" : level;
}

/// Loads and validates the config. Every rank reads the same file, so a bad
/// config fails on all of them alike; in a job of several ranks they agree on
/// it with one collective, the lowest failing rank says why, and all exit with
/// status 2 without the launcher's abort banner.
cohort::config::Json load_config(const Arguments& args, const cohort::config::Schema& schema) {
  return cohort::job::load_agreed([&] { return cohort::config::load(args.config_path, args.overrides, schema); });
}

/// The config's strategy.timeout_s, read before MPI starts so that start-up is
/// watched with it (a rank that never joins MPI_Init is reported within it);
/// the default when the config cannot be read: load_config() then says why,
/// agreed over the ranks.
double configured_timeout(const Arguments& args) {
  constexpr double kDefault = cohort::distributed::kDefaultTimeoutSeconds;
  if (args.config_path.empty() || args.print_reference) return kDefault;
  try {
    const auto config = cohort::config::load(args.config_path, args.overrides, cohort::job::training_schema());
    const auto& strategy = config.at("strategy");
    return strategy.contains("timeout_s") ? strategy.at("timeout_s").get<double>() : kDefault;
  } catch (const std::exception&) {
    return kDefault;
  }
}

int run(const Arguments& args) {
  const auto schema = cohort::job::training_schema();
  if (args.print_reference) {
    schema.write_reference(std::cout);
    return cohort::kExitSuccess;
  }
  if (args.config_path.empty()) throw cohort::InputError("--config FILE is required.");
  auto config = load_config(args, schema);
  const int rank = cohort::distributed::world_rank();
  cohort::logging::setup(rank, log_level(args, config, rank));
  if (args.print_config) {
    std::cout << config.dump(2) << "\n";
    return cohort::kExitSuccess;
  }

  if (args.find_batch_size) return find_batch_size(config, args.config_path);
  if (args.summary) return print_summary(config, args.config_path);

  cohort::memory::install_report_signal(SIGUSR1);
  // A strategy that does not fit the job (a pipeline's stages x replicas
  // against the ranks) is refused alike by every rank: agreed on, said once.
  const auto context = cohort::job::JobContext::world();
  auto strategy =
      cohort::job::load_agreed([&] { return cohort::job::make_strategy(config, args.config_path, context); });
  cohort::job::TrainingJob job(config, args.config_path, context, std::move(strategy));
  if (!args.resume.empty()) job.resume(args.resume);
  const auto epochs = job.fit(cohort::trainer::FitOptions().until_epochs(args.until_epochs));
  const auto& task = job.trainer().options().task();
  nlohmann::json summary = {{"event", "final"}, {"epochs", job.trainer().epochs_done()},
                            {"steps", job.trainer().steps_done()}};
  std::string text;
  const auto tested = args.no_test ? nlohmann::json::object() : cohort::trainer::stats_record("test", job.test(), task);
  for (const auto& [key, value] : tested.items()) {
    if (key == "test_samples") continue;
    summary[key] = value;
    text += fmt::format("{}{} {:.4f}", text.empty() ? "" : " ", key, value.is_number() ? value.get<double>() : NAN);
  }
  if (!epochs.empty()) {
    summary["train_loss"] = epochs.back().train.mean_loss();
    summary["samples_per_second"] = epochs.back().samples_per_second;
    if (epochs.back().validation)
      for (const auto& [name, value] : task.metric_values(*epochs.back().validation)) summary["val_" + name] = value;
  }
  if (!text.empty()) spdlog::info("{}", text);
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
  app.add_option("--until-epochs", args.until_epochs,
                 "stop after this many epochs (fractions allowed); trainer.epochs stays the horizon of the "
                 "learning-rate schedule (how a sweep trains a trial to its budget)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--no-test", args.no_test, "skip the evaluation on the test split after training");
  app.add_flag("--print-config", args.print_config, "print the complete config with defaults, then exit");
  app.add_flag("--find-batch-size", args.find_batch_size,
               "print the largest micro-batch whose training step fits in memory (memory.fraction, "
               "memory.cpu_budget_mb), then exit");
  app.add_flag("--summary", args.summary,
               "print each layer's output shape, parameters and activations at one batch, and the memory a "
               "training step needs, then exit");
  app.add_flag("--print-config-reference", args.print_reference,
               "print the Markdown reference of every config key, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? cohort::kExitSuccess : cohort::kExitBadInput;
  }

  cohort::distributed::set_startup_timeout(configured_timeout(args));
  return cohort::job::run_program("cohort-train", "training failed", &argc, &argv, [&] { return run(args); });
}
