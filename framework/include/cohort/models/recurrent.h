#pragma once
// LSTM and GRU text classifiers: word embeddings, a (bi)directional recurrent
// network run on packed sequences, so that padding never enters it, and a
// linear layer on the last valid hidden state of each direction.

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include "cohort/models/staged.h"

namespace cohort::models {

enum class RecurrentCell { kLstm, kGru };

struct RecurrentClassifierOptions {
  RecurrentClassifierOptions(int64_t vocab_size, int64_t num_classes)
      : vocab_size_(vocab_size), num_classes_(num_classes) {}
  /// Features of the last hidden state(s): hidden, twice that when bidirectional.
  int64_t features() const { return bidirectional_ ? 2 * hidden_ : hidden_; }
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(RecurrentCell, cell) = RecurrentCell::kLstm;
  TORCH_ARG(int64_t, embedding_dim) = 64;
  /// Hidden size of each direction.
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, layers) = 1;
  TORCH_ARG(bool, bidirectional) = false;
  /// Dropout probability between recurrent layers and before the classifier.
  TORCH_ARG(double, dropout) = 0.0;
  /// The id that pads a text: its embedding is zero and not trained.
  TORCH_ARG(int64_t, pad_index) = 1;
};

/// Token ids [N, L] and optional lengths [N] to the last valid hidden state
/// of the last layer, directions concatenated: [N, options.features()].
class RecurrentEncoderImpl : public torch::nn::Cloneable<RecurrentEncoderImpl> {
 public:
  explicit RecurrentEncoderImpl(RecurrentClassifierOptions options);
  void reset() override;
  /// Without lengths, each text ends at its first pad id (text::lengths_or_count).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});

  RecurrentClassifierOptions options;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  /// h_n of the network over the packed texts: [layers * directions, N, hidden].
  torch::Tensor final_states(const torch::nn::utils::rnn::PackedSequence& packed);

  torch::nn::Embedding embedding_{nullptr};
  torch::nn::LSTM lstm_{nullptr};  // one of the two, as options.cell() says
  torch::nn::GRU gru_{nullptr};
};
TORCH_MODULE(RecurrentEncoder);

class RecurrentClassifierImpl : public torch::nn::Cloneable<RecurrentClassifierImpl>, public Staged {
 public:
  explicit RecurrentClassifierImpl(RecurrentClassifierOptions options);
  void reset() override;
  /// Token ids [N, L] padded with pad_index, lengths [N]; returns logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths = {});
  /// encoder (ids [N, L] to [N, features]), dropout, classifier. The encoder
  /// is one layer: the packed sequences inside it cannot cross a stage boundary.
  torch::nn::Sequential layers() const override;

  RecurrentClassifierOptions options;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  RecurrentEncoder encoder_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(RecurrentClassifier);

}  // namespace cohort::models
