#pragma once
// What a model is trained to do, apart from how the step runs: which of a
// batch's tensors its forward() takes, the loss, and the metrics. Strategies
// run a step with it; the Trainer reports its metrics.
//
//   Task()                                  // cross entropy on "input", accuracy
//   Task(task::huber_loss).metrics({task::r2_score(), task::mean_squared_error()})
//   Task().inputs({"left", "right"})        // forward(left, right)

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/nn/modules/container/any.h>

#include "cohort/data/batch.h"
#include "cohort/task/metric.h"
#include "cohort/trainer/stats.h"

namespace cohort::task {

/// A loss of the output against the batch's "target", reduced to the batch mean.
using LossFn = std::function<torch::Tensor(const torch::Tensor& output, const torch::Tensor& target)>;
/// A loss that sees the whole batch (a mask, per-example weights, lengths).
using BatchLossFn = std::function<torch::Tensor(const torch::Tensor& output, const data::Batch& batch)>;

class Task {
 public:
  /// Cross entropy on the batch's "input", with accuracy.
  Task();
  /// `loss` against "target": a function (or lambda) of (output, target).
  template <typename Loss, typename = std::enable_if_t<std::is_invocable_r_v<
                               torch::Tensor, const Loss&, const torch::Tensor&, const torch::Tensor&>>>
  Task(Loss loss) {  // NOLINT(google-explicit-constructor): a loss is a task
    this->loss(LossFn(std::move(loss)));
  }

  /// The loss of (output, target). Cross entropy (cohort::task::cross_entropy)
  /// keeps accuracy as the default metric; any other loss has none unless
  /// metrics() sets them.
  Task& loss(LossFn loss);
  /// A loss of (output, whole batch); the default metrics are then none.
  Task& batch_loss(BatchLossFn loss);
  /// The names of the batch tensors forward() takes, in order (1 to 4); default {"input"}.
  Task& inputs(std::vector<std::string> names);
  /// The metrics reported beside the loss (replacing the defaults).
  Task& metrics(Metrics metrics);

  const std::vector<std::string>& inputs() const { return inputs_; }
  const Metrics& metrics() const { return metrics_; }
  /// Whether the loss is cross entropy over class indices (a classification).
  bool classifies() const { return classifies_; }

  /// Runs `model` on the batch's inputs (each moved to `device`).
  torch::Tensor forward(torch::nn::AnyModule& model, const data::Batch& batch, torch::Device device) const;
  /// The loss of `output` on `batch` (targets moved to the output's device).
  torch::Tensor loss(const torch::Tensor& output, const data::Batch& batch) const;
  /// The statistics of one batch: its loss (mean) times its size and every
  /// metric's sums, read back with one device-to-host copy.
  trainer::Stats measure(const torch::Tensor& output, const data::Batch& batch, const torch::Tensor& loss) const;
  /// Empty statistics with room for every metric's state.
  trainer::Stats new_stats() const;
  /// How many values the statistics' metric sums hold.
  int64_t metric_state_size() const;
  /// Each metric's name and value from summed statistics.
  std::vector<std::pair<std::string, double>> metric_values(const trainer::Stats& stats) const;

 private:
  std::vector<std::string> inputs_{data::Batch::kInput};
  BatchLossFn loss_;
  Metrics metrics_;
  bool classifies_ = true;
  bool metrics_chosen_ = false;
};

}  // namespace cohort::task
