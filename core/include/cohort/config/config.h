#pragma once
// Reading config files and applying command-line overrides.

#include <string>
#include <vector>

#include "cohort/config/schema.h"

namespace cohort::config {

/// The deepest nesting of objects and lists a config may have. Configs need
/// a handful of levels; the bound keeps every later walk over a config (copies,
/// validation, printing) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;

/// Parses `text` as one config's JSON, stricter than JSON itself where
/// nlohmann::json is lenient: nesting deeper than kMaxJsonDepth, a key twice in
/// one object, a NUL byte (nlohmann stops reading there) and a number beyond a
/// double are refused with cohort::InputError, one sentence starting with
/// `source`. Malformed JSON raises Json::parse_error (callers word it).
Json parse_json(const std::string& text, const std::string& source);

/// Reads and parses a JSON file (parse_json). A missing file, a directory, an
/// unreadable one or malformed JSON raises cohort::InputError naming the file
/// (and the line and column).
Json read_json_file(const std::string& path);

/// One `--set key.path=value` read: the key path and the value (JSON where it
/// parses, else the text as a string). Refuses what apply_override refuses.
struct Assignment {
  std::string path;
  Json value;
};
Assignment parse_assignment(const std::string& assignment);

/// Applies one `key.path=value` override in place. The value is read as JSON
/// when it parses (`0.05`, `true`, `[1,2]`, `"x"`) and as a plain string
/// otherwise (`sgd`). Missing objects on the path are created; validation
/// afterwards catches keys that do not exist. An assignment that is not UTF-8,
/// or whose value is JSON that parse_json refuses, raises cohort::InputError.
void apply_override(Json& config, const std::string& assignment);

/// read_json_file + every override + schema.validate: the complete config with
/// defaults filled in. Errors name `path` (or the override) and the key.
Json load(const std::string& path, const std::vector<std::string>& overrides, const Schema& schema);

}  // namespace cohort::config
