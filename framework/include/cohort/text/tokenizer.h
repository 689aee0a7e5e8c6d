#pragma once
// Text to tokens: torchtext's `basic_english` (lower case, punctuation split
// off) or plain whitespace splitting, with fastText's optional bigrams.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>

namespace cohort::text {

enum class TokenizerKind { kBasicEnglish, kWhitespace };

/// "basic_english" or "whitespace"; std::invalid_argument for another name.
TokenizerKind parse_tokenizer_kind(const std::string& name);
std::string to_string(TokenizerKind kind);

struct TokenizerOptions {
  TORCH_ARG(TokenizerKind, kind) = TokenizerKind::kBasicEnglish;
  /// 1: words only; 2: each pair of neighbouring words too, as "w1 w2".
  TORCH_ARG(int64_t, ngrams) = 1;
};

/// A text's tokens: its words, then (with ngrams 2) its bigrams.
struct Tokens {
  std::vector<std::string> words;
  std::vector<std::string> bigrams;
  /// Whether words were cut off at the most words asked for.
  bool truncated = false;
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerOptions options = {});

  /// The words of `text`. basic_english: ASCII letters lower-cased; ' . , ( )
  /// ! ? become tokens of their own; " ; : and "<br />" are dropped; split at
  /// whitespace (as torchtext's get_tokenizer("basic_english")). Bytes past
  /// ASCII are kept as they are. whitespace: split at whitespace only.
  std::vector<std::string> words(const std::string& text) const;
  /// The first `max_words` of words() (all for 0), with their bigrams when ngrams is 2.
  Tokens tokenize(const std::string& text, int64_t max_words = 0) const;

  const TokenizerOptions& options() const { return options_; }

 private:
  TokenizerOptions options_;
};

}  // namespace cohort::text
