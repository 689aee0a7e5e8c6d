#include "cohort/trainer/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cohort/memory/oom.h"
#include "cohort/optim/optimizers.h"
#include "cohort/trainer/checkpoint.h"
#include "cohort/core/error.h"
#include "cohort/core/run_layout.h"

namespace cohort::trainer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// " train_loss 0.1234 train_accuracy 0.9000" for the epoch's log line.
std::string stats_text(const std::string& prefix, const Stats& stats, const task::Task& task) {
  auto text = fmt::format(" {}_loss {:.4f}", prefix, stats.mean_loss());
  for (const auto& [name, value] : task.metric_values(stats)) text += fmt::format(" {}_{} {:.4f}", prefix, name, value);
  return text;
}

/// The flattened "a.b" keys whose values differ between two configs.
void differing_keys(const nlohmann::json& saved, const nlohmann::json& now, const std::string& path,
                    std::vector<std::string>& found) {
  if (saved.is_object() && now.is_object()) {
    for (const auto& [key, value] : saved.items())
      differing_keys(value, now.contains(key) ? now.at(key) : nlohmann::json(), path.empty() ? key : path + "." + key,
                     found);
    for (const auto& [key, value] : now.items())
      if (!saved.contains(key)) found.push_back(path.empty() ? key : path + "." + key);
  } else if (saved != now) {
    found.push_back(path);
  }
}

/// Micro-batching, skipped steps and loss scale of an epoch, for metrics.jsonl.
nlohmann::json step_json(const EpochResult& result, const StepRunner& runner) {
  nlohmann::json line = {{"micro_batch_size", result.micro_batch_size},
                         {"accumulation_steps", result.accumulation_steps},
                         {"skipped_steps", result.skipped_nonfinite + result.skipped_overflow},
                         {"memory", result.memory.to_json()}};
  if (const auto* scaler = runner.loss_scaler()) line["loss_scale"] = scaler->scale();
  return line;
}

/// What the epoch log line adds when a step changed its micro-batch or skipped.
std::string step_text(const EpochResult& result, const StepRunner& runner) {
  std::string text;
  if (runner.shrinks() > 0)
    text += fmt::format("; micro-batch {} x {} after running out of memory", result.micro_batch_size,
                        result.accumulation_steps);
  if (result.skipped_nonfinite > 0) text += fmt::format("; {} steps skipped (non-finite loss)", result.skipped_nonfinite);
  if (result.skipped_overflow > 0) text += fmt::format("; {} steps skipped (fp16 overflow)", result.skipped_overflow);
  if (const auto* scaler = runner.loss_scaler()) text += fmt::format("; loss scale {}", scaler->scale());
  return text;
}

}  // namespace

Trainer::Trainer(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer,
                 TrainerOptions options)
    : model_(std::move(model)),
      optimizer_(std::move(optimizer)),
      options_(std::move(options)),
      log_(options_.logger() ? options_.logger() : spdlog::default_logger()),
      // The schedule keeps the configured rates before a checkpoint can replace them.
      schedule_(options_.lr_schedule(), optim::learning_rates(*optimizer_)),
      step_runner_(options_.step(), log_),
      progress_(options_.progress(), options_.log_every(), log_) {
  // The framework holds the interface only; the strategies live a layer above.
  if (!options_.strategy())
    throw std::invalid_argument(
        "TrainerOptions::strategy is not set: give it the strategy that runs each step, e.g. "
        "std::make_shared<cohort::strategies::Single>() (Cohort::strategies).");
  options_.strategy()->prepare(model_, optimizer_);
  leak_detector_ = std::make_unique<memory::LeakDetector>(options_.leak_check(), options_.strategy()->input_device());
  learning_rate_ = optim::learning_rates(*optimizer_).at(0);
}

MetricsLog* Trainer::metrics() {
  if (options_.output_dir().empty() || !options_.strategy()->is_writer()) return nullptr;
  if (!metrics_) {
    const auto path = run_layout::in(options_.output_dir(), run_layout::kMetrics);
    if (!resumed_) {
      const auto earlier = list_checkpoints(run_layout::in(options_.output_dir(), run_layout::kCheckpoints));
      if (!earlier.empty() || fs::exists(path))
        log_->warn("replacing the results of an earlier run in {}", options_.output_dir());
      for (const auto& checkpoint : earlier) fs::remove(checkpoint);
    }
    metrics_ = std::make_unique<MetricsLog>(path, /*append=*/resumed_);
  }
  return metrics_.get();
}

