#include "cohort/sweep/training_evaluator.h"

#include <cmath>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/job/training_job.h"
#include "cohort/memory/oom.h"
#include "cohort/strategy/strategy.h"
#include "cohort/tuner/space/search_space.h"
#include "cohort/sweep/leader.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/core/run_layout.h"
#include "training/trial_start.h"

namespace cohort::sweep {
namespace {

/// Where a trial starts (detail::start_trial): the leader looks, and copies
/// the parent's curves on a promotion (every rank may not see the same files
/// at the same moment), and the group follows.
detail::TrialStart choose_start(const Trial& trial, const TrialContext& context) {
  const bool leader = !context.group || context.group->rank() == 0;
  Json start = {{"checkpoint", ""}, {"from_parent", false}};
  if (leader) {
    const auto chosen = detail::start_trial(trial, context.trial_dir, context.parent_dir);
    start = {{"checkpoint", chosen.checkpoint}, {"from_parent", chosen.from_parent}};
  }
  if (context.group && context.group->size() > 1) start = broadcast_json(*context.group, start);
  return {start.at("checkpoint").get<std::string>(), start.at("from_parent").get<bool>()};
}

/// The trial's logger: the console sinks of the default logger (at their
/// level) and, on the group's leader, `path` (at the trial config's level).
/// The process's default logger is left as it is: the job is handed this one.
std::shared_ptr<spdlog::logger> trial_logger(const std::string& path, const std::string& level) {
  const auto console = spdlog::default_logger();
  if (path.empty()) return console;
  auto console_sinks = std::make_shared<spdlog::sinks::dist_sink_mt>(console->sinks());
  console_sinks->set_level(console->level());
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  file->set_level(spdlog::level::from_str(level));
  file->set_pattern("[%Y-%m-%d %H:%M:%S] [%l] %v");
  auto logger = std::make_shared<spdlog::logger>("cohort-trial", spdlog::sinks_init_list{console_sinks, file});
  logger->set_level(std::min(console->level(), file->level()));
  logger->flush_on(spdlog::level::info);
  return logger;
}

/// Refuses a strategy that does not span the group: a one-process strategy
/// (single, data_parallel, model_parallel) on a group of several ranks would
/// train the same trial on each of them.
void check_spans_group(const strategy::Strategy& strategy, const std::shared_ptr<distributed::Communicator>& group,
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
           const trainer::FitOptions& fit, const job::JobContext& context) {
  job::TrainingJob job(config, source, context);
  check_spans_group(job.trainer().strategy(), context.ranks, source);
  if (!checkpoint.empty()) job.resume(checkpoint);
  job.fit(fit);
  return job.trainer().last_record();
}

}  // namespace

void check_training_metric(const std::string& metric, const Json& config, const std::string& source) {
  try {
    read_metric(job::example_record(config), metric, "a training job's metrics record");
  } catch (const std::runtime_error& error) {
    throw InputError(fmt::format("{}: \"objective.metric\": {}", source, error.what()));
  }
}

Json trial_training_config(const Json& base, const Json& configuration, const std::string& output_dir,
                           double max_budget, const std::string& source) {
  Json config = base;
  apply_configuration(configuration, config);
  config["output_dir"] = output_dir;
  config["trainer"]["epochs"] = std::max<int64_t>(1, int64_t(std::ceil(max_budget - detail::kSameEpochs)));
  // Several groups drawing progress bars on one terminal would garble it.
  if (config["trainer"].value("progress", "auto") == "auto") config["trainer"]["progress"] = "log";
  return job::training_schema().validate(config, source);
}

TrainingEvaluator::TrainingEvaluator(Json base_config, std::string source, double max_budget, std::string metric)
    : base_config_(std::move(base_config)),
      source_(std::move(source)),
      max_budget_(max_budget),
      metric_(std::move(metric)) {
  check_training_metric(metric_, base_config_, source_);
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

  // The trial trains on its group's ranks and logs to its own file too.
  const job::JobContext job_context{
      context.group, trial_logger(leader && !output_dir.empty() ? run_layout::in(output_dir, run_layout::kTrainLog) : "",
                                  config.at("log_level").get<std::string>())};

  auto checkpoint = choose_start(trial, context).checkpoint;
  trainer::FitOptions fit;
  fit.until_epochs(trial.budget);
  if (context.deadline > 0.0) fit.stop_when([&context] { return deadline_passed(context); });

  auto record = train(config, source, checkpoint, fit, job_context);
  if (record.empty() && !checkpoint.empty()) {
    // The checkpoint was already at the budget in steps (budgets closer than one step): start over.
    checkpoint.clear();
    record = train(config, source, checkpoint, fit, job_context);
  }
  if (record.empty()) throw std::runtime_error(fmt::format("{}: the trial trained no step.", source));
  Json files = Json::object();
  if (leader && !output_dir.empty()) files["metrics"] = run_layout::in(output_dir, run_layout::kMetrics);
  return detail::completed_training(record, metric_, checkpoint, files);
}

}  // namespace cohort::sweep
