#pragma once
// The training loop everybody writes, written once: epochs of
// zero_grad -> forward -> loss -> backward -> step (run by the strategy),
// evaluation in eval mode under NoGradGuard, metrics as JSON lines,
// atomic checkpoints and resume.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>

#include "cohort/data/data_loader.h"
#include "cohort/memory/leak_detector.h"
#include "cohort/memory/memory_report.h"
#include "cohort/optim/lr_schedule.h"
#include "cohort/strategy/strategy.h"
#include "cohort/task/losses.h"
#include "cohort/task/task.h"
#include "cohort/trainer/callback.h"
#include "cohort/trainer/metrics_log.h"
#include "cohort/trainer/progress.h"
#include "cohort/trainer/stats.h"
#include "cohort/trainer/step_runner.h"

namespace cohort::trainer {

/// Cross entropy of logits {N, C} against class indices {N} (task/losses.h).
using task::cross_entropy;

struct TrainerOptions {
  /// Shorthand for task().loss(loss): a loss of (output, target), e.g.
  /// task::huber_loss. Only cross entropy keeps accuracy as a metric.
  TrainerOptions& loss(task::LossFn loss) {
    task_.loss(std::move(loss));
    return *this;
  }

  TORCH_ARG(int64_t, epochs) = 10;
  /// Where metrics.jsonl and checkpoints/ go; empty writes nothing.
  TORCH_ARG(std::string, output_dir) = "";
  /// Write a checkpoint every this many epochs, and after the last (0 = never).
  TORCH_ARG(int64_t, checkpoint_every) = 1;
  /// How many of the newest checkpoints to keep (0 = all).
  TORCH_ARG(int64_t, keep_checkpoints) = 2;
  /// Steps between progress log lines when not drawing a bar.
  TORCH_ARG(int64_t, log_every) = 100;
  TORCH_ARG(ProgressStyle, progress) = ProgressStyle::kAuto;
  /// Stop each epoch after this many steps (0 = the whole epoch); for smoke tests.
  TORCH_ARG(int64_t, max_steps_per_epoch) = 0;
  /// How each step runs (required): e.g. strategies::Single, strategies::Ddp.
  TORCH_ARG(std::shared_ptr<strategy::Strategy>, strategy) = nullptr;
  /// Where the run logs; null = spdlog's default logger. A sweep gives each
  /// trial its own (console and the trial's train.log).
  TORCH_ARG(std::shared_ptr<spdlog::logger>, logger) = nullptr;
  /// What the model learns: the batch tensors its forward() takes, the loss
  /// and the metrics (default: cross entropy on "input", with accuracy).
  TORCH_ARG(task::Task, task) = {};
  TORCH_ARG(optim::LrScheduleOptions, lr_schedule) = {};
  /// How each batch is cut into micro-batches (gradient accumulation), its
  /// precision, and what a step does on running out of memory or a non-finite loss.
  TORCH_ARG(StepOptions, step) = {};
  /// Warns when memory grows steadily from step to step (every = 0: off).
  TORCH_ARG(memory::LeakDetectorOptions, leak_check) = {};
  /// Saved in checkpoints so each one says how it was made.
  TORCH_ARG(nlohmann::json, config) = nlohmann::json::object();
  /// Called at fixed points of fit() on every rank (see callback.h); their
  /// states go into checkpoints by name.
  TORCH_ARG(Callbacks, callbacks) = {};

};

/// How far one fit() goes: what a sweep's trial changes from run to run,
/// where TrainerOptions say how the job trains.
struct FitOptions {
  /// Stop once this many epochs are done (0 = TrainerOptions::epochs). Fractions
  /// are allowed and counted in steps: 1.5 is one epoch and half the next one's
  /// steps (rounded to the nearest step, at least one). At most
  /// TrainerOptions::epochs, which stays the horizon of the learning-rate
  /// schedule: so a run stopped at 0.5 and resumed to 1.5 ends exactly where a
  /// run straight to 1.5 does. A stop part-way through an epoch evaluates,
  /// records (with "epoch" the fraction) and checkpoints there, under a name
  /// that says the fraction (checkpoint_name(epochs, steps, steps_per_epoch)).
  TORCH_ARG(double, until_epochs) = 0.0;
  /// Asked before every training step on every rank; once it is true on any
  /// rank (agreed with Strategy::any_rank, one more small collective per step
  /// while it is set) all ranks stop at the same step and fit() throws
  /// TrainingStopped. E.g. a deadline. Nothing is checkpointed at that step.
  TORCH_ARG(std::function<bool()>, stop_when) = nullptr;
};

/// What fit() throws on every rank when FitOptions::stop_when asked it to stop.
class TrainingStopped : public std::runtime_error {
 public:
  explicit TrainingStopped(const std::string& message) : std::runtime_error(message) {}
};

struct EpochResult {
  int64_t epoch = 0;  // 1-based
  /// Epochs done when this result was taken: `epoch` after a whole epoch, a
  /// fraction (e.g. 1.5) after a stop part-way through one.
  double epochs = 0.0;
  Stats train;
  std::optional<Stats> validation;
  double learning_rate = 0.0;
  double seconds = 0.0;
  double samples_per_second = 0.0;
  /// Memory at the end of the epoch (CUDA peaks since the epoch began).
  memory::MemoryReport memory;
  /// Micro-batch and accumulation in use at the end of the epoch (for a full
  /// batch), which a step that ran out of memory may have changed.
  int64_t micro_batch_size = 0;
  int64_t accumulation_steps = 1;
  /// Steps skipped in this epoch: non-finite loss, fp16 overflow.
  int64_t skipped_nonfinite = 0;
  int64_t skipped_overflow = 0;
};

/// {"<prefix>_loss", "<prefix>_samples", "<prefix>_<metric>" for each of the
/// task's metrics}, e.g. prefix "val": {"val_loss", "val_samples", "val_accuracy"}.
nlohmann::json stats_record(const std::string& prefix, const Stats& stats, const task::Task& task);

/// The metrics record of an epoch (or part of one) as metrics.jsonl has it:
/// {"event": "epoch", "epoch", "step" (= `steps_done`), "lr", "train_loss",
/// "val_accuracy", "memory": {...}, ...}; "epoch" is the fraction after a stop
/// part-way. `runner` adds micro-batching and, under fp16, "loss_scale";
/// `task` names the metrics (train_<metric>, val_<metric>).
nlohmann::json epoch_record(const EpochResult& result, int64_t steps_done, const StepRunner& runner,
                            const task::Task& task);

class Trainer {
 public:
  /// `optimizer` must have been built over `model`'s parameters. The strategy
  /// takes charge of both here (e.g. moves the model to its device).
  Trainer(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer,
          TrainerOptions options = {});

