#pragma once
// A fresh, empty directory per call, for tests that write files. The
// directories are removed when the test process exits, so a test run leaves
// nothing in /tmp; COHORT_KEEP_TEST_DIRS=1 keeps them to look at after a
// failure.

#include <ftw.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace cohort::testing {

namespace detail {
/// The directories this process made, removed at its exit. Only the process
/// that made them removes them: a forked child that exits through exit()
/// runs this destructor too, and must not delete its parent's files. The
/// removal uses POSIX calls, not std::filesystem: at exit the program's
/// std::filesystem::remove_all can resolve to libtorch.so's copy, whose
/// state may already be torn down (it crashed there).
class TemporaryDirectories {
 public:
  void add(const std::filesystem::path& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    paths_.push_back(path);
  }
  ~TemporaryDirectories() {
    const char* keep = std::getenv("COHORT_KEEP_TEST_DIRS");
    if (::getpid() != owner_ || (keep && std::string(keep) == "1")) return;
    for (const auto& path : paths_)
      ::nftw(path.c_str(), [](const char* file, const struct stat*, int, FTW*) { return std::remove(file), 0; }, 16,
             FTW_DEPTH | FTW_PHYS);
  }

 private:
  std::mutex mutex_;
  std::vector<std::filesystem::path> paths_;
  pid_t owner_ = ::getpid();
};

inline TemporaryDirectories& temporary_directories() {
  static TemporaryDirectories directories;
  return directories;
}
}  // namespace detail

/// <system temp>/cohort-test-<name>-<pid>-<n>, emptied and created; removed
/// when the process exits (unless COHORT_KEEP_TEST_DIRS=1).
inline std::filesystem::path temporary_directory(const std::string& name) {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("cohort-test-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  detail::temporary_directories().add(path);
  return path;
}

}  // namespace cohort::testing
