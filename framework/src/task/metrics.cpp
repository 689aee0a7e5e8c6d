#include "cohort/task/metrics.h"

#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "target_shape.h"

namespace cohort::task {
namespace {

/// Outputs and targets flattened alike to float64, under the losses' shape rule.
std::pair<torch::Tensor, torch::Tensor> paired(const std::string& metric, const torch::Tensor& output,
                                               const data::Batch& batch) {
  const auto target =
      detail::target_like_output(fmt::format("metric \"{}\"", metric), output, batch.at(data::Batch::kTarget));
  const auto out = output.to(torch::kFloat64).reshape(-1);
  return {out, target.to(out.device(), torch::kFloat64).reshape(-1)};
}

class R2 : public Metric {
 public:
  std::string name() const override { return "r2"; }
  int64_t state_size() const override { return 4; }  // n, sum y, sum y^2, sum (y - prediction)^2
  torch::Tensor sums(const torch::Tensor& output, const data::Batch& batch) const override {
    const auto [out, target] = paired(name(), output, batch);
    return torch::stack({torch::tensor(double(target.numel()), target.options()), target.sum(),
                         target.square().sum(), (target - out).square().sum()});
  }
  double compute(const std::vector<double>& sums) const override {
    const double n = sums.at(0), total = sums.at(2) - sums.at(1) * sums.at(1) / n;
    if (n <= 0 || total <= 0) return std::numeric_limits<double>::quiet_NaN();
    return 1.0 - sums.at(3) / total;
  }
};

}  // namespace

std::shared_ptr<Metric> accuracy(int64_t k) {
  if (k < 1) throw std::invalid_argument(fmt::format("top-k accuracy needs k >= 1, not {}", k));
  const std::string name = k == 1 ? "accuracy" : fmt::format("top{}_accuracy", k);
  // The mean over examples of whether the target is among the k highest outputs.
  return std::make_shared<MeanMetric>(name, [name, k](const torch::Tensor& output, const data::Batch& batch) {
    const auto& target = batch.at(data::Batch::kTarget);
    if (output.dim() != 2 || target.dim() != 1 || target.is_floating_point())
      throw std::invalid_argument(fmt::format(
          "metric \"{}\" needs outputs {{N, classes}} and class indices {{N}}, but got outputs {} and {} targets {}; "
          "for regression use the metrics mse, mae or r2",
          name, c10::str(output.sizes()), c10::toString(target.scalar_type()), c10::str(target.sizes())));
    const auto labels = target.to(output.device());
    const auto top = std::min<int64_t>(k, output.size(1));
    return top == 1 ? output.argmax(1).eq(labels) : std::get<1>(output.topk(top, 1)).eq(labels.unsqueeze(1)).any(1);
  });
}

std::shared_ptr<Metric> mean_squared_error() {
  return std::make_shared<MeanMetric>("mse", [](const torch::Tensor& output, const data::Batch& batch) {
    const auto [out, target] = paired("mse", output, batch);
    return (out - target).square();
  });
}

std::shared_ptr<Metric> mean_absolute_error() {
  return std::make_shared<MeanMetric>("mae", [](const torch::Tensor& output, const data::Batch& batch) {
    const auto [out, target] = paired("mae", output, batch);
    return (out - target).abs();
  });
}

std::shared_ptr<Metric> r2_score() { return std::make_shared<R2>(); }

std::shared_ptr<Metric> metric_by_name(const std::string& name) {
  if (name == "accuracy") return accuracy(1);
  if (name == "mse") return mean_squared_error();
  if (name == "mae") return mean_absolute_error();
  if (name == "r2") return r2_score();
  const std::string prefix = "top", suffix = "_accuracy";
  if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 6 && std::stoll(digits) >= 1)
      return accuracy(std::stoll(digits));
  }
  throw std::invalid_argument(fmt::format(
      "unknown metric \"{}\" (the built-in metrics are accuracy, top<k>_accuracy such as top5_accuracy, mse, mae and "
      "r2)",
      name));
}

}  // namespace cohort::task
