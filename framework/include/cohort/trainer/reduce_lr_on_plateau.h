#pragma once
// Reduce-on-plateau: multiplies the learning rate by `factor` once a metric
// has not improved for `patience` epochs, on top of the schedule. Its factor
// and count are in every checkpoint, so a resumed run continues with them.

#include <cstdint>
#include <string>

#include <torch/arg.h>

#include "cohort/trainer/callback.h"
#include "cohort/trainer/metric_watch.h"

namespace cohort::trainer {

struct ReduceLrOnPlateauOptions {
  explicit ReduceLrOnPlateauOptions(std::string metric = "val_loss") : metric_(std::move(metric)) {}
  TORCH_ARG(std::string, metric);
  /// Epochs without improvement before the rate is cut (then counting restarts).
  TORCH_ARG(int64_t, patience) = 2;
  /// The multiplier of each cut, in (0, 1).
  TORCH_ARG(double, factor) = 0.1;
  /// The smallest total multiplier it goes down to.
  TORCH_ARG(double, min_scale) = 0.0;
  TORCH_ARG(MetricMode, mode) = MetricMode::kAuto;
  TORCH_ARG(double, min_delta) = 0.0;
};

class ReduceLrOnPlateau : public Callback {
 public:
  explicit ReduceLrOnPlateau(ReduceLrOnPlateauOptions options = ReduceLrOnPlateauOptions());

  std::string name() const override { return "reduce_lr_on_plateau"; }
  /// Gives the Trainer the current multiplier (after a resume: the saved one).
  void on_fit_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const nlohmann::json& record) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  /// The multiplier it applies on the scheduled rate now.
  double scale() const { return scale_; }

 private:
  ReduceLrOnPlateauOptions options_;
  MetricWatch watch_;
  double scale_ = 1.0;
};

}  // namespace cohort::trainer
