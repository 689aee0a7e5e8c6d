#pragma once
// Datasets that hand out whole batches at once. Indexing a batch with one
// index_select is far cheaper than collating examples one by one.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace cohort::data {

/// A batch of inputs and their targets (class indices for classification).
struct Batch {
  torch::Tensor data;
  torch::Tensor target;
  int64_t size() const { return data.defined() ? data.size(0) : 0; }
};

/// Anything that can return the examples at a list of indices as one batch.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// The examples at `indices` (an int64 CPU tensor), in that order.
  virtual Batch get_batch(const torch::Tensor& indices) const = 0;
  /// The shape of one input, e.g. {1, 28, 28}.
  virtual std::vector<int64_t> sample_shape() const = 0;
  /// The number of classes the targets index.
  virtual int64_t num_classes() const = 0;
};

/// A dataset held in memory as two tensors whose first dimension is the example.
class TensorDataset : public Dataset {
 public:
  TensorDataset(torch::Tensor data, torch::Tensor targets, int64_t num_classes);

  int64_t size() const override { return data_.size(0); }
  Batch get_batch(const torch::Tensor& indices) const override;
  std::vector<int64_t> sample_shape() const override;
  int64_t num_classes() const override { return num_classes_; }

  /// The examples at `indices`, as a new dataset.
  std::shared_ptr<TensorDataset> subset(const torch::Tensor& indices) const;
  const torch::Tensor& data() const { return data_; }
  const torch::Tensor& targets() const { return targets_; }

 private:
  torch::Tensor data_;
  torch::Tensor targets_;
  int64_t num_classes_;
};

/// Splits off a random `fraction` of `dataset` (chosen by `seed`) as a
/// validation set. Returns {train, validation}; validation is null when
/// fraction is 0.
std::pair<std::shared_ptr<TensorDataset>, std::shared_ptr<TensorDataset>> split_validation(
    const TensorDataset& dataset, double fraction, uint64_t seed);

/// A permutation of 0..n-1 fixed by `seed`, the same on every platform.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

}  // namespace cohort::data