Stats Trainer::train_epoch(const data::DataLoader& train, int64_t end, int64_t steps_per_epoch,
                           const FitOptions& fit) {
  model_.ptr()->train();
  auto& strategy = *options_.strategy();
  auto pass = train.epoch(epochs_done_, epoch_steps_done_);
  memory::reset_cuda_peaks();
  progress_.start(fmt::format("epoch {}/{}", epochs_done_ + 1, options_.epochs()), steps_per_epoch);
  const int64_t total_steps = steps_per_epoch * options_.epochs();
  auto stats = options_.task().new_stats();
  try {
    while (epoch_steps_done_ < end) {
      stop_if_asked(fit);
      auto batch = pass->next();
      if (!batch) {
        epoch_steps_done_ = steps_per_epoch;
        break;
      }
      learning_rate_ = schedule_.apply(*optimizer_, steps_done_, steps_per_epoch, total_steps, lr_scale_);
      const auto step = step_runner_.run(*batch, strategy, options_.task(), steps_done_ + 1);
      stats += step;
      ++steps_done_;
      ++epoch_steps_done_;
      watch_memory();
      progress_.update(epoch_steps_done_, stats, options_.task());
      if (options_.callbacks().empty()) continue;
      const StepEnd end_of_step{steps_done_,     epochs_done_ + 1, epoch_steps_done_, steps_per_epoch,
                                step.mean_loss(), learning_rate_,   batch->size(),     step.samples == 0};
      for_each_callback([&](Callback& callback) { callback.on_step_end(*this, end_of_step); });
      if (stop_agreed(/*mid_epoch=*/true)) break;
    }
  } catch (const StepError&) {
    throw;  // already says which step and why
  } catch (const std::exception&) {
    if (!memory::is_out_of_memory(std::current_exception())) throw;
    fail_out_of_memory(std::current_exception(), train.options().batch_size(), steps_per_epoch);
  }
  progress_.finish();
  return strategy.reduce(stats);
}

void Trainer::stop_if_asked(const FitOptions& fit) {
  if (!fit.stop_when()) return;
  // Every rank asks, and every rank learns whether any said yes: they stop at the same step.
  if (!options_.strategy()->any_rank(fit.stop_when()())) return;
  progress_.finish();
  throw TrainingStopped(fmt::format("training was stopped before step {} (epoch {}, step {} of it) because its "
                                    "stop condition was met",
                                    steps_done_ + 1, epochs_done_ + 1, epoch_steps_done_ + 1));
}

void Trainer::fail_out_of_memory(const std::exception_ptr& error, int64_t batch_size, int64_t steps_per_epoch) {
  progress_.finish();
  auto& strategy = *options_.strategy();
  std::string saved;
  if (step_runner_.updating())
    saved = "no checkpoint was written: the parameters were being updated";
  else if (strategy.ranks() > 1 || strategy.data_parallel_size() > 1)
    saved = "no checkpoint was written: the other ranks cannot join in writing one now";
  else if (options_.output_dir().empty() || options_.checkpoint_every() <= 0)
    saved = "no checkpoint was written: this run writes none";
  else {
    const auto path = (fs::path(options_.output_dir()) / run_layout::kCheckpoints /
                       checkpoint_name(epochs_done_, epoch_steps_done_, steps_per_epoch))
                          .string();
    try {
      memory::release_memory();
      save_checkpoint(path);
      saved = fmt::format("the state after step {} is in {}; resume from it with less memory in use", steps_done_,
                          path);
    } catch (const std::exception&) {
      saved = fmt::format("writing a checkpoint failed too ({})", memory::first_line(std::current_exception()));
    }
  }
  throw StepError(fmt::format("training ran out of memory after step {} (epoch {}, {} of its {} steps; batches of {} "
                              "examples in micro-batches of {}): {}; {}.",
                              steps_done_, epochs_done_ + 1, epoch_steps_done_, steps_per_epoch, batch_size,
                              step_runner_.micro_batch_size(batch_size), memory::first_line(error), saved));
}

void Trainer::watch_memory() {
  if (auto warning = leak_detector_->after_step(steps_done_)) log_->warn("{}", warning->message());
  if (memory::take_report_request())
    log_->info("memory after step {}: {}", steps_done_, memory::capture_memory_report().format());
}

