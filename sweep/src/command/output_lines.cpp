#include "output_lines.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace cohort::sweep::detail {

std::vector<std::string> LineBuffer::take_lines() {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(pending_.substr(start, end - start));
  pending_.erase(0, start);
  return lines;
}

std::optional<std::string> LineBuffer::take_line() {
  const size_t end = pending_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  auto line = pending_.substr(0, end);
  pending_.erase(0, end + 1);
  return line;
}

bool read_available(int fd, LineBuffer& lines) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      lines.add(buffer, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0;  // EAGAIN: nothing more now; 0: end-of-file
  }
}

FileTail::FileTail(const std::string& path) : fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}

FileTail::~FileTail() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> FileTail::new_lines() {
  if (fd_ < 0) return {};
  read_available(fd_, lines_);
  return lines_.take_lines();
}

}  // namespace cohort::sweep::detail
