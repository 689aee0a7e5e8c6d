#include "cohort/tuner/study/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::tuner {
namespace fs = std::filesystem;

Journal::Journal(std::string path, bool sync) : path_(std::move(path)), sync_(sync) {
  const fs::path file(path_);
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  open_locked();
  if (fs::file_size(file) > 0) {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    size_t start = 0, valid_end = 0, line = 0;
    while (start < content.size()) {
      const size_t newline = content.find('\n', start);
      ++line;
      const bool complete = newline != std::string::npos;
      const std::string body = content.substr(start, (complete ? newline : content.size()) - start);
      auto record = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded() || !record.is_object()) {
        // Only the very end may be torn: a crash in the middle of a write.
        if (complete && content.find_first_not_of(" \n", newline + 1) != std::string::npos)
          throw InputError(fmt::format("{}: line {} is not a journal record (the file is damaged).", path_, line));
        break;
      }
      if (!complete) break;  // a record without its newline was cut short too
      existing_.push_back(std::move(record));
      valid_end = newline + 1;
      start = newline + 1;
    }
    if (valid_end < content.size()) fs::resize_file(file, valid_end);
  }
}

void Journal::open_locked() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(fmt::format("{}: cannot open the journal: {}.", path_, std::strerror(errno)));
  // One writer at a time: ranks of a killed launcher can outlive it, and a
  // resume beside them would interleave two sweeps' records. The lock goes
  // with the process, however it ends.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw InputError(fmt::format("{}: another running process holds this journal (a sweep still running, or ranks "
                                   "left behind by a killed mpirun); stop it before resuming.",
                                   path_));
    throw InputError(fmt::format("{}: cannot lock the journal: {}.", path_, std::strerror(error)));
  }
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::append(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(fmt::format("{}: writing the journal failed: {}.", path_, std::strerror(errno)));
    written += size_t(n);
  }
  unsynced_ = true;
  if (!deferred_) sync();
}

void Journal::defer_syncs(bool deferred) {
  if (!deferred) sync();
  deferred_ = deferred;
}

void Journal::sync() {
  if (!sync_ || !unsynced_) return;
  if (::fdatasync(fd_) != 0)
    throw std::runtime_error(fmt::format("{}: syncing the journal failed: {}.", path_, std::strerror(errno)));
  unsynced_ = false;
}

}  // namespace cohort::tuner
