#pragma once
// Datasets that hand out whole batches at once. Indexing a batch with one
// index_select is far cheaper than collating examples one by one; a dataset
// that only has examples one at a time still fits (ExampleDataset).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "cohort/data/batch.h"

namespace cohort::data {

/// Anything that can return the examples at a list of indices as one batch.
/// A dataset whose examples come one at a time derives from ExampleDataset
/// instead and gets get_batch() from get().
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// The examples at `indices` (an int64 CPU tensor), in that order.
  virtual Batch get_batch(const torch::Tensor& indices) const = 0;
  /// The shape of one input, e.g. {1, 28, 28}; empty when it varies or does
  /// not matter (the built-in models need it, a user's model may not).
  virtual std::vector<int64_t> sample_shape() const { return {}; }
  /// The number of classes the targets index; 0 for a task without classes
  /// (regression).
  virtual int64_t num_classes() const { return 0; }
  /// The names of the batch tensors a model of this data takes, in order:
  /// {"input"}, or e.g. {"input", "lengths"} for padded texts. A job's task
  /// passes these to the model's forward().
  virtual std::vector<std::string> input_names() const { return {Batch::kInput}; }
};

/// A dataset read one example at a time, like torch::data's: get(i) returns
/// example i as a batch of one example without the batch dimension (e.g.
/// {"input": {1, 28, 28}, "target": {}}); batches stack them. A dataset that
/// can build a batch at once (an index_select) should override get_batch().
class ExampleDataset : public Dataset {
 public:
  /// Example `index`: each tensor without its batch dimension.
  virtual Batch get(int64_t index) const = 0;
  /// Stacks get(i) for each index; every example needs the same tensors and shapes.
  Batch get_batch(const torch::Tensor& indices) const override;
};

/// A dataset held in memory as named tensors whose first dimension is the
/// example: {"input", "target"} for the common case, any number of tensors
/// otherwise (e.g. {"left", "right", "target"} for a two-input model).
class TensorDataset : public Dataset {
 public:
  /// Inputs and targets; `num_classes` 0 for a task without classes.
  TensorDataset(torch::Tensor data, torch::Tensor targets, int64_t num_classes = 0);
  /// Any number of named tensors (see Batch).
  explicit TensorDataset(std::map<std::string, torch::Tensor> tensors, int64_t num_classes = 0);

  int64_t size() const override { return tensors_.size(); }
  Batch get_batch(const torch::Tensor& indices) const override;
  std::vector<int64_t> sample_shape() const override;
  int64_t num_classes() const override { return num_classes_; }

  /// The examples at `indices`, as a new dataset (of the same kind: a derived
  /// dataset that keeps more than its tensors overrides this).
  virtual std::shared_ptr<TensorDataset> subset(const torch::Tensor& indices) const;
  const torch::Tensor& data() const { return tensors_.data; }
  const torch::Tensor& targets() const { return tensors_.target; }
  /// Every example, as one batch.
  const Batch& tensors() const { return tensors_; }

 private:
  Batch tensors_;
  int64_t num_classes_;
};

/// The indices split_validation() keeps and holds out of `n` examples:
/// {train, validation} (int64 tensors; validation is empty when fraction is 0).
std::pair<torch::Tensor, torch::Tensor> validation_indices(int64_t n, double fraction, uint64_t seed);

/// Splits off a random `fraction` of `dataset` (chosen by `seed`) as a
/// validation set. Returns {train, validation}; validation is null when
/// fraction is 0.
std::pair<std::shared_ptr<TensorDataset>, std::shared_ptr<TensorDataset>> split_validation(
    const TensorDataset& dataset, double fraction, uint64_t seed);

/// Throws cohort::InputError naming `source`, the first example whose target
/// is outside 0..num_classes-1 and its value, so a bad label is refused at load
/// and not inside cross_entropy (or as a device-side assert) at some step.
void check_class_targets(const torch::Tensor& targets, int64_t num_classes, const std::string& source);

/// A permutation of 0..n-1 fixed by `seed`, the same on every platform.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

}  // namespace cohort::data
