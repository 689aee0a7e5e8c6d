#include "cohort/precision/loss_scaler.h"

#include <map>
#include <utility>

#include <torch/torch.h>

namespace cohort::precision {

LossScaler::LossScaler(LossScalerOptions options) : options_(std::move(options)), scale_(options_.init_scale()) {}

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  // The fused kernel wants every gradient of one call on one device and of one type.
  std::map<std::pair<std::string, int>, std::vector<torch::Tensor>> groups;
  for (const auto& parameter : parameters) {
    const auto& grad = parameter.grad();
    if (!grad.defined()) continue;
    groups[{grad.device().str(), static_cast<int>(grad.scalar_type())}].push_back(grad);
  }
  std::vector<torch::Tensor> found;
  for (auto& [key, grads] : groups) {
    const auto device = grads.front().device();
    auto found_inf = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(device));
    const auto inv_scale = torch::full({1}, 1.0 / scale_, torch::TensorOptions().dtype(torch::kFloat).device(device));
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
    found.push_back(found_inf.cpu());
  }
  for (const auto& flag : found)
    if (flag.item<float>() != 0.0f) return true;
  return false;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor();
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= options_.growth_interval()) {
    scale_ *= options_.growth_factor();
    good_steps_ = 0;
  }
}

void LossScaler::save(torch::serialize::OutputArchive& archive) const {
  archive.write("loss_scale", torch::tensor(scale_, torch::kDouble));
  archive.write("loss_scale_good_steps", torch::tensor(good_steps_, torch::kLong));
}

void LossScaler::load(torch::serialize::InputArchive& archive) {
  torch::Tensor scale, good_steps;
  if (!archive.try_read("loss_scale", scale) || !archive.try_read("loss_scale_good_steps", good_steps)) return;
  scale_ = scale.item<double>();
  good_steps_ = good_steps.item<int64_t>();
}

}  // namespace cohort::precision
