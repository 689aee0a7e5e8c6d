#pragma once
// A batch: named tensors whose first dimension is the example. Most models
// take one input and one target ("input" and "target", the members `data` and
// `target`); others add more by name (token lengths, a mask, a second image).
// Everything that cuts a batch (micro-batching, shrinking after running out
// of memory, data_parallel's chunks, the pipeline's micro-batches, a ddp
// shard) cuts every tensor of it alike, along the first dimension.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace cohort::data {

struct Batch {
  /// The names of the two tensors every batch may have as members.
  static constexpr const char* kInput = "input";
  static constexpr const char* kTarget = "target";

  Batch() = default;
  /// A batch of one input and its targets: `{inputs, targets}`.
  Batch(torch::Tensor input, torch::Tensor targets) : data(std::move(input)), target(std::move(targets)) {}
  /// A batch of named tensors; "input" and "target", when given, become
  /// `data` and `target`. std::invalid_argument when their first dimensions differ.
  explicit Batch(std::map<std::string, torch::Tensor> named);

  torch::Tensor data;    // "input"
  torch::Tensor target;  // "target" (class indices for classification)
  /// Further tensors by name, e.g. {"lengths", ...}, {"mask", ...}.
  std::map<std::string, torch::Tensor> extra;

  /// Examples in the batch: the first dimension of its tensors.
  int64_t size() const;
  /// Whether the batch has a (defined) tensor called `name`.
  bool has(const std::string& name) const;
  /// The tensor called `name`; std::invalid_argument naming the tensors the
  /// batch has when there is none.
  const torch::Tensor& at(const std::string& name) const;
  /// Every defined tensor, by name (including "input" and "target").
  std::vector<std::string> names() const;

  /// Sets (or replaces) the tensor called `name`; returns *this.
  Batch& set(const std::string& name, torch::Tensor tensor);

  /// Examples [begin, end) of every tensor (views, no copy).
  Batch slice(int64_t begin, int64_t end) const;
  /// The examples at `indices` (an int64 tensor) of every tensor.
  Batch index_select(const torch::Tensor& indices) const;
  /// Every tensor moved to `device`.
  Batch to(torch::Device device, bool non_blocking = false) const;
  /// Applies `transform` to every defined tensor; returns the new batch.
  template <typename F>
  Batch map(F&& transform) const {
    Batch result;
    if (data.defined()) result.data = transform(data);
    if (target.defined()) result.target = transform(target);
    for (const auto& [name, tensor] : extra)
      if (tensor.defined()) result.extra.emplace(name, transform(tensor));
    return result;
  }
};

}  // namespace cohort::data
