#pragma once
// Mixed precision for a forward pass: within an AutocastGuard, LibTorch runs
// matrix products and convolutions in a 16-bit type and keeps precision-
// sensitive ops (softmax, losses) in float32.

#include <optional>

#include <torch/types.h>

namespace cohort::precision {

/// Turns autocast on for `device` with `dtype` for its lifetime and restores
/// the previous state after. With no dtype it does nothing. Backward must run
/// after the guard is gone, as PyTorch recommends.
class AutocastGuard {
 public:
  AutocastGuard(torch::DeviceType device, std::optional<torch::ScalarType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat;
};

}  // namespace cohort::precision
