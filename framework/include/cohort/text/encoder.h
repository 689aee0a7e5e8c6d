#pragma once
// A tokenizer and a vocabulary together: what turns a text into the ids a
// model reads, the same way at training, on resume and in evaluation. It is
// saved as one JSON file (the run's vocabulary.json) and in checkpoints.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cohort/text/tokenizer.h"
#include "cohort/text/vocabulary.h"

namespace cohort::text {

/// What encoding a set of texts met: how many of their words the vocabulary
/// did not hold (each became "<unk>"), which ones, and how many texts were cut
/// or had no token at all.
struct EncodingStats {
  int64_t texts = 0;
  int64_t words = 0;
  int64_t unknown_words = 0;
  int64_t truncated_texts = 0;
  /// Texts without a single token: encoded as one "<unk>".
  int64_t empty_texts = 0;
  TokenCounts unknown_counts;

  /// unknown_words / words (0 without words).
  double oov_rate() const;
  /// The `count` unknown words seen most often, with their counts (ties by word).
  std::vector<std::pair<std::string, int64_t>> most_frequent_unknown(size_t count) const;
};

class TextEncoder {
 public:
  /// Encodes with `vocabulary`; with ngram_buckets > 0 bigrams are hashed into
  /// that many ids after the vocabulary's (fastText's trick), otherwise they
  /// are looked up in the vocabulary like words.
  TextEncoder(Tokenizer tokenizer, Vocabulary vocabulary, int64_t ngram_buckets = 0);

  /// Builds the vocabulary from `texts` (the training split only: what a model
  /// may learn from): their words, and their bigrams unless hashed.
  static TextEncoder fit(const std::vector<std::string>& texts, const TokenizerOptions& tokenizer,
                         const VocabularyOptions& vocabulary, int64_t ngram_buckets = 0);

  /// The ids of `text`: its words, then its bigrams; never empty (a text
  /// without tokens is one "<unk>"). Only the first `max_words` words count
  /// (0 = all). Adds what it met to `stats` when given.
  std::vector<int64_t> encode(const std::string& text, int64_t max_words = 0, EncodingStats* stats = nullptr) const;

  /// Ids run 0..size()-1: the vocabulary's, then the hash buckets.
  int64_t size() const { return vocabulary_.size() + ngram_buckets_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  int64_t ngram_buckets() const { return ngram_buckets_; }

  /// {"format", "tokenizer", "ngrams", "ngram_buckets", "words"}.
  nlohmann::json to_json() const;
  /// Reads what to_json() wrote; cohort::InputError naming `source` and what
  /// is wrong otherwise.
  static TextEncoder from_json(const nlohmann::json& json, const std::string& source);
  /// Writes to_json() to `path` atomically.
  void save(const std::string& path) const;
  /// Reads a file save() wrote; cohort::InputError naming it when it is missing or is not one.
  static TextEncoder load(const std::string& path);

  /// "" when `other` encodes every text alike, else what differs first (one phrase).
  std::string difference(const TextEncoder& other) const;

 private:
  int64_t bigram_id(const std::string& bigram) const;

  Tokenizer tokenizer_;
  Vocabulary vocabulary_;
  int64_t ngram_buckets_;
};

}  // namespace cohort::text
