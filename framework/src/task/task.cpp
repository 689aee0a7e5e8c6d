#include "cohort/task/task.h"

#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/task/losses.h"
#include "cohort/task/metrics.h"

namespace cohort::task {
namespace {

using LossPointer = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&);

bool is_cross_entropy(const LossFn& loss) {
  const auto* pointer = loss.target<LossPointer>();
  return pointer && *pointer == &cross_entropy;
}

}  // namespace

Task::Task() { loss(LossFn(&cross_entropy)); }

Task& Task::loss(LossFn loss) {
  if (!loss) throw std::invalid_argument("Task::loss: the loss function is empty");
  classifies_ = is_cross_entropy(loss);
  loss_ = [loss = std::move(loss)](const torch::Tensor& output, const data::Batch& batch) {
    return loss(output, batch.at(data::Batch::kTarget).to(output.device(), /*non_blocking=*/true));
  };
  // Accuracy is the default of a classification only; metrics the user chose stay.
  if (!metrics_chosen_) metrics_ = classifies_ ? Metrics{accuracy()} : Metrics{};
  return *this;
}

Task& Task::batch_loss(BatchLossFn loss) {
  if (!loss) throw std::invalid_argument("Task::batch_loss: the loss function is empty");
  classifies_ = false;
  loss_ = std::move(loss);
  if (!metrics_chosen_) metrics_.clear();
  return *this;
}

Task& Task::inputs(std::vector<std::string> names) {
  if (names.empty() || names.size() > 4)
    throw std::invalid_argument(fmt::format("Task::inputs: a forward() takes 1 to 4 batch tensors, not {}",
                                            names.size()));
  inputs_ = std::move(names);
  return *this;
}

Task& Task::metrics(Metrics metrics) {
  for (const auto& metric : metrics)
    if (!metric) throw std::invalid_argument("Task::metrics: a metric is null");
  metrics_ = std::move(metrics);
  metrics_chosen_ = true;  // the user's choice: a later loss() keeps it
  return *this;
}

torch::Tensor Task::forward(torch::nn::AnyModule& model, const data::Batch& batch, torch::Device device) const {
  auto input = [&](size_t i) { return batch.at(inputs_[i]).to(device, /*non_blocking=*/true); };
  switch (inputs_.size()) {
    case 1: return model.forward(input(0));
    case 2: return model.forward(input(0), input(1));
    case 3: return model.forward(input(0), input(1), input(2));
    default: return model.forward(input(0), input(1), input(2), input(3));
  }
}

torch::Tensor Task::loss(const torch::Tensor& output, const data::Batch& batch) const { return loss_(output, batch); }

trainer::Stats Task::measure(const torch::Tensor& output, const data::Batch& batch, const torch::Tensor& loss) const {
  trainer::Stats stats;
  stats.samples = batch.size();
  if (loss.device().is_cpu()) {
    // Nothing to synchronise on the CPU: read each value where it is, which
    // costs a few tensor operations less per step than gathering them.
    stats.loss_sum = loss.item<double>() * double(stats.samples);
    for (const auto& metric : metrics_) {
      const auto sums = metric->sums(output, batch).to(torch::kFloat64).contiguous();
      stats.metric_sums.insert(stats.metric_sums.end(), sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
    }
    return stats;
  }
  std::vector<torch::Tensor> parts{loss.detach().to(torch::kFloat64).reshape({1})};
  for (const auto& metric : metrics_) parts.push_back(metric->sums(output, batch).to(loss.device()).reshape(-1));
  const auto values = torch::cat(parts).cpu();  // one copy back, one synchronisation
  const auto* value = values.data_ptr<double>();
  stats.loss_sum = value[0] * double(stats.samples);
  stats.metric_sums.assign(value + 1, value + values.numel());
  return stats;
}

int64_t Task::metric_state_size() const {
  int64_t size = 0;
  for (const auto& metric : metrics_) size += metric->state_size();
  return size;
}

trainer::Stats Task::new_stats() const {
  trainer::Stats stats;
  stats.metric_sums.assign(size_t(metric_state_size()), 0.0);
  return stats;
}

std::vector<std::pair<std::string, double>> Task::metric_values(const trainer::Stats& stats) const {
  std::vector<std::pair<std::string, double>> values;
  size_t offset = 0;
  for (const auto& metric : metrics_) {
    const auto size = size_t(metric->state_size());
    std::vector<double> sums(size, 0.0);
    for (size_t i = 0; i < size && offset + i < stats.metric_sums.size(); ++i) sums[i] = stats.metric_sums[offset + i];
    values.emplace_back(metric->name(), metric->compute(sums));
    offset += size;
  }
  return values;
}

}  // namespace cohort::task
