#pragma once
// Metrics whose state is a few sums. Sums add over micro-batches, batches and
// data-parallel ranks in any order, so a metric under ddp is exactly (to
// rounding) what one process would compute over the whole data set: the
// Trainer sums the states of every rank with one collective (float64) and
// only then computes the metric.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "cohort/data/batch.h"

namespace cohort::task {

class Metric {
 public:
  virtual ~Metric() = default;

  /// The name in records: "r2" is written as "train_r2" and "val_r2". Letters,
  /// digits and '_' only, so that a sweep's objective can name it.
  virtual std::string name() const = 0;
  /// How many sums make the state.
  virtual int64_t state_size() const = 0;
  /// What one batch adds to the state: a float64 tensor of state_size()
  /// values, from the model's `output` (detached) and the batch.
  virtual torch::Tensor sums(const torch::Tensor& output, const data::Batch& batch) const = 0;
  /// The metric from the state summed over every batch (and rank); NaN when
  /// it is undefined (no example).
  virtual double compute(const std::vector<double>& sums) const = 0;
};

using Metrics = std::vector<std::shared_ptr<Metric>>;

/// A per-example value, averaged over the examples: `per_example(output,
/// batch)` returns one value per example ({N}) or per element ({N, ...}, all
/// averaged). E.g. mean absolute error:
///   MeanMetric("mae", [](auto& out, auto& b) { return (out - b.target).abs(); })
class MeanMetric : public Metric {
 public:
  using PerExample = std::function<torch::Tensor(const torch::Tensor& output, const data::Batch& batch)>;
  MeanMetric(std::string name, PerExample per_example);

  std::string name() const override { return name_; }
  int64_t state_size() const override { return 2; }  // sum of the values, their count
  torch::Tensor sums(const torch::Tensor& output, const data::Batch& batch) const override;
  double compute(const std::vector<double>& sums) const override;

 private:
  std::string name_;
  PerExample per_example_;
};

/// Whether `name` may name a metric (non-empty; letters, digits, '_').
bool valid_metric_name(const std::string& name);

}  // namespace cohort::task