  /// Trains from the current position (the start, or where resume() left it,
  /// possibly part-way through an epoch) up to options.epochs() or
  /// fit.until_epochs(), evaluating on `validation` after each epoch and at a
  /// stop part-way when given. Returns one result per epoch or part trained.
  std::vector<EpochResult> fit(const data::DataLoader& train, const data::DataLoader* validation = nullptr,
                               const FitOptions& fit = {});

  /// Loss and the task's metrics over `loader` in eval mode, without
  /// gradients, over every data-parallel rank (an unsharded loader is dealt
  /// out to them, each example counted once). Task metrics from the result:
  /// options().task().metric_values(stats).
  Stats evaluate(const data::DataLoader& loader);

  /// "loss" and each of the task's metrics from statistics such as
  /// evaluate()'s: e.g. metrics(trainer.evaluate(test)).at("accuracy").
  std::map<std::string, double> metrics(const Stats& stats) const;

  /// Restores model, optimizer, RNGs and position from a checkpoint file (or
  /// the newest in a directory); the next fit() continues where it was taken,
  /// skipping the batches of a part-done epoch without loading them.
  void resume(const std::string& checkpoint);

  /// Writes a checkpoint of the current state to `path` (atomically).
  void save_checkpoint(const std::string& path) const;

  /// Asks training to stop cleanly (from a callback): at the end of the epoch,
  /// or after the current step when the asking callback's stops_mid_epoch()
  /// is true. The run evaluates, records and checkpoints there and fit()
  /// returns. Requests are agreed over ranks: one rank asking stops them all.
  void request_stop(const std::string& reason);
  /// Whether a stop was asked, and why ("" when not).
  bool stop_requested() const { return !stop_reason_.empty(); }
  const std::string& stop_reason() const { return stop_reason_; }
  /// A factor on the scheduled learning rate from the next step on (a
  /// reduce-on-plateau callback sets it); 1 by default. The callback that
  /// sets it keeps it in its state, so a resumed run gets it back.
  void set_lr_scale(double scale) { lr_scale_ = scale; }
  double lr_scale() const { return lr_scale_; }
  /// Whether this process writes the job's logs, metrics and checkpoints.
  bool is_writer() const { return options_.strategy()->is_writer(); }
  /// The run's logger (TrainerOptions::logger or spdlog's default).
  const std::shared_ptr<spdlog::logger>& logger() const { return log_; }

