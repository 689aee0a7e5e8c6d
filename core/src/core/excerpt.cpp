#include "cohort/core/excerpt.h"

#include <cstdint>

#include <fmt/format.h>

namespace cohort {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// The length of the well-formed UTF-8 sequence starting at text[i], or 0 where none starts there
/// (a stray byte, a sequence cut short, an overlong form, a surrogate, a code point beyond U+10FFFF).
size_t sequence_length(std::string_view text, size_t i) {
  const auto byte = static_cast<unsigned char>(text[i]);
  size_t length = 1;
  uint32_t code = byte, least = 0;
  if (byte < 0x80) return 1;
  if (byte >= 0xF0 && byte <= 0xF4) length = 4, code = byte & 0x07, least = 0x10000;
  else if (byte >= 0xE0 && byte <= 0xEF) length = 3, code = byte & 0x0F, least = 0x800;
  else if (byte >= 0xC2 && byte <= 0xDF) length = 2, code = byte & 0x1F, least = 0x80;
  else return 0;
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if (!is_continuation(next)) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

/// How one character (or stray byte) of length `length` at text[i] is quoted.
std::string quoted(std::string_view text, size_t i, size_t length) {
  const auto byte = static_cast<unsigned char>(text[i]);
  if (length == 0) return fmt::format("\\x{:02x}", byte);  // not UTF-8: shown as its byte
  switch (byte) {
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
      if (byte < 0x20 || byte == 0x7F) return fmt::format("\\x{:02x}", byte);
      return std::string(text.substr(i, length));
  }
}

}  // namespace

std::string excerpt(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    if (chars++ == max_chars) return out + "…";
    const size_t length = sequence_length(text, i);
    out += quoted(text, i, length);
    i += length == 0 ? 1 : length;
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace cohort