Trainer::Position Trainer::stop_position(double until_epochs, int64_t steps_per_epoch) const {
  if (until_epochs <= 0.0 || until_epochs >= double(options_.epochs())) return {options_.epochs(), 0};
  const auto steps = std::max<int64_t>(1, std::llround(until_epochs * double(steps_per_epoch)));
  return {steps / steps_per_epoch, steps % steps_per_epoch};
}

const data::DataLoader& Trainer::shard_for_strategy(const data::DataLoader& loader,
                                                    std::optional<data::DataLoader>& holder, data::ShardPolicy policy,
                                                    const char* what) {
  const auto& strategy = *options_.strategy();
  const auto replicas = strategy.data_parallel_size(), rank = strategy.data_parallel_rank();
  const auto& options = loader.options();
  if (options.num_replicas() == replicas && options.rank() == rank) return loader;
  if (options.num_replicas() != 1)
    throw std::invalid_argument(fmt::format(
        "the {} loader is sharded for {} replicas (this one rank {}), but the {} strategy splits the data over {} "
        "(this process is replica {}); build the loader with num_replicas({}) and rank({}), or leave both unset "
        "and the Trainer shards it",
        what, options.num_replicas(), options.rank(), strategy.name(), replicas, rank, replicas, rank));
  // An unsharded loader under a data-parallel strategy would train every rank on every example.
  holder.emplace(loader.shared_dataset(),
                 data::DataLoaderOptions(options).num_replicas(replicas).rank(rank).shard_policy(policy));
  log_->debug("the {} loader was not sharded: the Trainer deals its examples to the {} {} replicas", what, replicas,
              strategy.name());
  return *holder;
}

std::vector<EpochResult> Trainer::fit(const data::DataLoader& whole_train, const data::DataLoader* whole_validation,
                                      const FitOptions& fit) {
  std::optional<data::DataLoader> train_shard, validation_shard;
  const auto& train = shard_for_strategy(whole_train, train_shard, whole_train.options().shard_policy(), "training");
  const auto* validation =
      whole_validation ? &shard_for_strategy(*whole_validation, validation_shard, data::ShardPolicy::kUneven,
                                             "validation")
                       : nullptr;
  int64_t steps_per_epoch = train.num_batches();
  if (options_.max_steps_per_epoch() > 0) steps_per_epoch = std::min(steps_per_epoch, options_.max_steps_per_epoch());
  const auto stop = stop_position(fit.until_epochs(), steps_per_epoch);
  // A checkpoint taken part-way through an epoch is within it (0 at its end):
  // beyond it, the loop below would train steps no epoch has.
  if (!resumed_from_.empty() && epoch_steps_done_ >= steps_per_epoch)
    throw InputError(fmt::format("{}: the checkpoint is {} steps into an epoch, but an epoch here has {} steps; "
                                 "resume it with the batch size and data it was written with",
                                 resumed_from_, epoch_steps_done_, steps_per_epoch));
  stop_reason_.clear();
  for_each_callback([&](Callback& callback) { callback.on_fit_begin(*this); });
  std::vector<EpochResult> results;
  while (!stop_agreed(/*mid_epoch=*/false) &&
         (epochs_done_ < stop.epochs || (epochs_done_ == stop.epochs && epoch_steps_done_ < stop.steps)))
    results.push_back(run_epoch(train, validation, stop, steps_per_epoch, fit));
  if (stop_requested()) log_->info("training stopped after step {}: {}", steps_done_, stop_reason_);
  for_each_callback([&](Callback& callback) { callback.on_fit_end(*this); });
  return results;
}

