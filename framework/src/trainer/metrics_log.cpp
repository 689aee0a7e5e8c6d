#include "cohort/trainer/metrics_log.h"

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
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace cohort::trainer
