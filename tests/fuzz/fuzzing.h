#pragma once
// What every fuzz target shares: the input as text, and the one outcome a
// target accepts besides success, a refusal as cohort::InputError (exit 2 and
// a sentence in the programs). Any other exception escapes
// LLVMFuzzerTestOneInput and is a finding, as a crash or a sanitizer report is.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cohort/core/error.h"

namespace cohort::fuzz {

/// The fuzzer's bytes as a string (it may hold NUL bytes and invalid UTF-8).
inline std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Runs `body`; a refusal (cohort::InputError) is an expected outcome. Its
/// message must be one line of bounded length, as the programs print it.
template <typename Body>
void expect_success_or_refusal(Body&& body) {
  try {
    body();
  } catch (const InputError& error) {
    const std::string message = error.what();
    if (message.empty() || message.find('\n') != std::string::npos || message.size() > 4096) throw;
  }
}

}  // namespace cohort::fuzz
