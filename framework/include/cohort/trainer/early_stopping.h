#pragma once
// Early stopping: ends training once a metric has not improved for `patience`
// epochs, with a checkpoint there. Its count is in every checkpoint, so a run
// resumed part-way stops at the epoch an uninterrupted run would.

#include <cstdint>
#include <string>

#include <torch/arg.h>

#include "cohort/trainer/callback.h"
#include "cohort/trainer/metric_watch.h"

namespace cohort::trainer {

struct EarlyStoppingOptions {
  explicit EarlyStoppingOptions(std::string metric = "val_loss") : metric_(std::move(metric)) {}
  /// The record's key to watch, e.g. "val_loss" or "val_accuracy".
  TORCH_ARG(std::string, metric);
  /// Epochs without improvement after which training stops.
  TORCH_ARG(int64_t, patience) = 3;
  TORCH_ARG(MetricMode, mode) = MetricMode::kAuto;
  TORCH_ARG(double, min_delta) = 0.0;
};

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = EarlyStoppingOptions());

  std::string name() const override { return "early_stopping"; }
  /// A run resumed from the checkpoint of a stop stops again at once.
  void on_fit_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const nlohmann::json& record) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  /// Whether it has stopped training, and its watch of the metric.
  bool stopped() const { return stopped_; }
  const MetricWatch& watch() const { return watch_; }

 private:
  std::string reason() const;

  EarlyStoppingOptions options_;
  MetricWatch watch_;
  bool stopped_ = false;
};

}  // namespace cohort::trainer
