#include "cohort/text/encoder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/core/files.h"

namespace cohort::text {
namespace {

constexpr const char* kFormat = "cohort-text-vocabulary-1";

/// FNV-1a, 64 bits: the same bucket for a bigram on every platform and run
/// (std::hash promises neither).
uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

/// The value of `key` in a vocabulary file, of JSON type `type`.
const nlohmann::json& member(const nlohmann::json& json, const char* key, nlohmann::json::value_t type,
                             const std::string& source) {
  // A whole number reads back as unsigned when it is not negative.
  const auto same_type = [&](const nlohmann::json& value) {
    return value.type() == type || (type == nlohmann::json::value_t::number_integer && value.is_number_integer());
  };
  if (!json.is_object() || !json.contains(key) || !same_type(json.at(key)))
    throw InputError(
        fmt::format("{}: not a Cohort vocabulary file: \"{}\" is missing or of the wrong type.", source, key));
  return json.at(key);
}

}  // namespace

double EncodingStats::oov_rate() const {
  return words > 0 ? static_cast<double>(unknown_words) / static_cast<double>(words) : 0.0;
}

std::vector<std::pair<std::string, int64_t>> EncodingStats::most_frequent_unknown(size_t count) const {
  std::vector<std::pair<std::string, int64_t>> sorted(unknown_counts.begin(), unknown_counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (sorted.size() > count) sorted.resize(count);
  return sorted;
}

TextEncoder::TextEncoder(Tokenizer tokenizer, Vocabulary vocabulary, int64_t ngram_buckets)
    : tokenizer_(std::move(tokenizer)), vocabulary_(std::move(vocabulary)), ngram_buckets_(ngram_buckets) {
  if (ngram_buckets_ < 0)
    throw std::invalid_argument(fmt::format("TextEncoder: ngram_buckets must be 0 or more, not {}", ngram_buckets_));
}

TextEncoder TextEncoder::fit(const std::vector<std::string>& texts, const TokenizerOptions& tokenizer,
                             const VocabularyOptions& vocabulary, int64_t ngram_buckets) {
  const Tokenizer splitter(tokenizer);
  TokenCounts counts;
  for (const auto& text : texts) {
    const auto tokens = splitter.tokenize(text);
    for (const auto& word : tokens.words) ++counts[word];
    if (ngram_buckets == 0)
      for (const auto& bigram : tokens.bigrams) ++counts[bigram];
  }
  return TextEncoder(splitter, Vocabulary::build(counts, vocabulary), ngram_buckets);
}

int64_t TextEncoder::bigram_id(const std::string& bigram) const {
  if (ngram_buckets_ == 0) return vocabulary_.id(bigram);
  return vocabulary_.size() + static_cast<int64_t>(fnv1a(bigram) % static_cast<uint64_t>(ngram_buckets_));
}

std::vector<int64_t> TextEncoder::encode(const std::string& text, int64_t max_words, EncodingStats* stats) const {
  const auto tokens = tokenizer_.tokenize(text, max_words);
  std::vector<int64_t> ids;
  ids.reserve(tokens.words.size() + tokens.bigrams.size());
  for (const auto& word : tokens.words) {
    ids.push_back(vocabulary_.id(word));
    if (stats && ids.back() == Vocabulary::kUnknown) ++stats->unknown_counts[word];
  }
  for (const auto& bigram : tokens.bigrams) ids.push_back(bigram_id(bigram));
  if (stats) {
    ++stats->texts;
    stats->words += static_cast<int64_t>(tokens.words.size());
    stats->unknown_words +=
        std::count(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(tokens.words.size()), Vocabulary::kUnknown);
    stats->truncated_texts += tokens.truncated ? 1 : 0;
    stats->empty_texts += ids.empty() ? 1 : 0;
  }
  if (ids.empty()) ids.push_back(Vocabulary::kUnknown);  // every text gets an output
  return ids;
}

nlohmann::json TextEncoder::to_json() const {
  return {{"format", kFormat},
          {"tokenizer", to_string(tokenizer_.options().kind())},
          {"ngrams", tokenizer_.options().ngrams()},
          {"ngram_buckets", ngram_buckets_},
          {"words", vocabulary_.words()}};
}

TextEncoder TextEncoder::from_json(const nlohmann::json& json, const std::string& source) {
  using Type = nlohmann::json::value_t;
  if (member(json, "format", Type::string, source).get<std::string>() != kFormat)
    throw InputError(fmt::format("{}: not a Cohort vocabulary file: \"format\" is not \"{}\".", source, kFormat));
  try {
    const auto kind = parse_tokenizer_kind(member(json, "tokenizer", Type::string, source).get<std::string>());
    const auto ngrams = member(json, "ngrams", Type::number_integer, source).get<int64_t>();
    const auto buckets = member(json, "ngram_buckets", Type::number_integer, source).get<int64_t>();
    const auto& words = member(json, "words", Type::array, source);
    if (!std::all_of(words.begin(), words.end(), [](const auto& word) { return word.is_string(); }))
      throw std::invalid_argument("\"words\" holds something other than strings");
    return TextEncoder(Tokenizer(TokenizerOptions().kind(kind).ngrams(ngrams)),
                       Vocabulary(words.get<std::vector<std::string>>()), buckets);
  } catch (const std::invalid_argument& error) {
    throw InputError(fmt::format("{}: not a usable vocabulary: {}.", source, error.what()));
  }
}

void TextEncoder::save(const std::string& path) const { write_file_atomically(path, to_json().dump() + "\n"); }

TextEncoder TextEncoder::load(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError(fmt::format("{}: the vocabulary file does not exist.", path));
  std::ifstream file(path);
  const auto json = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw InputError(fmt::format("{}: the vocabulary file is not valid JSON.", path));
  return from_json(json, path);
}

std::string TextEncoder::difference(const TextEncoder& other) const {
  const auto& mine = tokenizer_.options();
  const auto& theirs = other.tokenizer_.options();
  if (mine.kind() != theirs.kind())
    return fmt::format("tokenizer {} against {}", to_string(mine.kind()), to_string(theirs.kind()));
  if (mine.ngrams() != theirs.ngrams()) return fmt::format("ngrams {} against {}", mine.ngrams(), theirs.ngrams());
  if (ngram_buckets_ != other.ngram_buckets_)
    return fmt::format("ngram_buckets {} against {}", ngram_buckets_, other.ngram_buckets_);
  const auto& a = vocabulary_.words();
  const auto& b = other.vocabulary_.words();
  const auto [first, second] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (first == a.end() && second == b.end()) return "";
  const auto id = first - a.begin();
  if (first == a.end() || second == b.end())
    return fmt::format("{} tokens against {} (the same up to id {})", a.size(), b.size(), id - 1);
  return fmt::format("{} tokens against {}, id {} being \"{}\" against \"{}\"", a.size(), b.size(), id, *first,
                     *second);
}

}  // namespace cohort::text
