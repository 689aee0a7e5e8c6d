#pragma once
// Rank-aware logging on top of spdlog.

#include <string>
#include <vector>

#include <spdlog/spdlog.h>

namespace cohort::logging {

/// The level names accepted in configs and on command lines.
const std::vector<std::string>& level_names();

/// Makes spdlog's default logger write to stderr as
/// `[12:00:01] [rank 0] [info] message` at `level` (one of level_names()).
/// Safe to call again, e.g. once the config's level is known.
void setup(int rank, const std::string& level);

}  // namespace cohort::logging
