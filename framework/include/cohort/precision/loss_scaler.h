#pragma once
// Dynamic loss scaling for fp16 training, as torch.amp.GradScaler does it:
// the loss is multiplied by `scale` before backward so small gradients do not
// vanish in float16; before the optimizer step the gradients are divided by it
// again. A step whose gradients hold inf or NaN (the scale was too high) is
// skipped and the scale multiplied by `backoff_factor`; after
// `growth_interval` good steps in a row it is multiplied by `growth_factor`.

#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

namespace cohort::precision {

struct LossScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;
  TORCH_ARG(double, growth_factor) = 2.0;
  TORCH_ARG(double, backoff_factor) = 0.5;
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});

  /// What the loss is multiplied by before backward.
  double scale() const { return scale_; }

  /// Divides the gradients of `parameters` by the scale, in place (one fused
  /// kernel per device and type); returns whether any of them is inf or NaN.
  bool unscale(const std::vector<torch::Tensor>& parameters) const;

  /// After each step: backs off when `found_inf`, else counts a good step and
  /// grows the scale every growth_interval of them.
  void update(bool found_inf);

  /// Good steps since the scale last changed.
  int64_t good_steps() const { return good_steps_; }
  const LossScalerOptions& options() const { return options_; }

  void save(torch::serialize::OutputArchive& archive) const;
  /// Restores what save() wrote; keeps the current state when the archive has none.
  void load(torch::serialize::InputArchive& archive);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t good_steps_ = 0;
};

}  // namespace cohort::precision
