#pragma once
// Metrics as JSON lines: one object per line, flushed as soon as it is written.

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace cohort::trainer {

class MetricsLog {
 public:
  /// Opens `path` (creating its directory). `append` keeps earlier lines, as a
  /// resumed run does; otherwise the file starts empty.
  MetricsLog(const std::string& path, bool append);
  /// Writes `record` as one line and flushes it; std::runtime_error naming the
  /// file and the reason (e.g. "No space left on device") when that fails.
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace cohort::trainer
