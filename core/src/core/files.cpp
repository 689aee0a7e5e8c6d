#include "cohort/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace cohort {
namespace fs = std::filesystem;
namespace {

/// Makes the rename itself durable.
void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const fs::path temporary = target.string() + ".tmp";
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) throw std::runtime_error(fmt::format("{}: cannot write the file.", temporary.string()));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size() && std::fflush(file) == 0 &&
                       ::fsync(fileno(file)) == 0;
  std::fclose(file);
  if (!written) {
    fs::remove(temporary);
    throw std::runtime_error(fmt::format("{}: writing failed (is the disk full?).", temporary.string()));
  }
  fs::rename(temporary, target);
  sync_directory(target.parent_path());
}

}  // namespace cohort
