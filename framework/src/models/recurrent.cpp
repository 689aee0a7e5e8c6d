#include "cohort/models/recurrent.h"

#include <torch/torch.h>

#include "cohort/text/bag.h"

namespace cohort::models {

RecurrentEncoderImpl::RecurrentEncoderImpl(RecurrentClassifierOptions options_) : options(std::move(options_)) {
  reset();
}

void RecurrentEncoderImpl::reset() {
  auto embedding = torch::nn::EmbeddingOptions(options.vocab_size(), options.embedding_dim());
  if (options.pad_index() >= 0) embedding.padding_idx(options.pad_index());
  embedding_ = register_module("embedding", torch::nn::Embedding(embedding));
  // PyTorch warns about (and ignores) dropout with one layer: there is no layer after it.
  const double between_layers = options.layers() > 1 ? options.dropout() : 0.0;
  if (options.cell() == RecurrentCell::kLstm) {
    lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(options.embedding_dim(), options.hidden())
                                                        .num_layers(options.layers())
                                                        .bidirectional(options.bidirectional())
                                                        .dropout(between_layers)
                                                        .batch_first(true)));
  } else {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(options.embedding_dim(), options.hidden())
                                                     .num_layers(options.layers())
                                                     .bidirectional(options.bidirectional())
                                                     .dropout(between_layers)
                                                     .batch_first(true)));
  }
}

torch::Tensor RecurrentEncoderImpl::final_states(const torch::nn::utils::rnn::PackedSequence& packed) {
  if (lstm_) return std::get<0>(std::get<1>(lstm_->forward_with_packed_input(packed)));
  return std::get<1>(gru_->forward_with_packed_input(packed));
}

torch::Tensor RecurrentEncoderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  // Packed, each text runs exactly its own length: a padded position is never
  // a step of the network, and h_n holds each text's last valid state (in the
  // batch's order again: enforce_sorted=false undoes its sort).
  const auto valid = text::lengths_or_count(tokens, lengths, options.pad_index());
  const auto packed = torch::nn::utils::rnn::pack_padded_sequence(
      embedding_->forward(tokens), valid.to(torch::kCPU, torch::kInt64), /*batch_first=*/true,
      /*enforce_sorted=*/false);
  const auto states = final_states(packed);
  // The last layer's states: forward direction at -2, backward at -1 when bidirectional.
  if (!options.bidirectional()) return states[-1];
  return torch::cat({states[-2], states[-1]}, 1);
}

RecurrentClassifierImpl::RecurrentClassifierImpl(RecurrentClassifierOptions options_) : options(std::move(options_)) {
  reset();
}

void RecurrentClassifierImpl::reset() {
  encoder_ = register_module("encoder", RecurrentEncoder(options));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout()));
  classifier_ = register_module("classifier", torch::nn::Linear(options.features(), options.num_classes()));
}

torch::Tensor RecurrentClassifierImpl::forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  return classifier_->forward(dropout_->forward(encoder_->forward(tokens, lengths)));
}

torch::nn::Sequential RecurrentClassifierImpl::layers() const {
  return torch::nn::Sequential(encoder_, dropout_, classifier_);
}

}  // namespace cohort::models