  /// Whole epochs done, and steps taken in the next one.
  int64_t epochs_done() const { return epochs_done_; }
  int64_t epoch_steps_done() const { return epoch_steps_done_; }
  int64_t steps_done() const { return steps_done_; }
  /// The last metrics record of this run, as written to metrics.jsonl
  /// ({"event": "epoch", "epoch", "step", "lr", "train_loss", "val_accuracy",
  /// ...}), on every rank (only the writer writes it); empty before the first.
  const nlohmann::json& last_record() const { return last_record_; }
  torch::nn::AnyModule& model() { return model_; }
  strategy::Strategy& strategy() { return *options_.strategy(); }
  const TrainerOptions& options() const { return options_; }
  const StepRunner& step_runner() const { return step_runner_; }
  const memory::LeakDetector& leak_detector() const { return *leak_detector_; }

 private:
  /// Where training stops: whole epochs, and steps into the next.
  struct Position {
    int64_t epochs = 0;
    int64_t steps = 0;
  };
  Position stop_position(double until_epochs, int64_t steps_per_epoch) const;
  /// Trains the current epoch to its end or to `stop`, whichever comes
  /// first, then evaluates, records and checkpoints.
  EpochResult run_epoch(const data::DataLoader& train, const data::DataLoader* validation, Position stop,
                        int64_t steps_per_epoch, const FitOptions& fit);
  Stats train_epoch(const data::DataLoader& train, int64_t end, int64_t steps_per_epoch, const FitOptions& fit);
  /// Throws TrainingStopped on every rank once fit.stop_when() is true on any.
  void stop_if_asked(const FitOptions& fit);
  /// After each step: the leak check, and a memory report when one was asked for.
  void watch_memory();
  /// Ends training that ran out of memory outside a step's forward and
  /// backward passes (where StepRunner shrinks the micro-batch): a StepError
  /// saying where, and a checkpoint of the last completed step when the state
  /// is consistent and this rank alone holds it.
  [[noreturn]] void fail_out_of_memory(const std::exception_ptr& error, int64_t batch_size, int64_t steps_per_epoch);
  void record(const EpochResult& result);
  /// `loader` as this rank's shard when the strategy splits the data and the
  /// loader does not (kept in `holder`); refuses a loader sharded otherwise.
  const data::DataLoader& shard_for_strategy(const data::DataLoader& loader, std::optional<data::DataLoader>& holder,
                                             data::ShardPolicy policy, const char* what);
  /// Warns about the config keys that differ from the checkpoint's.
  void warn_config_changes(const std::string& checkpoint, const std::string& saved_config) const;
  void checkpoint_if_due(int64_t steps_per_epoch, bool at_stop);
  /// Runs `call` on every callback.
  void for_each_callback(const std::function<void(Callback&)>& call);
  /// Whether a callback asked to stop, agreed over ranks when asked mid-epoch.
  bool stop_agreed(bool mid_epoch);
  std::string callback_states() const;
  void load_callback_states(const std::string& states);
  /// Opens metrics.jsonl on the first record of this run. A fresh run
  /// replaces an earlier run's metrics and checkpoints in the same directory
  /// only then, so a run that fails before its first epoch ends leaves them be.
  MetricsLog* metrics();

  torch::nn::AnyModule model_;
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
  TrainerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  optim::LrSchedule schedule_;
  StepRunner step_runner_;
  std::unique_ptr<memory::LeakDetector> leak_detector_;
  Progress progress_;
  std::unique_ptr<MetricsLog> metrics_;
  bool resumed_ = false;
  std::string resumed_from_;  // the checkpoint resume() read, for fit()'s check of its position
  int64_t epochs_done_ = 0;
  int64_t epoch_steps_done_ = 0;
  int64_t steps_done_ = 0;
  double learning_rate_ = 0.0;
  nlohmann::json last_record_;
  std::string stop_reason_;
  double lr_scale_ = 1.0;
};

}  // namespace cohort::trainer
