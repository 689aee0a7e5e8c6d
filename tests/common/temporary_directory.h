#pragma once
// A fresh, empty directory per call, for tests that write files.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace cohort::testing {

/// <system temp>/cohort-test-<name>-<pid>-<n>, emptied and created.
inline std::filesystem::path temporary_directory(const std::string& name) {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("cohort-test-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

}  // namespace cohort::testing
