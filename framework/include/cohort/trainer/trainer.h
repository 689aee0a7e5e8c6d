#pragma once
// The training loop everybody writes, written once: epochs of
// zero_grad -> forward -> loss -> backward -> step (run by the strategy),
// evaluation in eval mode under NoGradGuard, metrics as JSON lines,
// atomic checkpoints and resume.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>

#include "cohort/data/data_loader.h"
#include "cohort/memory/leak_detector.h"
#include "cohort/memory/memory_report.h"
#include "cohort/optim/lr_schedule.h"
#include "cohort/strategies/strategy.h"
#include "cohort/trainer/metrics_log.h"
#include "cohort/trainer/progress.h"
#include "cohort/trainer/stats.h"
#include "cohort/trainer/step_runner.h"

namespace cohort::trainer {

/// Cross entropy of logits {N, C} against class indices {N}.
torch::Tensor cross_entropy(const torch::Tensor& output, const torch::Tensor& target);

struct TrainerOptions {
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
  /// How each step runs; null means strategies::Single on the CPU.
  TORCH_ARG(std::shared_ptr<strategies::Strategy>, strategy) = nullptr;
  TORCH_ARG(strategies::LossFn, loss) = cross_entropy;
  TORCH_ARG(optim::LrScheduleOptions, lr_schedule) = {};
  /// How each batch is cut into micro-batches (gradient accumulation), its
  /// precision, and what a step does on running out of memory or a non-finite loss.
  TORCH_ARG(StepOptions, step) = {};
  /// Warns when memory grows steadily from step to step (every = 0: off).
  TORCH_ARG(memory::LeakDetectorOptions, leak_check) = {};
  /// Saved in checkpoints so each one says how it was made.
  TORCH_ARG(nlohmann::json, config) = nlohmann::json::object();
};

struct EpochResult {
  int64_t epoch = 0;  // 1-based
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

class Trainer {
 public:
  /// `optimizer` must have been built over `model`'s parameters. The strategy
  /// takes charge of both here (e.g. moves the model to its device).
  Trainer(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer,
          TrainerOptions options = {});

  /// Trains from the current epoch (0, or where resume() left it) up to
  /// options.epochs(), evaluating on `validation` after each epoch when given.
  std::vector<EpochResult> fit(const data::DataLoader& train, const data::DataLoader* validation = nullptr);

  /// Loss and accuracy over `loader` in eval mode, without gradients.
  Stats evaluate(const data::DataLoader& loader);

  /// Restores model, optimizer, RNGs and position from a checkpoint file (or
  /// the newest in a directory); the next fit() continues after its epoch.
  void resume(const std::string& checkpoint);

  /// Writes a checkpoint of the current state to `path` (atomically).
  void save_checkpoint(const std::string& path) const;

  int64_t epochs_done() const { return epochs_done_; }
  int64_t steps_done() const { return steps_done_; }
  torch::nn::AnyModule& model() { return model_; }
  strategies::Strategy& strategy() { return *options_.strategy(); }
  const TrainerOptions& options() const { return options_; }
  const StepRunner& step_runner() const { return step_runner_; }
  const memory::LeakDetector& leak_detector() const { return *leak_detector_; }

 private:
  Stats train_epoch(const data::DataLoader& train, int64_t steps_per_epoch, int64_t total_steps);
  /// After each step: the leak check, and a memory report when one was asked for.
  void watch_memory();
  void record(const EpochResult& result);
  void checkpoint_if_due();
  /// Opens metrics.jsonl on the first record of this run. A fresh run
  /// replaces an earlier run's metrics and checkpoints in the same directory
  /// only then, so a run that fails before its first epoch ends leaves them be.
  MetricsLog* metrics();

  torch::nn::AnyModule model_;
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
  TrainerOptions options_;
  optim::LrSchedule schedule_;
  StepRunner step_runner_;
  std::unique_ptr<memory::LeakDetector> leak_detector_;
  Progress progress_;
  std::unique_ptr<MetricsLog> metrics_;
  bool resumed_ = false;
  int64_t epochs_done_ = 0;
  int64_t steps_done_ = 0;
  double learning_rate_ = 0.0;
};

}  // namespace cohort::trainer
