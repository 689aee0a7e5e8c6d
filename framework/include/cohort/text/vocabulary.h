#pragma once
// Words to ids. Id 0 is "<unk>" (every word the vocabulary does not hold),
// id 1 is "<pad>" (what fills a batch's shorter texts), then the words of
// the training texts by descending count, ties by the word itself, so the
// same texts always give the same ids.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/arg.h>

namespace cohort::text {

struct VocabularyOptions {
  /// The fewest times a token must occur in the training texts to be kept.
  TORCH_ARG(int64_t, min_freq) = 1;
  /// The most tokens kept besides the two specials, the most frequent first (0 = all).
  TORCH_ARG(int64_t, max_size) = 0;
};

/// How often each token occurs.
using TokenCounts = std::unordered_map<std::string, int64_t>;

class Vocabulary {
 public:
  static constexpr int64_t kUnknown = 0;
  static constexpr int64_t kPadding = 1;
  static constexpr const char* kUnknownToken = "<unk>";
  static constexpr const char* kPaddingToken = "<pad>";

  /// The specials, then every token of `counts` seen min_freq times or more,
  /// most frequent first (ties by the token), at most max_size of them.
  static Vocabulary build(const TokenCounts& counts, const VocabularyOptions& options = {});

  /// The two specials only.
  Vocabulary();
  /// Ids in the order of `words`, which must start with "<unk>", "<pad>" and
  /// hold no token twice (std::invalid_argument otherwise).
  explicit Vocabulary(std::vector<std::string> words);

  /// Ids run 0..size()-1.
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  /// The id of `token`; kUnknown when the vocabulary does not hold it.
  int64_t id(const std::string& token) const;
  bool contains(const std::string& token) const { return ids_.count(token) != 0; }
  /// The token of id `id` (std::out_of_range outside 0..size()-1).
  const std::string& token(int64_t id) const { return words_.at(static_cast<size_t>(id)); }
  /// Every token, in id order.
  const std::vector<std::string>& words() const { return words_; }

  bool operator==(const Vocabulary& other) const { return words_ == other.words_; }
  bool operator!=(const Vocabulary& other) const { return !(*this == other); }

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace cohort::text