EpochResult Trainer::run_epoch(const data::DataLoader& train, const data::DataLoader* validation, Position stop,
                               int64_t steps_per_epoch, const FitOptions& fit) {
  const int64_t end = epochs_done_ < stop.epochs ? steps_per_epoch : stop.steps;
  EpochResult result;
  result.epoch = epochs_done_ + 1;
  const auto start = Clock::now();
  const auto skipped_nonfinite = step_runner_.skipped_nonfinite();
  const auto skipped_overflow = step_runner_.skipped_overflow();
  result.train = train_epoch(train, end, steps_per_epoch, fit);
  result.seconds = seconds_since(start);
  result.samples_per_second = double(result.train.samples) / std::max(result.seconds, 1e-9);
  result.learning_rate = learning_rate_;
  if (validation) result.validation = evaluate(*validation);
  result.memory = memory::capture_memory_report();
  result.micro_batch_size = step_runner_.micro_batch_size(train.options().batch_size());
  result.accumulation_steps = step_runner_.accumulation_steps();
  result.skipped_nonfinite = step_runner_.skipped_nonfinite() - skipped_nonfinite;
  result.skipped_overflow = step_runner_.skipped_overflow() - skipped_overflow;
  if (epoch_steps_done_ >= steps_per_epoch) {
    ++epochs_done_;
    epoch_steps_done_ = 0;
  }
  result.epochs = double(epochs_done_) + double(epoch_steps_done_) / double(steps_per_epoch);
  record(result);
  for_each_callback([&](Callback& callback) { callback.on_epoch_end(*this, last_record_); });
  const bool at_stop = (epochs_done_ == stop.epochs && epoch_steps_done_ == stop.steps) || stop_agreed(false);
  checkpoint_if_due(steps_per_epoch, at_stop);
  return result;
}

Stats Trainer::evaluate(const data::DataLoader& whole) {
  std::optional<data::DataLoader> shard;
  const auto& loader = shard_for_strategy(whole, shard, data::ShardPolicy::kUneven, "evaluation");
  torch::NoGradGuard no_grad;
  model_.ptr()->eval();
  auto& strategy = *options_.strategy();
  auto pass = loader.epoch(0);
  auto stats = options_.task().new_stats();
  while (auto batch = pass->next()) stats += strategy.eval_step(*batch, options_.task());
  model_.ptr()->train();
  return strategy.reduce(stats);
}

nlohmann::json stats_record(const std::string& prefix, const Stats& stats, const task::Task& task) {
  nlohmann::json line = {{prefix + "_loss", stats.mean_loss()}, {prefix + "_samples", stats.samples}};
  for (const auto& [name, value] : task.metric_values(stats)) line[prefix + "_" + name] = value;
  return line;
}

nlohmann::json epoch_record(const EpochResult& result, int64_t steps_done, const StepRunner& runner,
                            const task::Task& task) {
  const bool whole = result.epochs == double(result.epoch);
  nlohmann::json line = {{"event", "epoch"},
                         {"epoch", whole ? nlohmann::json(result.epoch) : nlohmann::json(result.epochs)},
                         {"step", steps_done},
                         {"lr", result.learning_rate},
                         {"epoch_seconds", result.seconds},
                         {"samples_per_second", result.samples_per_second}};
  line.update(stats_record("train", result.train, task));
  line.update(step_json(result, runner));
  if (result.validation) line.update(stats_record("val", *result.validation, task));
  return line;
}

void Trainer::record(const EpochResult& result) {
  // Every rank keeps the record (last_record()); the writer logs and writes it.
  const bool whole = result.epochs == double(result.epoch);
  const auto& task = options_.task();
  const auto line = epoch_record(result, steps_done_, step_runner_, task);
  last_record_ = line;
  if (!options_.strategy()->is_writer()) return;
  const auto validation_text = result.validation ? stats_text("val", *result.validation, task) : std::string();
  const auto epoch = whole ? fmt::format("{}/{}", result.epoch, options_.epochs())
                           : fmt::format("{:.4g}/{} (stopped part-way)", result.epochs, options_.epochs());
  log_->info("epoch {}{}{} lr {:.3g} {:.0f} samples/s ({:.1f} s){}; memory {}", epoch,
             stats_text("train", result.train, task), validation_text,
               result.learning_rate, result.samples_per_second, result.seconds, step_text(result, step_runner_),
               result.memory.format());
  if (auto* log = metrics()) log->write(line);
}

void Trainer::checkpoint_if_due(int64_t steps_per_epoch, bool at_stop) {
  const int64_t every = options_.checkpoint_every();
  if (every <= 0 || options_.output_dir().empty()) return;
  // Where a run stops is always worth a checkpoint: a longer run may continue from it.
  if (!at_stop && epochs_done_ % every != 0 && epochs_done_ != options_.epochs()) return;
  options_.strategy()->gather_state();  // on every rank, before only the writer saves
  const auto directory = fs::path(options_.output_dir()) / run_layout::kCheckpoints;
  const auto path = (directory / checkpoint_name(epochs_done_, epoch_steps_done_, steps_per_epoch)).string();
  for_each_callback([&](Callback& callback) { callback.on_checkpoint_begin(*this, path); });
  if (options_.strategy()->is_writer()) {
    save_checkpoint(path);
    log_->debug("checkpoint written to {}", path);
  }
  for_each_callback([&](Callback& callback) { callback.on_checkpoint_end(*this, path); });
  if (!options_.strategy()->is_writer()) return;
  auto existing = list_checkpoints(directory.string());
  const auto keep = options_.keep_checkpoints();
  for (size_t i = 0; keep > 0 && i + size_t(keep) < existing.size(); ++i) fs::remove(existing[i]);
}

