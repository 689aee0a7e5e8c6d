#include "cohort/text/bag.h"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

namespace cohort::text {
namespace {

void check_padded(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  if (tokens.dim() != 2 || lengths.dim() != 1 || lengths.size(0) != tokens.size(0))
    throw std::invalid_argument(fmt::format(
        "text batch: token ids must be [N, L] and lengths [N], not [{}] and [{}]", fmt::join(tokens.sizes(), ", "),
        fmt::join(lengths.sizes(), ", ")));
  if (lengths.numel() == 0) return;
  const auto [low, high] = torch::aminmax(lengths);
  if (low.item<int64_t>() < 0 || high.item<int64_t>() > tokens.size(1))
    throw std::invalid_argument(fmt::format("text batch: lengths must be within 0..{} (the padded length), not {}..{}",
                                            tokens.size(1), low.item<int64_t>(), high.item<int64_t>()));
}

}  // namespace

TokenBag to_bag(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  check_padded(tokens, lengths);
  const auto counts = lengths.to(tokens.device(), torch::kInt64);
  const auto positions = torch::arange(tokens.size(1), counts.options());
  const auto valid = positions.unsqueeze(0) < counts.unsqueeze(1);
  TokenBag bag;
  bag.ids = tokens.masked_select(valid);  // row by row: each text's ids stay together and in order
  bag.offsets = counts.cumsum(0) - counts;  // where each text starts: the lengths before it
  return bag;
}

torch::Tensor lengths_or_count(const torch::Tensor& tokens, const torch::Tensor& lengths, int64_t pad_index) {
  if (lengths.defined()) return lengths;
  if (pad_index < 0) return torch::full({tokens.size(0)}, tokens.size(1), tokens.options().dtype(torch::kInt64));
  return tokens.ne(pad_index).sum(1).clamp_min(1);
}

}  // namespace cohort::text
