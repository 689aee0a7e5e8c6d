#pragma once
// A command's output, line by line, as it arrives: from a file the command
// writes (a command run once per trial) or from a pipe (a persistent worker).

#include <optional>
#include <string>
#include <vector>

namespace cohort::sweep::detail {

/// Bytes in, complete lines out; a line still being written waits for its end.
class LineBuffer {
 public:
  void add(const char* bytes, size_t size) { pending_.append(bytes, size); }
  /// The complete lines added so far and not yet taken, without their "\n".
  std::vector<std::string> take_lines();
  /// The first of them, if any.
  std::optional<std::string> take_line();

 private:
  std::string pending_;
};

/// Reads what `fd` (non-blocking, or a regular file) has now into `lines`.
/// Returns false when it reached end-of-file: for a pipe, its writer closed
/// it; a regular file may still grow.
bool read_available(int fd, LineBuffer& lines);

/// The lines a command has added to a file since the last call.
class FileTail {
 public:
  explicit FileTail(const std::string& path);
  ~FileTail();
  FileTail(const FileTail&) = delete;
  FileTail& operator=(const FileTail&) = delete;
  std::vector<std::string> new_lines();

 private:
  int fd_ = -1;
  LineBuffer lines_;
};

}  // namespace cohort::sweep::detail
