#include "cohort/models/transformer.h"

#include <torch/torch.h>

#include "cohort/text/bag.h"

namespace cohort::models {

TransformerEncoderPoolImpl::TransformerEncoderPoolImpl(TransformerClassifierOptions options_)
    : options(std::move(options_)) {
  reset();
}

void TransformerEncoderPoolImpl::reset() {
  auto token_options = torch::nn::EmbeddingOptions(options.vocab_size(), options.embedding_dim());
  if (options.pad_index() >= 0) token_options.padding_idx(options.pad_index());
  tokens_ = register_module("tokens", torch::nn::Embedding(token_options));
  positions_ = register_module("positions", torch::nn::Embedding(options.max_length(), options.embedding_dim()));
  const auto layer = torch::nn::TransformerEncoderLayerOptions(options.embedding_dim(), options.heads())
                         .dim_feedforward(options.feedforward())
                         .dropout(options.dropout());
  encoder_ = register_module("encoder", torch::nn::TransformerEncoder(
                                            torch::nn::TransformerEncoderOptions(layer, options.layers())));
}

torch::Tensor TransformerEncoderPoolImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  const auto length = std::min(tokens.size(1), options.max_length());
  const auto ids = tokens.narrow(1, 0, length);
  // At least one valid position: attention over no key at all would be NaN.
  const auto valid_lengths = text::lengths_or_count(tokens, lengths, options.pad_index()).clamp(1, length);
  const auto positions = torch::arange(length, ids.options());
  const auto valid = positions.unsqueeze(0) < valid_lengths.to(ids.device()).unsqueeze(1);  // [N, L]
  // LibTorch's encoder layers take [L, N, E]; the mask hides padded keys, so
  // a valid position's output never depends on padding.
  const auto embedded = tokens_->forward(ids) + positions_->forward(positions).unsqueeze(0);
  const auto encoded = encoder_->forward(embedded.transpose(0, 1), /*src_mask=*/{},
                                         /*src_key_padding_mask=*/valid.logical_not())
                           .transpose(0, 1);
  const auto weights = valid.to(encoded.scalar_type()).unsqueeze(2);
  return (encoded * weights).sum(1) / weights.sum(1);
}

TransformerClassifierImpl::TransformerClassifierImpl(TransformerClassifierOptions options_)
    : options(std::move(options_)) {
  reset();
}

void TransformerClassifierImpl::reset() {
  encoder_ = register_module("encoder", TransformerEncoderPool(options));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout()));
  classifier_ = register_module("classifier", torch::nn::Linear(options.embedding_dim(), options.num_classes()));
}

torch::Tensor TransformerClassifierImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  return classifier_->forward(dropout_->forward(encoder_->forward(tokens, lengths)));
}

torch::nn::Sequential TransformerClassifierImpl::layers() const {
  return torch::nn::Sequential(encoder_, dropout_, classifier_);
}

}  // namespace cohort::models
