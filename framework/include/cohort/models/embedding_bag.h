#pragma once
// fastText-style text classifier: the mean of a text's word embeddings (one
// torch::nn::EmbeddingBag over the text's ids, padding left out), dropout,
// then one linear layer. PyTorch's AG_News tutorial model.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "cohort/models/staged.h"

namespace cohort::models {

struct EmbeddingBagClassifierOptions {
  EmbeddingBagClassifierOptions(int64_t vocab_size, int64_t num_classes)
      : vocab_size_(vocab_size), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, embedding_dim) = 64;
  /// Dropout probability on the mean embedding (0 = none).
  TORCH_ARG(double, dropout) = 0.0;
  /// The id that pads a text; only used when the lengths are not given.
  TORCH_ARG(int64_t, pad_index) = 1;
};

/// The mean embedding of each text: token ids [N, L] and optional lengths [N]
/// to features [N, embedding_dim]. An empty text's mean is zeros.
class TokenBagImpl : public torch::nn::Cloneable<TokenBagImpl> {
 public:
  TokenBagImpl(int64_t vocab_size, int64_t embedding_dim, int64_t pad_index);
  void reset() override;
  /// Without lengths, each text ends at its first pad id (text::lengths_or_count).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});

  torch::nn::EmbeddingBag embedding{nullptr};

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  int64_t vocab_size_, embedding_dim_, pad_index_;
};
TORCH_MODULE(TokenBag);

class EmbeddingBagClassifierImpl : public torch::nn::Cloneable<EmbeddingBagClassifierImpl>, public Staged {
 public:
  explicit EmbeddingBagClassifierImpl(EmbeddingBagClassifierOptions options);
  /// Builds the layers, initialised as the AG_News tutorial does: embeddings
  /// and classifier weights uniform in ±0.5, classifier bias zero.
  void reset() override;
  /// Token ids [N, L] padded with pad_index, lengths [N]; returns logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});
  /// bag (ids [N, L] to [N, embedding_dim]), dropout, classifier: the layers
  /// model_parallel and pipeline cut; they pass the token ids alone.
  torch::nn::Sequential layers() const override;

  EmbeddingBagClassifierOptions options;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  TokenBag bag_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(EmbeddingBagClassifier);

}  // namespace cohort::models
