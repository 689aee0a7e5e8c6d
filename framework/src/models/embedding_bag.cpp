#include "cohort/models/embedding_bag.h"

#include <torch/torch.h>

#include "cohort/text/bag.h"

namespace cohort::models {

TokenBagImpl::TokenBagImpl(int64_t vocab_size, int64_t embedding_dim, int64_t pad_index)
    : vocab_size_(vocab_size), embedding_dim_(embedding_dim), pad_index_(pad_index) {
  reset();
}

void TokenBagImpl::reset() {
  const auto options = torch::nn::EmbeddingBagOptions(vocab_size_, embedding_dim_).mode(torch::kMean);
  embedding = register_module("embedding", torch::nn::EmbeddingBag(options));
}

torch::Tensor TokenBagImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  // The bag layout holds each text's own ids only, so padding is never in a mean.
  const auto bag = text::to_bag(tokens, text::lengths_or_count(tokens, lengths, pad_index_));
  return embedding->forward(bag.ids, bag.offsets);
}

EmbeddingBagClassifierImpl::EmbeddingBagClassifierImpl(EmbeddingBagClassifierOptions options_)
    : options(std::move(options_)) {
  reset();
}

void EmbeddingBagClassifierImpl::reset() {
  bag_ = register_module("bag", TokenBag(options.vocab_size(), options.embedding_dim(), options.pad_index()));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout()));
  classifier_ = register_module("classifier", torch::nn::Linear(options.embedding_dim(), options.num_classes()));
  constexpr double kInitRange = 0.5;
  torch::NoGradGuard no_grad;
  bag_->embedding->weight.uniform_(-kInitRange, kInitRange);
  classifier_->weight.uniform_(-kInitRange, kInitRange);
  classifier_->bias.zero_();
}

torch::Tensor EmbeddingBagClassifierImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  return classifier_->forward(dropout_->forward(bag_->forward(tokens, lengths)));
}

torch::nn::Sequential EmbeddingBagClassifierImpl::layers() const {
  return torch::nn::Sequential(bag_, dropout_, classifier_);
}

}  // namespace cohort::models
