#pragma once
// A small transformer encoder for text classification: token plus learned
// position embeddings, encoder layers whose attention ignores padding (a key
// padding mask), the mean over each text's valid positions, a linear layer.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/transformer.h>
#include <torch/nn/pimpl.h>

#include "cohort/models/staged.h"

namespace cohort::models {

struct TransformerClassifierOptions {
  TransformerClassifierOptions(int64_t vocab_size, int64_t num_classes)
      : vocab_size_(vocab_size), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, num_classes);
  /// Width of the embeddings and of every layer; a multiple of heads.
  TORCH_ARG(int64_t, embedding_dim) = 64;
  TORCH_ARG(int64_t, heads) = 4;
  TORCH_ARG(int64_t, layers) = 2;
  /// Width of each layer's feed-forward block.
  TORCH_ARG(int64_t, feedforward) = 128;
  /// Positions that have an embedding; a longer text is cut to its first max_length tokens.
  TORCH_ARG(int64_t, max_length) = 256;
  /// Dropout probability inside the layers and before the classifier.
  TORCH_ARG(double, dropout) = 0.1;
  /// The id that pads a text: its embedding is zero and not trained.
  TORCH_ARG(int64_t, pad_index) = 1;
};

/// Token ids [N, L] and optional lengths [N] to the mean of the last layer's
/// outputs over each text's valid positions: [N, embedding_dim].
class TransformerEncoderPoolImpl : public torch::nn::Cloneable<TransformerEncoderPoolImpl> {
 public:
  explicit TransformerEncoderPoolImpl(TransformerClassifierOptions options);
  void reset() override;
  /// Without lengths, each text ends at its first pad id (text::lengths_or_count).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});

  TransformerClassifierOptions options;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  torch::nn::Embedding tokens_{nullptr};
  torch::nn::Embedding positions_{nullptr};
  torch::nn::TransformerEncoder encoder_{nullptr};
};
TORCH_MODULE(TransformerEncoderPool);

class TransformerClassifierImpl : public torch::nn::Cloneable<TransformerClassifierImpl>, public Staged {
 public:
  explicit TransformerClassifierImpl(TransformerClassifierOptions options);
  void reset() override;
  /// Token ids [N, L] padded with pad_index, lengths [N]; returns logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});
  /// encoder (ids [N, L] to [N, embedding_dim]), dropout, classifier. The
  /// encoder is one layer: its padding mask cannot cross a stage boundary.
  torch::nn::Sequential layers() const override;

  TransformerClassifierOptions options;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  TransformerEncoderPool encoder_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(TransformerClassifier);

}  // namespace cohort::models
