#include "cohort/logging/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "cohort/core/error.h"

namespace cohort::logging {

const std::vector<std::string>& level_names() {
  static const std::vector<std::string> names{"trace", "debug", "info", "warn", "error", "off"};
  return names;
}

void setup(int rank, const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  // spdlog maps unknown names to "off"; only an explicit "off" may mean that.
  if (parsed == spdlog::level::off && level != "off")
    throw InputError(fmt::format("unknown log level \"{}\" (use trace, debug, info, warn, error or off).", level));
  auto logger = spdlog::get("cohort");
  if (!logger) {
    logger = spdlog::stderr_color_mt("cohort");
    spdlog::set_default_logger(logger);
  }
  logger->set_pattern(fmt::format("[%H:%M:%S] [rank {}] [%^%l%$] %v", rank));
  logger->set_level(parsed);
}

}  // namespace cohort::logging
