#include "cohort/data/dataset.h"

#include <numeric>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "first_outside.h"

namespace cohort::data {

Batch ExampleDataset::get_batch(const torch::Tensor& indices) const {
  const auto count = indices.numel();
  const auto order = indices.to(torch::kInt64).contiguous();
  const auto* index = order.data_ptr<int64_t>();
  std::map<std::string, std::vector<torch::Tensor>> columns;
  for (int64_t i = 0; i < count; ++i) {
    const auto example = get(index[i]);
    for (const auto& name : example.names()) columns[name].push_back(example.at(name));
  }
  std::map<std::string, torch::Tensor> stacked;
  for (auto& [name, tensors] : columns) {
    if (int64_t(tensors.size()) != count)
      throw std::invalid_argument(fmt::format("ExampleDataset: tensor \"{}\" is missing from some examples; "
                                              "get(i) must return the same tensors for every example",
                                              name));
    stacked.emplace(name, torch::stack(tensors));
  }
  return Batch(std::move(stacked));
}

TensorDataset::TensorDataset(torch::Tensor data, torch::Tensor targets, int64_t num_classes)
    : TensorDataset(std::map<std::string, torch::Tensor>{{Batch::kInput, std::move(data)},
                                                        {Batch::kTarget, std::move(targets)}},
                    num_classes) {}

TensorDataset::TensorDataset(std::map<std::string, torch::Tensor> tensors, int64_t num_classes)
    : num_classes_(num_classes) {
  for (auto& [name, tensor] : tensors) {
    if (!tensor.defined() || tensor.dim() == 0)
      throw std::invalid_argument(fmt::format("TensorDataset: tensor \"{}\" needs the examples as its first "
                                              "dimension",
                                              name));
    if (!tensors_.names().empty() && tensor.size(0) != tensors_.size())
      throw std::invalid_argument(fmt::format("TensorDataset: tensor \"{}\" has {} examples, the others {}", name,
                                              tensor.size(0), tensors_.size()));
    tensors_.set(name, std::move(tensor));
  }
}

Batch TensorDataset::get_batch(const torch::Tensor& indices) const { return tensors_.index_select(indices); }

std::vector<int64_t> TensorDataset::sample_shape() const {
  if (!tensors_.data.defined()) return {};
  const auto sizes = tensors_.data.sizes();
  return std::vector<int64_t>(sizes.begin() + 1, sizes.end());
}

std::shared_ptr<TensorDataset> TensorDataset::subset(const torch::Tensor& indices) const {
  auto batch = get_batch(indices);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& name : batch.names()) tensors.emplace(name, batch.at(name));
  return std::make_shared<TensorDataset>(std::move(tensors), num_classes_);
}

namespace detail {

std::optional<std::pair<int64_t, int64_t>> first_outside(const torch::Tensor& values, int64_t low, int64_t high) {
  if (values.numel() == 0) return std::nullopt;
  const auto flat = values.to(torch::kCPU, torch::kLong).reshape({values.size(0), -1});
  const auto bad = (flat < low).logical_or(flat > high);
  const auto rows = bad.any(1).nonzero();
  if (rows.numel() == 0) return std::nullopt;
  const auto example = rows[0][0].item<int64_t>();
  const auto column = bad[example].nonzero()[0][0].item<int64_t>();
  return std::make_pair(example, flat[example][column].item<int64_t>());
}

}  // namespace detail

void check_class_targets(const torch::Tensor& targets, int64_t num_classes, const std::string& source) {
  if (num_classes <= 0 || !targets.defined()) return;
  // Flattened: each label counts as an example, as the message has always numbered them.
  const auto found = detail::first_outside(targets.flatten(), 0, num_classes - 1);
  if (!found) return;
  throw InputError(fmt::format("{}: example {} has label {}, outside the {} classes 0..{}.", source, found->first,
                               found->second, num_classes, num_classes - 1));
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  // Fisher-Yates over mt19937_64 directly: std::shuffle's use of the engine is
  // left to the standard library, and the order must not depend on it.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 engine(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(engine() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::pair<torch::Tensor, torch::Tensor> validation_indices(int64_t n, double fraction, uint64_t seed) {
  const auto held_out = static_cast<int64_t>(static_cast<double>(n) * fraction);
  if (held_out == 0) return {torch::arange(n, torch::kInt64), torch::empty({0}, torch::kInt64)};
  auto order = torch::tensor(seeded_permutation(n, seed), torch::kInt64);
  return {order.slice(0, held_out), order.slice(0, 0, held_out)};
}

std::pair<std::shared_ptr<TensorDataset>, std::shared_ptr<TensorDataset>> split_validation(
    const TensorDataset& dataset, double fraction, uint64_t seed) {
  const auto [kept, held_out] = validation_indices(dataset.size(), fraction, seed);
  // subset() even for all of it: a derived dataset stays what it is.
  return {dataset.subset(kept), held_out.numel() == 0 ? nullptr : dataset.subset(held_out)};
}

}  // namespace cohort::data
