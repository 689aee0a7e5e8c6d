#include "cohort/sweep/training_evaluator.h"

#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/distributed/runtime.h"
#include "cohort/job/training_job.h"
#include "cohort/memory/oom.h"
#include "cohort/strategies/strategy.h"
#include "cohort/trainer/checkpoint.h"
#include "cohort/tuner/space/search_space.h"
#include "cohort/sweep/leader.h"

namespace cohort::sweep {
namespace fs = std::filesystem;
namespace {

/// Checkpoint names carry their epochs to six decimals: closer than this to
/// the budget counts as at the budget.
constexpr double kSameEpochs = 1e-5;

/// The newest checkpoint in `run_dir`/checkpoints taken before `budget`
/// epochs, or "". One at the budget itself is passed over: continuing from it
/// would train nothing and leave no final record to read the metric from.
std::string checkpoint_before(const std::string& run_dir, double budget) {
  if (run_dir.empty()) return "";
  const auto found = trainer::list_checkpoints((fs::path(run_dir) / "checkpoints").string());
  for (auto it = found.rbegin(); it != found.rend(); ++it)
    if (*trainer::checkpoint_epochs(*it) < budget - kSameEpochs) return *it;
  return "";
}

/// Where a trial starts: {"checkpoint": path or "", "from_parent": bool}. The
/// leader looks (every rank may not see the same files at the same moment)
/// and the group follows.
Json choose_start(const Trial& trial, const TrialContext& context) {
  Json start = {{"checkpoint", ""}, {"from_parent", false}};
  const bool leader = !context.group || context.group->rank() == 0;
  if (leader) {
    start["checkpoint"] = checkpoint_before(context.trial_dir, trial.budget);
    if (start["checkpoint"] == "" && trial.parent >= 0) {
      start["checkpoint"] = checkpoint_before(context.parent_dir, trial.budget);
      start["from_parent"] = start["checkpoint"] != "";
    }
  }
  if (context.group && context.group->size() > 1) start = broadcast_json(*context.group, start);
  return start;
}

/// The trial's log in a file of its own while it runs: the default logger is
/// replaced by one that writes to the same console sinks as before (at the
/// level they had) and to `path` (at the trial config's level); the old one
/// comes back when the trial ends. An empty path changes nothing.
class TrialLog {
 public:
  TrialLog(const std::string& path, const std::string& level) {
    if (path.empty()) return;
    previous_ = spdlog::default_logger();
    auto console = std::make_shared<spdlog::sinks::dist_sink_mt>(previous_->sinks());
    console->set_level(previous_->level());
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    file->set_level(spdlog::level::from_str(level));
    file->set_pattern("[%Y-%m-%d %H:%M:%S] [%l] %v");
    auto logger = std::make_shared<spdlog::logger>(kName, spdlog::sinks_init_list{console, file});
    logger->set_level(std::min(previous_->level(), file->level()));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~TrialLog() {
    if (!previous_) return;
    spdlog::set_default_logger(previous_);
    spdlog::drop(kName);
  }
  TrialLog(const TrialLog&) = delete;
  TrialLog& operator=(const TrialLog&) = delete;

 private:
  static constexpr const char* kName = "cohort-trial";
  std::shared_ptr<spdlog::logger> previous_;
};

/// Refuses a strategy that does not span the group: a one-process strategy
/// (single, data_parallel, model_parallel) on a group of several ranks would
/// train the same trial on each of them.
void check_spans_group(const strategies::Strategy& strategy, const std::shared_ptr<distributed::Communicator>& group,
                       const std::string& source) {
  if (!group || strategy.ranks() == group->size()) return;
  throw InputError(fmt::format("{}: the strategy \"{}\" runs in one process, so each of the group's {} ranks "
                               "would train the same trial; use a strategy over ranks (ddp, pipeline) or "
                               "ranks_per_trial 1.",
                               source, strategy.name(), group->size()));
}

/// Builds the job, continues it from `checkpoint` (if any) and trains as
/// `fit` says; returns the final metrics record (empty when nothing was left
/// to train).
Json train(const Json& config, const std::string& source, const std::string& checkpoint,
           const trainer::FitOptions& fit, const std::shared_ptr<distributed::Communicator>& group) {
  job::TrainingJob job(config, source);
  check_spans_group(job.trainer().strategy(), group, source);
  if (!checkpoint.empty()) job.resume(checkpoint);
  job.fit(fit);
  return job.trainer().last_record();
}

/// Refuses a metric that no training job's record has, before any trial runs:
/// the record's names are those of a sample record from the trainer itself.
void check_metric(const std::string& metric, const std::string& source) {
  trainer::EpochResult sample;
  sample.epoch = 1;
  sample.epochs = 1.0;
  sample.validation = trainer::Stats{};
  const trainer::StepRunner fp16(trainer::StepOptions().precision(trainer::Precision::kFp16));
  try {
    read_metric(trainer::epoch_record(sample, 0, fp16), metric, "a training job's metrics record");
  } catch (const std::runtime_error& error) {
    throw InputError(fmt::format("{}: \"objective.metric\": {}", source, error.what()));
  }
}

}  // namespace

Json trial_training_config(const Json& base, const Json& configuration, const std::string& output_dir,
                           double max_budget, const std::string& source) {
  Json config = base;
  apply_configuration(configuration, config);
  config["output_dir"] = output_dir;
  config["trainer"]["epochs"] = std::max<int64_t>(1, int64_t(std::ceil(max_budget - kSameEpochs)));
  // Several groups drawing progress bars on one terminal would garble it.
  if (config["trainer"].value("progress", "auto") == "auto") config["trainer"]["progress"] = "log";
  return job::training_schema().validate(config, source);
}

TrainingEvaluator::TrainingEvaluator(Json base_config, std::string source, double max_budget, std::string metric)
    : base_config_(std::move(base_config)),
      source_(std::move(source)),
      max_budget_(max_budget),
      metric_(std::move(metric)) {
  check_metric(metric_, source_);
}

Result TrainingEvaluator::evaluate(const Trial& trial, const TrialContext& context) {
  try {
    return run(trial, context);
  } catch (const trainer::TrainingStopped& stopped) {
    return Result::timed_out(fmt::format("timed out: trial {} passed its deadline; {}.", trial.id, stopped.what()));
  } catch (const trainer::StepError& error) {
    // A diverging loss or out of memory at one example: the trial's seed is
    // fixed, so another attempt would end the same way.
    memory::release_memory();
    return Result::failed(error.what(), /*retry=*/false);
  } catch (const InputError& error) {
    return Result::failed(error.what(), /*retry=*/false);  // the configuration itself is refused
  } catch (const std::exception& error) {
    // What a failed step held on the device is released before the next trial.
    memory::release_memory();
    return Result::failed(describe_exception(error));
  } catch (...) {
    return Result::failed("the trial failed with an exception that is not a std::exception");
  }
}

Result TrainingEvaluator::run(const Trial& trial, const TrialContext& context) const {
  const bool leader = !context.group || context.group->rank() == 0;
  const auto source = fmt::format("{} (trial {})", source_, trial.id);
  // The same on every rank: the strategy's writer (the group's rank 0) writes, and
  // collectives that come with writing (a pipeline gathering its stages) run everywhere.
  const auto& output_dir = context.trial_dir;
  const auto config = trial_training_config(base_config_, trial.config, output_dir, max_budget_, source);

  // Declared before the job, so the job (and its communicators) go first.
  std::optional<distributed::WorldScope> scope;
  if (context.group && context.group->backend() == "mpi") scope.emplace(context.group);
  TrialLog log(leader && !output_dir.empty() ? (fs::path(output_dir) / "train.log").string() : "",
               config.at("log_level").get<std::string>());

  auto start = choose_start(trial, context);
  auto checkpoint = start.at("checkpoint").get<std::string>();
  if (leader && start.at("from_parent").get<bool>()) {
    // The trial's learning curve starts with its parent's; the resumed run appends to it.
    const auto parent_metrics = fs::path(context.parent_dir) / "metrics.jsonl";
    if (fs::exists(parent_metrics))
      fs::copy_file(parent_metrics, fs::path(output_dir) / "metrics.jsonl", fs::copy_options::overwrite_existing);
  }
  trainer::FitOptions fit;
  fit.until_epochs(trial.budget);
  if (context.deadline > 0.0) fit.stop_when([&context] { return deadline_passed(context); });

  auto record = train(config, source, checkpoint, fit, context.group);
  if (record.empty() && !checkpoint.empty()) {
    // The checkpoint was already at the budget in steps (budgets closer than one step): start over.
    checkpoint.clear();
    record = train(config, source, checkpoint, fit, context.group);
  }
  if (record.empty()) throw std::runtime_error(fmt::format("{}: the trial trained no step.", source));
  const double value = read_metric(record, metric_, "the trial's final metrics record");
  Json info = {{"epochs", record.at("epoch")},
               {"steps", record.at("step")},
               {"samples_per_second", record.value("samples_per_second", 0.0)},
               {"start", checkpoint.empty() ? std::string("scratch") : checkpoint}};
  if (leader && !output_dir.empty()) info["metrics"] = (fs::path(output_dir) / "metrics.jsonl").string();
  return Result::completed(value, std::move(info));
}

}  // namespace cohort::sweep
