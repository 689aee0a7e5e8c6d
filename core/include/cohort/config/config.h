#pragma once
// Reading config files and applying command-line overrides.

#include <string>
#include <vector>

#include "cohort/config/schema.h"

namespace cohort::config {

/// Reads and parses a JSON file. A missing file, an unreadable one or malformed
/// JSON raises cohort::InputError naming the file (and the line and column).
Json read_json_file(const std::string& path);

/// Applies one `key.path=value` override in place. The value is read as JSON
/// when it parses (`0.05`, `true`, `[1,2]`, `"x"`) and as a plain string
/// otherwise (`sgd`). Missing objects on the path are created; validation
/// afterwards catches keys that do not exist.
void apply_override(Json& config, const std::string& assignment);

/// read_json_file + every override + schema.validate: the complete config with
/// defaults filled in. Errors name `path` (or the override) and the key.
Json load(const std::string& path, const std::vector<std::string>& overrides, const Schema& schema);

}  // namespace cohort::config
