#include "cohort/strategies/stages.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "cohort/core/error.h"

namespace cohort::strategies {
namespace {

/// What a layer weighs when stages are balanced: its parameter count, and at
/// least 1 so that parameterless layers (activations, pooling) spread too.
std::vector<int64_t> layer_weights(const torch::nn::Sequential& layers) {
  std::vector<int64_t> weights;
  for (const auto& layer : *layers) {
    int64_t count = 0;
    for (const auto& parameter : layer.ptr()->parameters()) count += parameter.numel();
    weights.push_back(std::max<int64_t>(count, 1));
  }
  return weights;
}

void check_balance(const std::vector<int64_t>& balance, int64_t stages, int64_t layers) {
  if (static_cast<int64_t>(balance.size()) != stages)
    throw InputError(fmt::format("\"strategy.balance\" has {} entries but there are {} stages; give one layer count per stage.",
                                 balance.size(), stages));
  if (std::any_of(balance.begin(), balance.end(), [](int64_t count) { return count < 1; }))
    throw InputError(fmt::format("\"strategy.balance\" [{}] gives a stage no layers; every stage needs at least one.",
                                 fmt::join(balance, ", ")));
  const int64_t total = std::accumulate(balance.begin(), balance.end(), int64_t{0});
  if (total != layers)
    throw InputError(fmt::format("\"strategy.balance\" [{}] adds up to {} layers, but the model has {}.", fmt::join(balance, ", "),
                                 total, layers));
}

/// Cuts `weights` into `parts` consecutive non-empty runs whose largest sum is
/// as small as possible (dynamic programming over prefix sums; models have
/// tens of layers, so O(parts * n^2) is nothing).
std::vector<int64_t> min_max_partition(const std::vector<int64_t>& weights, int64_t parts) {
  const auto n = static_cast<int64_t>(weights.size());
  std::vector<int64_t> prefix(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + weights[i];
  constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max();
  // cost[p][i]: the best largest sum for the first i layers in p parts; cut[p][i]: where part p starts.
  std::vector<std::vector<int64_t>> cost(parts + 1, std::vector<int64_t>(n + 1, kInfinity));
  std::vector<std::vector<int64_t>> cut(parts + 1, std::vector<int64_t>(n + 1, 0));
  cost[0][0] = 0;
  for (int64_t p = 1; p <= parts; ++p) {
    for (int64_t i = p; i <= n; ++i) {
      for (int64_t start = p - 1; start < i; ++start) {
        if (cost[p - 1][start] == kInfinity) continue;
        const int64_t largest = std::max(cost[p - 1][start], prefix[i] - prefix[start]);
        if (largest < cost[p][i]) {
          cost[p][i] = largest;
          cut[p][i] = start;
        }
      }
    }
  }
  std::vector<int64_t> counts(parts);
  for (int64_t p = parts, end = n; p > 0; --p) {
    counts[p - 1] = end - cut[p][end];
    end = cut[p][end];
  }
  return counts;
}

}  // namespace

std::vector<int64_t> balance_stages(const torch::nn::Sequential& layers, int64_t stages,
                                    const std::vector<int64_t>& balance) {
  const auto count = static_cast<int64_t>(layers->size());
  if (stages < 1) throw InputError(fmt::format("a model cannot be cut into {} stages; it needs at least one.", stages));
  if (count < stages)
    throw InputError(fmt::format("the model has {} layers, too few for {} stages (each stage needs one).", count, stages));
  if (!balance.empty()) {
    check_balance(balance, stages, count);
    return balance;
  }
  return min_max_partition(layer_weights(layers), stages);
}

std::vector<torch::nn::Sequential> split_stages(const torch::nn::Sequential& layers,
                                                const std::vector<int64_t>& balance) {
  check_balance(balance, static_cast<int64_t>(balance.size()), static_cast<int64_t>(layers->size()));
  std::vector<torch::nn::Sequential> stages;
  auto next = layers->begin();
  for (const int64_t count : balance) {
    torch::nn::Sequential stage;
    for (int64_t i = 0; i < count; ++i) stage->push_back(*next++);
    stages.push_back(std::move(stage));
  }
  return stages;
}

}  // namespace cohort::strategies