void Trainer::save_checkpoint(const std::string& path) const {
  CheckpointState state{epochs_done_, steps_done_, epoch_steps_done_, options_.config().dump(), callback_states()};
  trainer::save_checkpoint(path, *options_.strategy(), state, step_runner_.loss_scaler());
}

std::map<std::string, double> Trainer::metrics(const Stats& stats) const {
  std::map<std::string, double> values{{"loss", stats.mean_loss()}};
  for (const auto& [name, value] : options_.task().metric_values(stats)) values[name] = value;
  return values;
}

void Trainer::resume(const std::string& checkpoint) {
  const auto path = resolve_checkpoint(checkpoint);
  const auto state = load_checkpoint(path, *options_.strategy(), step_runner_.loss_scaler());
  if (!state.verified && is_writer())
    log_->warn("{} was written before checkpoints carried a checksum: it is read unchecked", path);
  resumed_from_ = path;
  epochs_done_ = state.epochs_done;
  epoch_steps_done_ = state.epoch_steps_done;
  steps_done_ = state.steps_done;
  load_callback_states(state.callbacks);
  warn_config_changes(path, state.config);
  learning_rate_ = optim::learning_rates(*optimizer_).at(0);
  resumed_ = true;
  metrics_.reset();
  const auto part = epoch_steps_done_ > 0 ? fmt::format(" and {} steps of the next", epoch_steps_done_) : "";
  log_->info("resumed from {} after epoch {}{} (step {})", path, epochs_done_, part, steps_done_);
}

void Trainer::warn_config_changes(const std::string& checkpoint, const std::string& saved_config) const {
  const auto saved = nlohmann::json::parse(saved_config, nullptr, /*allow_exceptions=*/false);
  if (saved.is_discarded() || !options_.config().is_object() || options_.config().empty()) return;
  std::vector<std::string> changed;
  differing_keys(saved, options_.config(), "", changed);
  if (changed.empty() || !is_writer()) return;
  std::sort(changed.begin(), changed.end());
  log_->warn("resuming {} under a config that differs from the checkpoint's in {}: the run goes on with the new "
             "values from here",
             checkpoint, fmt::join(changed, ", "));
}

void Trainer::request_stop(const std::string& reason) {
  if (stop_reason_.empty()) stop_reason_ = reason.empty() ? std::string("a callback asked to stop") : reason;
}

void Trainer::for_each_callback(const std::function<void(Callback&)>& call) {
  for (const auto& callback : options_.callbacks()) call(*callback);
}

bool Trainer::stop_agreed(bool mid_epoch) {
  const auto& callbacks = options_.callbacks();
  if (callbacks.empty()) return false;
  // A vote costs a collective: once per epoch, and after every step only for
  // a callback that stops mid-epoch (its step-end view is this rank's own).
  const bool votes = !mid_epoch || std::any_of(callbacks.begin(), callbacks.end(), [](const auto& callback) {
    return callback->stops_mid_epoch();
  });
  if (votes && options_.strategy()->any_rank(stop_requested()) && !stop_requested())
    stop_reason_ = "a callback on another rank asked to stop";
  return votes && stop_requested();
}

std::string Trainer::callback_states() const {
  auto states = nlohmann::json::object();
  for (const auto& callback : options_.callbacks()) {
    auto state = callback->state();
    if (!state.is_null()) states[callback->name()] = std::move(state);
  }
  return states.dump();
}

void Trainer::load_callback_states(const std::string& states) {
  const auto saved = nlohmann::json::parse(states, nullptr, /*allow_exceptions=*/false);
  if (!saved.is_object()) return;
  for (const auto& callback : options_.callbacks())
    if (auto found = saved.find(callback->name()); found != saved.end()) callback->load_state(*found);
}

}  // namespace cohort::trainer
