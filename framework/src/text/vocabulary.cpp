#include "cohort/text/vocabulary.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace cohort::text {

Vocabulary Vocabulary::build(const TokenCounts& counts, const VocabularyOptions& options) {
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [token, count] : counts)
    if (count >= options.min_freq() && token != kUnknownToken && token != kPaddingToken)
      kept.emplace_back(token, count);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (options.max_size() > 0 && kept.size() > static_cast<size_t>(options.max_size()))
    kept.resize(static_cast<size_t>(options.max_size()));
  std::vector<std::string> words{kUnknownToken, kPaddingToken};
  for (auto& entry : kept) words.push_back(std::move(entry.first));
  return Vocabulary(std::move(words));
}

Vocabulary::Vocabulary() : Vocabulary(std::vector<std::string>{kUnknownToken, kPaddingToken}) {}

Vocabulary::Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  if (words_.size() < 2 || words_[kUnknown] != kUnknownToken || words_[kPadding] != kPaddingToken)
    throw std::invalid_argument(
        fmt::format("a vocabulary starts with \"{}\" (id 0) and \"{}\" (id 1)", kUnknownToken, kPaddingToken));
  ids_.reserve(words_.size());
  for (size_t i = 0; i < words_.size(); ++i)
    if (!ids_.emplace(words_[i], static_cast<int64_t>(i)).second)
      throw std::invalid_argument(
          fmt::format("the vocabulary holds \"{}\" twice (ids {} and {})", words_[i], ids_.at(words_[i]), i));
}

int64_t Vocabulary::id(const std::string& token) const {
  const auto found = ids_.find(token);
  return found == ids_.end() ? kUnknown : found->second;
}

}  // namespace cohort::text
