#pragma once
// Text classification data from CSV files in AG_News's format (the
// `text_csv` dataset): a training file (a seeded share of it held out for
// validation) and a test file, tokenized, with a vocabulary built from the
// training split only. See docs/text.md.
//
// Batches: "input" int64 {N, L}, each text's ids padded with "<pad>" (id 1)
// to the longest text of that batch; "lengths" int64 {N}, each >= 1;
// "target" int64 {N}, classes 0..C-1. Cutting a batch along its first
// dimension (micro-batches, a ddp shard) keeps it exact; a cut's "input" may
// then carry more padding than its own longest text needs.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/data/dataset.h"
#include "cohort/data/registry.h"
#include "cohort/text/csv_reader.h"
#include "cohort/text/encoder.h"

namespace cohort::data {

/// Where the files are and how their texts become ids.
struct TextCsvOptions {
  TORCH_ARG(std::string, train_file) = "data/fortunes/train.csv";
  TORCH_ARG(std::string, test_file) = "data/fortunes/test.csv";
  TORCH_ARG(text::CsvOptions, csv) = text::CsvOptions();
  TORCH_ARG(text::TokenizerOptions, tokenizer) = text::TokenizerOptions();
  TORCH_ARG(text::VocabularyOptions, vocabulary) = text::VocabularyOptions();
  /// Bigrams hashed into this many ids after the vocabulary's (0 = bigrams in the vocabulary).
  TORCH_ARG(int64_t, ngram_buckets) = 0;
  /// A vocabulary.json (a run's, or one saved by TextEncoder::save) used
  /// instead of building one; "" = build from the training split.
  TORCH_ARG(std::string, vocabulary_file) = "";
  /// Words kept per text, the first ones (0 = all).
  TORCH_ARG(int64_t, max_length) = 0;
  /// Share of the training file held out for validation, chosen by the seed.
  TORCH_ARG(double, validation_fraction) = 0.1;
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Where a split's texts came from and what encoding them met.
struct TextSplitReport {
  std::string split;   // "train", "validation" or "test"
  std::string source;  // the CSV file
  text::EncodingStats stats;
  /// Malformed rows of `source` skipped (data.on_bad_row "skip"), and the first one's sentence.
  int64_t skipped_rows = 0;
  std::string first_skipped;
};

/// Encoded texts and their classes. Every text's ids lie in one flat tensor
/// shared by the dataset's subsets; a batch is padded as it is built.
class TextDataset : public TensorDataset {
 public:
  /// `encoded[i]` (never empty) are text i's ids under `encoder`, `labels[i]` its class 0..num_classes-1.
  TextDataset(const std::vector<std::vector<int64_t>>& encoded, const std::vector<int64_t>& labels, int64_t num_classes,
              std::shared_ptr<const text::TextEncoder> encoder, TextSplitReport report = {});

  /// {"input", "lengths", "target"} as the header says.
  Batch get_batch(const torch::Tensor& indices) const override;
  /// The texts at `indices`, sharing the ids (its report has no statistics).
  std::shared_ptr<TensorDataset> subset(const torch::Tensor& indices) const override;
  /// Text models take the padded ids and the lengths.
  std::vector<std::string> input_names() const override { return {Batch::kInput, kLengths}; }

  const text::TextEncoder& encoder() const { return *encoder_; }
  const std::shared_ptr<const text::TextEncoder>& shared_encoder() const { return encoder_; }
  const TextSplitReport& report() const { return report_; }

  static constexpr const char* kLengths = "lengths";

 private:
  struct FlatTexts;
  static FlatTexts flatten(const std::vector<std::vector<int64_t>>& encoded, const std::vector<int64_t>& labels);
  TextDataset(FlatTexts flat, int64_t num_classes, std::shared_ptr<const text::TextEncoder> encoder,
              TextSplitReport report);

  torch::Tensor ids_;  // every text's ids, one after the other
  std::shared_ptr<const text::TextEncoder> encoder_;
  TextSplitReport report_;
};

/// Reads, splits and encodes the two files. The vocabulary comes from the
/// training split (or vocabulary_file); a word it lacks becomes "<unk>" in
/// every split. Bad input (a file missing, empty, without rows, a malformed
/// row, a vocabulary file that does not fit the options) raises
/// cohort::InputError in one sentence; one about a config key starts with
/// the key ("data.vocabulary").
DataSplits load_text_csv(const TextCsvOptions& options);

/// The encoder `splits` were made with, when they are text (else null).
std::shared_ptr<const text::TextEncoder> text_encoder(const DataSplits& splits);

/// Log lines about text splits: the vocabulary, and per split its rows,
/// out-of-vocabulary rate, most frequent unknown words, cut, empty and
/// skipped texts. Empty for data that is not text.
std::vector<std::string> describe_text_splits(const DataSplits& splits);

}  // namespace cohort::data
