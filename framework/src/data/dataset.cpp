#include "cohort/data/dataset.h"

#include <numeric>
#include <random>

#include <torch/torch.h>

namespace cohort::data {

TensorDataset::TensorDataset(torch::Tensor data, torch::Tensor targets, int64_t num_classes)
    : data_(std::move(data)), targets_(std::move(targets)), num_classes_(num_classes) {
  TORCH_CHECK(data_.size(0) == targets_.size(0), "a TensorDataset needs as many targets (", targets_.size(0),
              ") as examples (", data_.size(0), ")");
}

Batch TensorDataset::get_batch(const torch::Tensor& indices) const {
  return Batch{data_.index_select(0, indices), targets_.index_select(0, indices)};
}

std::vector<int64_t> TensorDataset::sample_shape() const {
  const auto sizes = data_.sizes();
  return std::vector<int64_t>(sizes.begin() + 1, sizes.end());
}

std::shared_ptr<TensorDataset> TensorDataset::subset(const torch::Tensor& indices) const {
  auto batch = get_batch(indices);
  return std::make_shared<TensorDataset>(batch.data, batch.target, num_classes_);
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

std::pair<std::shared_ptr<TensorDataset>, std::shared_ptr<TensorDataset>> split_validation(
    const TensorDataset& dataset, double fraction, uint64_t seed) {
  const auto n = dataset.size();
  const auto held_out = static_cast<int64_t>(static_cast<double>(n) * fraction);
  if (held_out == 0) return {std::make_shared<TensorDataset>(dataset), nullptr};
  auto order = torch::tensor(seeded_permutation(n, seed), torch::kInt64);
  return {dataset.subset(order.slice(0, held_out)), dataset.subset(order.slice(0, 0, held_out))};
}

}  // namespace cohort::data
