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
  const auto values = per_example_(output, batch).to(torch::kFloat64);
  return torch::stack({values.sum(), torch::tensor(double(values.numel()), values.options())});
}

double MeanMetric::compute(const std::vector<double>& sums) const {
  return sums.at(1) > 0 ? sums.at(0) / sums.at(1) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace cohort::task
