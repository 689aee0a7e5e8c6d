#pragma once
// Echoing user input in an error message: a value can be 16 MiB long or hold
// a newline, and either would wreck the one-sentence message it is quoted in.

#include <cstddef>
#include <string>
#include <string_view>

namespace cohort {

/// How many characters of a value an error message quotes.
inline constexpr size_t kExcerptChars = 80;

/// `text` as a message quotes it: control characters and bytes that are not
/// UTF-8 escaped (`\n`, `\t`, `\x01`, `\xff`) so the sentence stays on one
/// line and prints, and cut after `max_chars` characters (never inside a UTF-8
/// sequence) with "…" where it was cut.
std::string excerpt(std::string_view text, size_t max_chars = kExcerptChars);

/// Whether `text` is well-formed UTF-8 (what JSON strings must be).
bool is_valid_utf8(std::string_view text);

}  // namespace cohort
