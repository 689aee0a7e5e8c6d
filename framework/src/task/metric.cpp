#include "cohort/task/metric.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

namespace cohort::task {

bool valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (const unsigned char c : name)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

MeanMetric::MeanMetric(std::string name, PerExample per_example)
    : name_(std::move(name)), per_example_(std::move(per_example)) {
  if (!valid_metric_name(name_))
    throw std::invalid_argument(fmt::format("metric name \"{}\" must be letters, digits and '_'", name_));
  if (!per_example_) throw std::invalid_argument(fmt::format("metric \"{}\" has no function", name_));
}

torch::Tensor MeanMetric::sums(const torch::Tensor& output, const data::Batch& batch) const {
  const auto values = per_example_(output, batch);
  const auto total = values.sum(torch::kFloat64);
  const double count = double(values.numel());
  // On the CPU the sum is at hand; on a GPU it stays there until the step's one copy back.
  if (total.device().is_cpu()) return torch::tensor({total.item<double>(), count}, torch::kFloat64);
  return torch::stack({total, torch::full({}, count, total.options())});
}

double MeanMetric::compute(const std::vector<double>& sums) const {
  return sums.at(1) > 0 ? sums.at(0) / sums.at(1) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace cohort::task
