#include "cohort/tuner/study/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/crc32c.h"
#include "cohort/core/error.h"

namespace cohort::tuner {
namespace fs = std::filesystem;
namespace {

// Each line is the record's JSON with its CRC32C as the first key, over the
// line without it: {"crc32c":"1a2b3c4d","event":...} checks {"event":...}.
// The line stays a JSON object, so any JSON-lines reader still reads it.
constexpr std::string_view kChecksumKey = "{\"crc32c\":\"";
constexpr size_t kChecksumDigits = 8;

/// The record as one line with its checksum, newline included.
std::string checksummed_line(const nlohmann::json& record) {
  const std::string body = record.dump();
  const std::string rest = body == "{}" ? "}" : "," + body.substr(1);
  return fmt::format("{}{:08x}\"{}\n", kChecksumKey, crc32c(body), rest);
}

bool has_checksum(std::string_view line) { return line.substr(0, kChecksumKey.size()) == kChecksumKey; }

/// The record body a checksummed line stands for, or nullopt when its
/// checksum field is malformed or does not match.
std::optional<std::string> verified_body(std::string_view line) {
  const size_t digits_at = kChecksumKey.size(), rest_at = digits_at + kChecksumDigits + 1;
  if (line.size() < rest_at + 1 || line[rest_at - 1] != '"') return std::nullopt;
  const std::string digits(line.substr(digits_at, kChecksumDigits));
  if (digits.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  const auto rest = line.substr(rest_at);
  std::string body;
  if (rest == "}") body = "{}";
  else if (rest.front() == ',') body = "{" + std::string(rest.substr(1));
  else return std::nullopt;
  if (crc32c(body) != uint32_t(std::stoul(digits, nullptr, 16))) return std::nullopt;
  return body;
}

}  // namespace

Journal::Journal(std::string path, bool sync) : path_(std::move(path)), sync_(sync) {
  const fs::path file(path_);
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  open_locked();
  try {
    read_existing();
  } catch (...) {
    // The destructor does not run for a constructor that throws: the lock
    // would outlive this attempt, and a second one would be refused.
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

void Journal::read_existing() {
  const fs::path file(path_);
  if (fs::file_size(file) == 0) return;
  std::ifstream in(path_, std::ios::binary);
  std::stringstream read;
  read << in.rdbuf();
  const std::string content = read.str();
  checksummed_ = has_checksum(content) || content.find("\n" + std::string(kChecksumKey)) != std::string::npos;
  size_t start = 0, valid_end = 0, line = 0;
  while (start < content.size()) {
    const size_t newline = content.find('\n', start);
    ++line;
    // A kill in the middle of a write leaves a last line without its
    // newline (each record is one write ending in one): that torn tail is
    // dropped. Every complete line must be a sound record.
    if (newline == std::string::npos) break;
    const std::string text = content.substr(start, newline - start);
    if (text.find_first_not_of(' ') == std::string::npos &&
        content.find_first_not_of(" \n", newline) == std::string::npos)
      break;  // blank lines at the end
    existing_.push_back(parse_line(text, line));
    valid_end = newline + 1;
    start = newline + 1;
  }
  if (valid_end < content.size()) fs::resize_file(file, valid_end);
}

nlohmann::json Journal::parse_line(const std::string& text, size_t line) {
  if (has_checksum(text)) {
    if (auto body = verified_body(text)) {
      auto record = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
      // A matching checksum over text that is no JSON object: the writer's bug, not damage.
      if (record.is_object()) return record;
    }
    throw InputError(fmt::format("{}: line {}: the record does not match its checksum (the file is damaged).", path_,
                                 line));
  }
  auto record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object())
    throw InputError(fmt::format("{}: line {} is not a journal record (the file is damaged).", path_, line));
  // Records without a checksum come from an older Cohort, which wrote none:
  // in a journal with checksums, one without is damage (a flip in its key).
  if (checksummed_)
    throw InputError(fmt::format("{}: line {}: the record has no checksum where the journal's others have one (the "
                                 "file is damaged).",
                                 path_, line));
  ++unchecked_;
  return record;
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
  // A journal an older Cohort began goes on as it began, without checksums
  // (a mix would read as damage); every other one is checksummed throughout.
  const std::string line = unchecked_ > 0 ? record.dump() + "\n" : checksummed_line(record);
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
