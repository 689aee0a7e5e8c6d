#include "cohort/job/training_job.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "cohort/logging/logging.h"
#include "cohort/models/registry.h"
#include "cohort/optim/lr_schedule.h"
#include "cohort/optim/optimizers.h"
#include "cohort/runtime/device.h"
#include "cohort/strategies/registry.h"
#include "cohort/trainer/checkpoint.h"

namespace cohort::job {
namespace {

using config::Json;
using config::Range;
using config::Schema;

Schema loader_schema() {
  const data::DataLoaderOptions defaults;
  return Schema()
      .integer("batch_size", defaults.batch_size(), "examples per training step", Range::at_least(1))
      .integer("eval_batch_size", 1000, "examples per evaluation step", Range::at_least(1))
      .integer("num_workers", 2, "threads that build batches ahead (0 = on the training thread)", Range::at_least(0))
      .integer("prefetch", defaults.prefetch(), "batches each worker may build ahead", Range::at_least(1))
      .boolean("shuffle", defaults.shuffle(), "reshuffle the training set every epoch")
      .boolean("drop_last", defaults.drop_last(), "drop a last training batch smaller than batch_size");
}

Schema trainer_schema() {
  const trainer::TrainerOptions defaults;
  return Schema()
      .integer("epochs", defaults.epochs(), "passes over the training set", Range::at_least(1))
      .integer("checkpoint_every", defaults.checkpoint_every(),
               "write a checkpoint every this many epochs and after the last (0 = never)", Range::at_least(0))
      .integer("keep_checkpoints", defaults.keep_checkpoints(), "newest checkpoints kept (0 = all)",
               Range::at_least(0))
      .integer("log_every", defaults.log_every(), "steps between progress log lines", Range::at_least(1))
      .choice("progress", "auto", {"auto", "bar", "log", "none"},
              "auto draws a bar on a terminal and writes log lines otherwise")
      .integer("max_steps_per_epoch", defaults.max_steps_per_epoch(),
               "stop each epoch after this many steps (0 = whole epoch)", Range::at_least(0));
}

trainer::ProgressStyle progress_style(const std::string& name) {
  if (name == "bar") return trainer::ProgressStyle::kBar;
  if (name == "log") return trainer::ProgressStyle::kLog;
  if (name == "none") return trainer::ProgressStyle::kNone;
  return trainer::ProgressStyle::kAuto;
}

std::unique_ptr<data::DataLoader> make_loader(const std::shared_ptr<data::TensorDataset>& dataset, const Json& loader,
                                              bool training, uint64_t seed) {
  if (!dataset) return nullptr;
  const auto batch = loader.at(training ? "batch_size" : "eval_batch_size").get<int64_t>();
  return std::make_unique<data::DataLoader>(dataset, data::DataLoaderOptions()
                                                         .batch_size(batch)
                                                         .shuffle(training && loader.at("shuffle").get<bool>())
                                                         .drop_last(training && loader.at("drop_last").get<bool>())
                                                         .num_workers(loader.at("num_workers").get<int64_t>())
                                                         .prefetch(loader.at("prefetch").get<int64_t>())
                                                         .seed(seed));
}

}  // namespace

Schema training_schema() {
  Schema schema;
  schema.integer("seed", 0, "seeds the weights, the data order, the validation split and synthetic data",
                 Range::at_least(0))
      .choice("log_level", "info", logging::level_names(), "how much is logged")
      .string("output_dir", "runs/cohort",
              "where config.json, metrics.jsonl and checkpoints/ are written (\"\" = nowhere)");
  data::dataset_registry().add_to_schema(schema, "data", "fashion_mnist", "the dataset");
  schema.object("loader", loader_schema(), "how examples are cut into batches");
  models::model_registry().add_to_schema(schema, "model", "mlp", "the model");
  optim::optimizer_registry().add_to_schema(schema, "optimizer", "sgd", "the optimizer");
  optim::lr_schedule_registry().add_to_schema(schema, "lr_schedule", "constant", "the learning-rate schedule");
  schema.object("trainer", trainer_schema(), "the training loop");
  strategies::strategy_registry().add_to_schema(schema, "strategy", "single", "how each step runs on the devices");
  schema.object("runtime",
                Schema().integer("threads", 0, "LibTorch threads per process (0 = the node's cores / ranks on it)",
                                 Range::at_least(0)),
                "the process");
  return schema;
}

template <typename Build>
auto TrainingJob::named(Build&& build) -> decltype(build()) {
  try {
    return build();
  } catch (const InputError& error) {
    // An error about a key starts with its quoted path and gets the config's
    // name in front; an error about another file (data, checkpoint) names it already.
    const std::string message = error.what();
    if (message.empty() || message.front() != '"') throw;
    throw InputError(fmt::format("{}: {}", source_, message));
  }
}

TrainingJob::TrainingJob(Json config, std::string source) : config_(std::move(config)), source_(std::move(source)) {
  const auto seed = config_.at("seed").get<uint64_t>();
  const int threads = runtime::configure_threads(config_.at("runtime").at("threads").get<int>());
  spdlog::debug("{} torch threads; {}", threads, runtime::build_summary());
  torch::manual_seed(seed);

  data_ = named([&] { return data::dataset_registry().create(config_.at("data"), seed); });
  const auto& loader = config_.at("loader");
  train_loader_ = make_loader(data_.train, loader, true, seed);
  validation_loader_ = make_loader(data_.validation, loader, false, seed);
  test_loader_ = make_loader(data_.test, loader, false, seed);

  const models::ModelInputs inputs{data_.train->sample_shape(), data_.train->num_classes()};
  auto model = named([&] { return models::model_registry().create(config_.at("model"), inputs); });
  auto optimizer =
      named([&] { return optim::optimizer_registry().create(config_.at("optimizer"), model.ptr()->parameters()); });
  auto strategy = named([&] { return strategies::strategy_registry().create(config_.at("strategy")); });
  const auto& loop = config_.at("trainer");
  trainer_ = std::make_unique<trainer::Trainer>(
      model, optimizer,
      trainer::TrainerOptions()
          .epochs(loop.at("epochs").get<int64_t>())
          .output_dir(config_.at("output_dir").get<std::string>())
          .checkpoint_every(loop.at("checkpoint_every").get<int64_t>())
          .keep_checkpoints(loop.at("keep_checkpoints").get<int64_t>())
          .log_every(loop.at("log_every").get<int64_t>())
          .progress(progress_style(loop.at("progress").get<std::string>()))
          .max_steps_per_epoch(loop.at("max_steps_per_epoch").get<int64_t>())
          .strategy(strategy)
          .lr_schedule(optim::lr_schedule_registry().create(config_.at("lr_schedule")))
          .config(config_));
  spdlog::info("{}: {} training, {} validation, {} test examples; model \"{}\" with {} parameters", source_,
               data_.train->size(), data_.validation ? data_.validation->size() : 0, data_.test->size(),
               config_.at("model").at("name").get<std::string>(),
               [&] {
                 int64_t count = 0;
                 for (const auto& p : model.ptr()->parameters()) count += p.numel();
                 return count;
               }());
}

void TrainingJob::resume(const std::string& checkpoint) { trainer_->resume(checkpoint); }

std::vector<trainer::EpochResult> TrainingJob::fit() {
  const auto output_dir = config_.at("output_dir").get<std::string>();
  if (!output_dir.empty() && trainer_->strategy().is_writer())
    write_file_atomically((std::filesystem::path(output_dir) / "config.json").string(), config_.dump(2) + "\n");
  return trainer_->fit(*train_loader_, validation_loader_.get());
}

trainer::Stats TrainingJob::test() { return trainer_->evaluate(*test_loader_); }

}  // namespace cohort::job
