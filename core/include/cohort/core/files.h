#pragma once
// Writing files so that a reader, or a crash, never sees half of one.

#include <string>

namespace cohort {

/// Writes `bytes` to `path` through a temporary file beside it, flushed to
/// disk, then renamed over `path` (creating its directory). Throws
/// std::runtime_error when the disk refuses.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace cohort
