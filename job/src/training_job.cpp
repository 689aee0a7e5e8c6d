#include "cohort/job/training_job.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "cohort/distributed/wait_policy.h"
#include "cohort/logging/logging.h"
#include "cohort/trainer/tensorboard_callback.h"
#include "cohort/memory/leak_detector.h"
#include "cohort/precision/loss_scaler.h"
#include "cohort/models/registry.h"
#include "cohort/models/shape_error.h"
#include "cohort/optim/lr_schedule.h"
#include "cohort/optim/optimizers.h"
#include "cohort/device/device.h"
#include "cohort/distributed/runtime.h"
#include "cohort/strategies/registry.h"
#include "cohort/task/metrics.h"
#include "cohort/trainer/checkpoint.h"
#include "cohort/trainer/early_stopping.h"
#include "cohort/trainer/vocabulary_callback.h"
#include "cohort/data/text_csv.h"
#include "cohort/core/run_layout.h"

namespace cohort::job {
namespace {

using config::Json;
using config::Range;
using config::Schema;

/// The most threads a process may be asked for (runtime.threads, loader.num_workers): more than any node has
/// cores, and few enough that starting them cannot exhaust the process.
constexpr double kMaxThreads = 1024;

Schema loader_schema() {
  const data::DataLoaderOptions defaults;
  return Schema()
      .integer("batch_size", defaults.batch_size(), "examples per training step", Range::at_least(1))
      .integer("eval_batch_size", 1000, "examples per evaluation step", Range::at_least(1))
      .integer("num_workers", -1,
               "threads that build batches ahead (0 = on the training thread; -1 = four per device of the rank, at "
               "most the cores each rank of the node has)",
               Range::between(-1, kMaxThreads))
      .integer("prefetch", defaults.prefetch(), "batches each worker may build ahead", Range::at_least(1))
      .boolean("shuffle", defaults.shuffle(), "reshuffle the training set every epoch")
      .boolean("drop_last", defaults.drop_last(), "drop a last training batch smaller than batch_size")
      .choice("uneven_shards", "pad", {"pad", "drop"},
              "with several data-parallel ranks, when the training set does not split evenly: repeat examples "
              "(pad) or leave the rest out (drop), so every rank takes the same number of steps");
}

Schema trainer_schema() {
  const trainer::TrainerOptions defaults;
  return Schema()
      .integer("epochs", defaults.epochs(), "passes over the training set", Range::at_least(1))
      .integer("checkpoint_every", defaults.checkpoint_every(),
               "write a checkpoint every this many epochs and after the last (0 = never)", Range::at_least(0))
      .integer("keep_checkpoints", defaults.keep_checkpoints(), "newest checkpoints kept (0 = all)",
               Range::at_least(0))
      .integer("accumulation_steps", 1,
               "micro-batches each batch is cut into; their gradients add up to one step on the whole batch",
               Range::at_least(1))
      .integer("log_every", defaults.log_every(), "steps between progress log lines", Range::at_least(1))
      .choice("progress", "auto", {"auto", "bar", "log", "none"},
              "auto draws a bar on a terminal and writes log lines otherwise")
      .integer("max_steps_per_epoch", defaults.max_steps_per_epoch(),
               "stop each epoch after this many steps (0 = whole epoch)", Range::at_least(0))
      .choice("nonfinite_loss", "fail", {"fail", "skip"},
              "a step whose loss is inf or NaN: stop training naming the step (fail), or drop its gradients, warn and "
              "go on (skip)")
      .string_list("metrics", {"accuracy"},
                   "metrics reported beside the loss, as train_<name> and val_<name>: accuracy, top<k>_accuracy "
                   "(e.g. top5_accuracy)")
      .number("clip_grad_norm", 0.0,
              "scale the gradients so their norm over the whole model is at most this, after the data-parallel "
              "reduction (0 = off)",
              Range::at_least(0))
      .number("clip_grad_value", 0.0, "clamp every gradient element to [-value, value] (0 = off)", Range::at_least(0))
      .integer("early_stopping_patience", 0,
               "stop once early_stopping_metric has not improved for this many epochs, with a checkpoint there "
               "(0 = off)",
               Range::at_least(0))
      .string("early_stopping_metric", "val_loss",
              "the record's metric early stopping watches; lower is better for *_loss, *_mse and *_mae, higher for "
              "the others");
}

Schema memory_schema() {
  const memory::LeakDetectorOptions leak;
  return Schema()
      .choice("oom_policy", "shrink", {"shrink", "fail"},
              "a step that runs out of memory: halve the micro-batch and double the accumulation, so the result "
              "stays the same, and retry (shrink), or stop (fail)")
      .integer("leak_check_steps", leak.every(),
               "steps between samples of the memory in use; a steady rise over leak_window samples is warned "
               "about (0 = off)",
               Range::at_least(0))
      .integer("leak_window", leak.window(), "samples a steady rise must span before the leak warning",
               Range::at_least(3))
      .number("leak_threshold_mb", leak.threshold_bytes() / (1024.0 * 1024.0),
              "the least rise over the window, in MiB, that is warned about", Range::positive())
      .number("fraction", 0.9,
              "--find-batch-size: the share of the device's memory (CUDA) or, with cpu_budget_mb 0, of the "
              "memory available to the process (CPU) a training step may use",
              Range{0.0, 1.0, true, false})
      .integer("cpu_budget_mb", 0,
               "--find-batch-size on the CPU: the most resident memory, in MiB, the process may reach (0 = "
               "fraction of what is available)",
               Range::at_least(0));
}

Schema loss_scaler_schema() {
  const precision::LossScalerOptions defaults;
  return Schema()
      .number("init_scale", defaults.init_scale(), "the loss scale at the start", Range::positive())
      .number("growth_factor", defaults.growth_factor(), "multiplies the scale after growth_interval good steps",
              Range{1.0, std::nullopt, true, false})
      .number("backoff_factor", defaults.backoff_factor(), "multiplies the scale after a step that overflowed",
              Range{0.0, 1.0, true, true})
      .integer("growth_interval", defaults.growth_interval(), "good steps in a row before the scale grows",
               Range::at_least(1));
}

/// Data-loading threads: `configured`, or for -1 four per device of this rank
/// (one device per rank), at most the cores of the node each rank has.
int64_t loader_workers(int64_t configured) {
  if (configured >= 0) return configured;
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t per_rank = std::max<int64_t>(1, cores / std::max(1, device::launcher_local_size()));
  return std::min<int64_t>(4, per_rank);
}

/// How each step runs: accumulation, precision, loss scaling and what it does when things go wrong.
trainer::StepOptions step_options(const Json& config) {
  const auto& loop = config.at("trainer");
  const auto& scaler = config.at("loss_scaler");
  return trainer::StepOptions()
      .accumulation_steps(loop.at("accumulation_steps").get<int64_t>())
      .precision(trainer::parse_precision(config.at("precision").get<std::string>()))
      .loss_scaler(precision::LossScalerOptions()
                       .init_scale(scaler.at("init_scale").get<double>())
                       .growth_factor(scaler.at("growth_factor").get<double>())
                       .backoff_factor(scaler.at("backoff_factor").get<double>())
                       .growth_interval(scaler.at("growth_interval").get<int64_t>()))
      .oom_policy(config.at("memory").at("oom_policy").get<std::string>() == "fail" ? memory::OomPolicy::kFail
                                                                                   : memory::OomPolicy::kShrink)
      .nonfinite_loss(loop.at("nonfinite_loss").get<std::string>() == "skip" ? trainer::NonFiniteLoss::kSkip
                                                                              : trainer::NonFiniteLoss::kFail)
      .clip_grad_norm(loop.at("clip_grad_norm").get<double>())
      .clip_grad_value(loop.at("clip_grad_value").get<double>());
}

/// Early stopping as trainer.early_stopping_* ask, or null when off. Its
/// metric is checked against the records the job will write, so a name they
/// lack is refused now (exit 2), not after the first epoch has trained.
std::shared_ptr<trainer::EarlyStopping> make_early_stopping(const Json& config) {
  const auto& loop = config.at("trainer");
  const auto patience = loop.at("early_stopping_patience").get<int64_t>();
  if (patience <= 0) return nullptr;
  const auto options =
      trainer::EarlyStoppingOptions(loop.at("early_stopping_metric").get<std::string>()).patience(patience);
  try {
    trainer::MetricWatch(trainer::MetricWatchOptions(options.metric())).update(example_record(config));
  } catch (const std::invalid_argument& error) {
    throw InputError(fmt::format("\"trainer.early_stopping_metric\": {}", error.what()));
  }
  return std::make_shared<trainer::EarlyStopping>(options);
}

/// The callbacks a config turns on: early stopping (trainer.early_stopping_*)
/// and TensorBoard event files (logging.tensorboard).
trainer::Callbacks make_callbacks(const Json& config) {
  trainer::Callbacks callbacks;
  if (config.at("logging").at("tensorboard").get<bool>())
    callbacks.push_back(std::make_shared<trainer::TensorBoardCallback>());
  if (auto early_stopping = make_early_stopping(config)) callbacks.push_back(std::move(early_stopping));
  return callbacks;
}

memory::LeakDetectorOptions leak_options(const Json& memory) {
  return memory::LeakDetectorOptions()
      .every(memory.at("leak_check_steps").get<int64_t>())
      .window(memory.at("leak_window").get<int64_t>())
      .threshold_bytes(memory.at("leak_threshold_mb").get<double>() * 1024.0 * 1024.0);
}

trainer::ProgressStyle progress_style(const std::string& name) {
  if (name == "bar") return trainer::ProgressStyle::kBar;
  if (name == "log") return trainer::ProgressStyle::kLog;
  if (name == "none") return trainer::ProgressStyle::kNone;
  return trainer::ProgressStyle::kAuto;
}

/// A loader of this rank's shard of `dataset`: batch_size is per rank.
std::unique_ptr<data::DataLoader> make_loader(const std::shared_ptr<data::TensorDataset>& dataset, const Json& loader,
                                              bool training, uint64_t seed, const strategy::Strategy& strategy) {
  if (!dataset) return nullptr;
  const auto batch = loader.at(training ? "batch_size" : "eval_batch_size").get<int64_t>();
  const auto uneven = !training                                        ? data::ShardPolicy::kUneven
                      : loader.at("uneven_shards").get<std::string>() == "drop" ? data::ShardPolicy::kDrop
                                                                                 : data::ShardPolicy::kPad;
  return std::make_unique<data::DataLoader>(dataset, data::DataLoaderOptions()
                                                         .batch_size(batch)
                                                         .num_replicas(strategy.data_parallel_size())
                                                         .rank(strategy.data_parallel_rank())
                                                         .shard_policy(uneven)
                                                         .shuffle(training && loader.at("shuffle").get<bool>())
                                                         .drop_last(training && loader.at("drop_last").get<bool>())
                                                         .num_workers(loader_workers(loader.at("num_workers").get<int64_t>()))
                                                         .prefetch(loader.at("prefetch").get<int64_t>())
                                                         .seed(seed));
}

/// Runs `model` once on the first `batch_size` training examples, on the CPU
/// before the strategy places it, so a model that does not fit the data is
/// refused before training (exit 2) and not at its first step or its
/// thousandth. Eval mode, no gradients and the CPU generator restored: the
/// model, the RNG and so the run that follows are unchanged.
void check_model_fits(torch::nn::AnyModule& model, const data::TensorDataset& train, const task::Task& task,
                      int64_t batch_size) {
  const auto batch = train.get_batch(torch::arange(std::min(batch_size, train.size()), torch::kInt64));
  auto generator = at::globalContext().defaultGenerator(torch::kCPU);
  const auto rng = generator.get_state();
  const bool training = model.ptr()->is_training();
  model.ptr()->eval();
  torch::Tensor output;
  std::string failure;
  try {
    torch::NoGradGuard no_grad;
    output = task.forward(model, batch, torch::kCPU);
  } catch (const c10::OutOfMemoryError&) {
    throw;
  } catch (const c10::Error& error) {
    const auto& input = batch.at(task.inputs().front());
    failure = models::describe_forward_error(model, input, error.what_without_backtrace());
  }
  model.ptr()->train(training);
  generator.set_state(rng);
  if (!failure.empty()) throw InputError(fmt::format("\"model\" does not fit the data: {}", failure));
  const auto classes = train.num_classes();
  if (task.classifies() && classes > 0 && output.dim() == 2 && output.size(1) != classes)
    throw InputError(fmt::format("\"model\" gives {} outputs per example but the data has {} classes (labels "
                                 "0..{}): its last layer needs {} outputs.",
                                 output.size(1), classes, classes - 1, classes));
}

/// The batch tensors the model takes. model_parallel and pipeline pass one
/// tensor from stage to stage, so a text model gets its token ids alone (it
/// then ends each text at its first <pad>, the same result); other data with
/// several inputs is refused before training.
std::vector<std::string> model_inputs(const data::Dataset& train, const strategy::Strategy& strategy, bool text) {
  auto inputs = train.input_names();
  const bool staged = strategy.name() == "model_parallel" || strategy.name() == "pipeline";
  if (!staged || inputs.size() == 1) return inputs;
  if (text) return {inputs.front()};
  throw InputError(fmt::format("\"strategy.name\" {} passes one tensor from stage to stage, but the data gives the "
                               "model {} ({}); use single, ddp or data_parallel for it.",
                               strategy.name(), inputs.size(), fmt::join(inputs, ", ")));
}

}  // namespace

Schema training_schema() {
  Schema schema;
  schema.integer("seed", 0, "seeds the weights, the data order, the validation split and synthetic data",
                 Range::at_least(0).widened())
      .choice("log_level", "info", logging::level_names(), "how much is logged")
      .string("output_dir", "runs/cohort",
              "where config.json, metrics.jsonl and checkpoints/ are written (\"\" = nowhere)");
  data::dataset_registry().add_to_schema(schema, "data", "fashion_mnist", "the dataset");
  schema.object("loader", loader_schema(), "how examples are cut into batches");
  models::model_registry().add_to_schema(schema, "model", "mlp", "the model");
  optim::optimizer_registry().add_to_schema(schema, "optimizer", "sgd", "the optimizer");
  optim::lr_schedule_registry().add_to_schema(schema, "lr_schedule", "constant", "the learning-rate schedule");
  schema.object("trainer", trainer_schema(), "the training loop");
  schema.choice("precision", "fp32", {"fp32", "fp16", "bf16"},
                "the type forward runs in: fp32, or autocast to bf16 or fp16 (fp16 with loss scaling, for GPUs without bf16)");
  schema.object("loss_scaler", loss_scaler_schema(), "the dynamic loss scaling of precision fp16");
  schema.object("memory", memory_schema(), "out-of-memory recovery, the leak check and --find-batch-size");
  strategies::strategy_registry().add_to_schema(schema, "strategy", "single", "how each step runs on the devices");
  schema.object("logging",
                Schema().boolean("tensorboard", true,
                                 "write TensorBoard event files of the run's curves into output_dir "
                                 "(tensorboard --logdir <output_dir>)"),
                "what a run writes besides metrics.jsonl");
  schema.object("runtime",
                Schema()
                    .integer("threads", 0, "LibTorch threads per process (0 = the node's cores / ranks on it)",
                             Range::between(0, kMaxThreads))
                    .choice("wait", "auto", {"auto", "spin", "yield", "sleep"},
                            "how ranks wait for each other: auto (sleep where the node is oversubscribed or busy, "
                            "else spin), spin, yield or sleep; see docs/distributed.md"),
                "the process");
  return schema;
}

namespace {

/// Runs `build`; an InputError about a config key (its message starts with the
/// quoted path) gets the config's name in front. One about another file (data,
/// checkpoint) names that file already and passes unchanged.
template <typename Build>
auto named(const std::string& source, Build&& build) -> decltype(build()) {
  try {
    return build();
  } catch (const InputError& error) {
    const std::string message = error.what();
    if (message.empty() || message.front() != '"') throw;
    throw InputError(fmt::format("{}: {}", source, message));
  }
}

}  // namespace

std::shared_ptr<strategy::Strategy> make_strategy(const Json& config, const std::string& source,
                                                  const JobContext& context) {
  return named(source, [&] { return strategies::strategy_registry().create(config.at("strategy"), context.ranks); });
}

task::Task make_task(const Json& config, std::vector<std::string> inputs) {
  task::Metrics metrics;
  // A config not validated yet (a sweep's base) has the default metrics.
  const auto loop = config.value("trainer", Json::object());
  for (const auto& name : loop.value("metrics", Json::array({"accuracy"}))) {
    try {
      metrics.push_back(task::metric_by_name(name.get<std::string>()));
    } catch (const std::invalid_argument& error) {
      throw InputError(fmt::format("\"trainer.metrics\": {}", error.what()));
    }
  }
  return task::Task().inputs(std::move(inputs)).metrics(std::move(metrics));
}

nlohmann::json example_record(const Json& config) {
  trainer::EpochResult sample;
  sample.epoch = 1;
  sample.epochs = 1.0;
  sample.validation = trainer::Stats{};
  const trainer::StepRunner fp16(trainer::StepOptions().precision(trainer::Precision::kFp16));
  return trainer::epoch_record(sample, 0, fp16, make_task(config));
}

JobContext JobContext::world() {
  return JobContext{distributed::mpi_active() ? distributed::world(torch::kCPU) : nullptr, nullptr};
}

template <typename Build>
auto TrainingJob::named(Build&& build) -> decltype(build()) {
  return job::named(source_, std::forward<Build>(build));
}

TrainingJob::TrainingJob(Json config, std::string source, JobContext context,
                         std::shared_ptr<strategy::Strategy> strategy)
    : config_(std::move(config)), source_(std::move(source)), context_(std::move(context)) {
  if (!context_.logger) context_.logger = spdlog::default_logger();
  const auto seed = config_.at("seed").get<uint64_t>();
  const int threads = device::configure_threads(config_.at("runtime").at("threads").get<int>());
  const auto& wait = config_.at("runtime").at("wait").get_ref<const std::string&>();
  distributed::set_wait_mode(distributed::parse_wait_mode(wait), "runtime.wait in the config");
  context_.logger->debug("{} torch threads; {}; waits: {} ({})", threads, device::build_summary(),
                         distributed::to_string(distributed::wait_mode()), distributed::wait_mode_reason());
  torch::manual_seed(seed);

  if (!strategy) strategy = make_strategy(config_, source_, context_);
  data_ = named([&] { return data::dataset_registry().create(config_.at("data"), seed); });
  const auto& loader = config_.at("loader");
  train_loader_ = make_loader(data_.train, loader, true, seed, *strategy);
  validation_loader_ = make_loader(data_.validation, loader, false, seed, *strategy);
  test_loader_ = make_loader(data_.test, loader, false, seed, *strategy);

  const auto text = data::text_encoder(data_);
  for (const auto& line : data::describe_text_splits(data_)) context_.logger->info("{}: {}", source_, line);
  const models::ModelInputs inputs{data_.train->sample_shape(), data_.train->num_classes(),
                                   text ? text->size() : 0, text ? text::Vocabulary::kPadding : -1};
  auto model = named([&] { return models::model_registry().create(config_.at("model"), inputs); });
  const auto task = named([&] { return make_task(config_, model_inputs(*data_.train, *strategy, text != nullptr)); });
  auto callbacks = make_callbacks(config_);
  // The vocabulary travels in checkpoints: a resume under another one is refused.
  if (text) callbacks.push_back(std::make_shared<trainer::VocabularyCallback>(text));
  named([&] { check_model_fits(model, *data_.train, task, loader.at("batch_size").get<int64_t>()); });
  auto optimizer =
      named([&] { return optim::optimizer_registry().create(config_.at("optimizer"), model.ptr()->parameters()); });
  const auto& loop = config_.at("trainer");
  // The strategy takes the model here (e.g. model_parallel cuts it by its balance).
  trainer_ = named([&] {
    return std::make_unique<trainer::Trainer>(
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
            .logger(context_.logger)
            .lr_schedule(optim::lr_schedule_registry().create(config_.at("lr_schedule")))
            .step(step_options(config_))
            .leak_check(leak_options(config_.at("memory")))
            .task(task)
            .callbacks(std::move(callbacks))
            .config(config_));
  });
  context_.logger->info("{}: {} training, {} validation, {} test examples; model \"{}\" with {} parameters", source_,
               data_.train->size(), data_.validation ? data_.validation->size() : 0, data_.test->size(),
               config_.at("model").at("name").get<std::string>(),
               [&] {
                 int64_t count = 0;
                 for (const auto& p : model.ptr()->parameters()) count += p.numel();
                 return count;
               }());
}

void TrainingJob::resume(const std::string& checkpoint) {
  try {
    trainer_->resume(checkpoint);
  } catch (const trainer::VocabularyMismatch& mismatch) {
    throw InputError(fmt::format("{}: {}.", trainer::resolve_checkpoint(checkpoint), mismatch.what()));
  }
}

std::vector<trainer::EpochResult> TrainingJob::fit(const trainer::FitOptions& options) {
  const auto output_dir = config_.at("output_dir").get<std::string>();
  if (!output_dir.empty() && trainer_->strategy().is_writer()) {
    write_file_atomically(run_layout::in(output_dir, run_layout::kConfig), config_.dump(2) + "\n");
    if (const auto text = data::text_encoder(data_)) text->save(run_layout::in(output_dir, run_layout::kVocabulary));
  }
  // A setting that only meets the data in the first step (strategy.micro_batches above a step's examples) is
  // refused there; named() puts the config's name in front, as for every other key.
  return named([&] { return trainer_->fit(*train_loader_, validation_loader_.get(), options); });
}

trainer::Stats TrainingJob::test() { return trainer_->evaluate(*test_loader_); }

}  // namespace cohort::job
