#pragma once
// Follows one metric of the epoch records and counts the epochs since it last
// improved: what early stopping and reduce-on-plateau both decide on.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/arg.h>

namespace cohort::trainer {

/// Which way is better: kAuto takes lower for names ending in "loss", "mse"
/// or "mae", and higher for any other (accuracy, r2, a user's score).
enum class MetricMode { kAuto, kMin, kMax };

struct MetricWatchOptions {
  explicit MetricWatchOptions(std::string metric) : metric_(std::move(metric)) {}
  /// The record's key, e.g. "val_loss", "val_r2".
  TORCH_ARG(std::string, metric);
  TORCH_ARG(MetricMode, mode) = MetricMode::kAuto;
  /// An improvement smaller than this does not count.
  TORCH_ARG(double, min_delta) = 0.0;
};

class MetricWatch {
 public:
  explicit MetricWatch(MetricWatchOptions options);

  /// Reads the metric from `record`; returns whether it improved on the best
  /// so far. A record of part of an epoch (its "epoch" a fraction) is not
  /// counted, so a run stopped part-way and resumed counts as one that was not. std::invalid_argument naming the metric and the record's keys
  /// when the record has no number there.
  bool update(const nlohmann::json& record);
  /// Epochs (records) since the last improvement.
  int64_t epochs_without_improvement() const { return waiting_; }
  /// Starts counting again (after a reduce-on-plateau acted).
  void restart_count() { waiting_ = 0; }
  std::optional<double> best() const { return best_; }
  bool higher_is_better() const { return higher_; }
  const MetricWatchOptions& options() const { return options_; }

  /// {"best", "waiting"}, and back.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  MetricWatchOptions options_;
  bool higher_;
  std::optional<double> best_;
  int64_t waiting_ = 0;
};

}  // namespace cohort::trainer
