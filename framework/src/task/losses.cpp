#include "cohort/task/losses.h"

#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "target_shape.h"

namespace cohort::task {
namespace detail {

torch::Tensor target_like_output(const std::string& what, const torch::Tensor& output, const torch::Tensor& target) {
  if (output.sizes() == target.sizes()) return target;
  if (output.dim() == 2 && output.size(1) == 1 && target.dim() == 1 && target.size(0) == output.size(0))
    return target.unsqueeze(1);
  throw std::invalid_argument(fmt::format(
      "{} compares outputs of shape {} with targets of shape {}; they need the same shape (a broadcast would pair "
      "every output with every target)",
      what, c10::str(output.sizes()), c10::str(target.sizes())));
}

}  // namespace detail

namespace {

torch::Tensor regression_target(const char* loss, const torch::Tensor& output, const torch::Tensor& target) {
  return detail::target_like_output(loss, output, target).to(output.dtype());
}

}  // namespace

torch::Tensor cross_entropy(const torch::Tensor& output, const torch::Tensor& target) {
  const bool probabilities = target.is_floating_point() && target.sizes() == output.sizes() && output.dim() >= 2 &&
                             output.size(1) > 1;
  if (target.is_floating_point() && !probabilities)
    throw std::invalid_argument(fmt::format(
        "cross entropy needs class indices (int64) as targets, but the targets are {} of shape {} against outputs "
        "of shape {}; for regression set a regression loss (cohort::task::mse_loss, l1_loss or "
        "huber_loss) and metrics such as mse, mae or r2",
        c10::toString(target.scalar_type()), c10::str(target.sizes()), c10::str(output.sizes())));
  return torch::nn::functional::cross_entropy(output, target);
}

torch::Tensor mse_loss(const torch::Tensor& output, const torch::Tensor& target) {
  return torch::mse_loss(output, regression_target("mse loss", output, target));
}

torch::Tensor l1_loss(const torch::Tensor& output, const torch::Tensor& target) {
  return torch::l1_loss(output, regression_target("l1 loss", output, target));
}

torch::Tensor huber_loss(const torch::Tensor& output, const torch::Tensor& target) {
  return huber_loss_with_delta(1.0)(output, target);
}

std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> huber_loss_with_delta(double delta) {
  if (!(delta > 0.0)) throw std::invalid_argument(fmt::format("the Huber loss needs a delta > 0, not {}", delta));
  return [delta](const torch::Tensor& output, const torch::Tensor& target) {
    return torch::huber_loss(output, regression_target("huber loss", output, target), at::Reduction::Mean, delta);
  };
}

}  // namespace cohort::task
