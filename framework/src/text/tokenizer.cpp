#include "cohort/text/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

namespace cohort::text {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// Splits at whitespace.
std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    if (!is_space(c)) {
      word += c;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

/// torchtext's basic_english substitutions in one pass: lower case, then
/// ' . , ( ) ! ? padded with spaces, " dropped, ; : and <br /> made spaces.
std::string normalise_basic_english(const std::string& text) {
  static const std::string kBreak = "<br />";
  std::string result;
  result.reserve(text.size() + text.size() / 4);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<' && text.compare(i, kBreak.size(), kBreak) == 0) {
      result += ' ';
      i += kBreak.size() - 1;
    } else if (c == '\'' || c == '.' || c == ',' || c == '(' || c == ')' || c == '!' || c == '?') {
      result += ' ';
      result += c;
      result += ' ';
    } else if (c == ';' || c == ':') {
      result += ' ';
    } else if (c != '"') {
      result += static_cast<char>(std::tolower(static_cast<unsigned char>(c)) & 0xFF);
    }
  }
  return result;
}

}  // namespace

TokenizerKind parse_tokenizer_kind(const std::string& name) {
  if (name == "basic_english") return TokenizerKind::kBasicEnglish;
  if (name == "whitespace") return TokenizerKind::kWhitespace;
  throw std::invalid_argument(fmt::format("no tokenizer \"{}\" (basic_english or whitespace)", name));
}

std::string to_string(TokenizerKind kind) {
  return kind == TokenizerKind::kBasicEnglish ? "basic_english" : "whitespace";
}

Tokenizer::Tokenizer(TokenizerOptions options) : options_(std::move(options)) {
  if (options_.ngrams() < 1 || options_.ngrams() > 2)
    throw std::invalid_argument(fmt::format("Tokenizer: ngrams must be 1 or 2, not {}", options_.ngrams()));
}

std::vector<std::string> Tokenizer::words(const std::string& text) const {
  return split(options_.kind() == TokenizerKind::kBasicEnglish ? normalise_basic_english(text) : text);
}

Tokens Tokenizer::tokenize(const std::string& text, int64_t max_words) const {
  Tokens tokens;
  tokens.words = words(text);
  const auto limit = static_cast<size_t>(std::max<int64_t>(max_words, 0));
  if (limit > 0 && tokens.words.size() > limit) {
    tokens.words.resize(limit);
    tokens.truncated = true;
  }
  if (options_.ngrams() == 2)
    for (size_t i = 1; i < tokens.words.size(); ++i)
      tokens.bigrams.push_back(tokens.words[i - 1] + ' ' + tokens.words[i]);
  return tokens;
}

}  // namespace cohort::text
