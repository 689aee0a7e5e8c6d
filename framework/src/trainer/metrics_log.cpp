#include "cohort/trainer/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace cohort::trainer {

MetricsLog::MetricsLog(const std::string& path, bool append) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  if (!out_) throw std::runtime_error(fmt::format("{}: cannot open the metrics file for writing.", path));
}

void MetricsLog::write(const nlohmann::json& record) {
  errno = 0;
  out_ << record.dump() << '\n';
  out_.flush();
  // A full disk fails the flush: the run must not go on (and end with 0) with
  // its metrics lost.
  if (!out_) {
    const int error = errno;
    throw std::runtime_error(fmt::format("{}: writing the metrics failed ({}); the run stops here.", path_,
                                         error ? std::strerror(error) : "the stream refused the line"));
  }
}

}  // namespace cohort::trainer
