#pragma once
// Text batches in two layouts. Batches travel padded (token ids [N, L] padded
// to the longest text of the batch, and each text's length [N]) because every
// cut Cohort makes (micro-batches, out-of-memory shrinking, ddp shards) splits
// along the first dimension. Bag models (torch::nn::EmbeddingBag) want the
// other layout, one flat list of ids with the offset where each text starts;
// it is derived here, so padding never reaches a bag.
//
//   auto bag = cohort::text::to_bag(tokens, lengths);
//   auto means = embedding_bag->forward(bag.ids, bag.offsets);

#include <cstdint>

#include <torch/types.h>

namespace cohort::text {

/// The texts of a batch as one bag each: ids [sum of lengths] and offsets [N],
/// offsets[i] being where text i starts in ids (an empty text is an empty bag).
struct TokenBag {
  torch::Tensor ids;
  torch::Tensor offsets;
};

/// The first lengths[i] ids of each row of `tokens` (int64 [N, L]), in order,
/// with their offsets, on tokens' device. Positions at or past a text's length
/// are padding and left out. std::invalid_argument when the shapes do not
/// match or a length is outside 0..L.
TokenBag to_bag(const torch::Tensor& tokens, const torch::Tensor& lengths);

/// The lengths of the texts in `tokens` (int64 [N, L]): `lengths` itself when
/// it is defined, else the count of ids other than `pad_index` in each row
/// (the whole row when pad_index is negative), at least 1. Models take the
/// lengths as an optional second input so that the strategies that pass one
/// tensor from stage to stage (model_parallel, pipeline) can run them on the
/// token ids alone; padding is at the end of a row, so the count is the length.
torch::Tensor lengths_or_count(const torch::Tensor& tokens, const torch::Tensor& lengths, int64_t pad_index);

}  // namespace cohort::text
