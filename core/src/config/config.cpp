#include "cohort/config/config.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::config {

Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the config file (does it exist?).", path));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::parse_error& error) {
    // nlohmann's text reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string detail = error.what();
    const auto at = detail.find(" at line ");
    if (at != std::string::npos) detail = detail.substr(at + 1);
    throw InputError(fmt::format("{}: not valid JSON: {}", path, detail));
  }
}

void apply_override(Json& config, const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    throw InputError(fmt::format("--set {}: expected key.path=value.", assignment));
  const std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  Json* node = &config;
  std::stringstream parts(path);
  std::string part, walked;
  std::vector<std::string> keys;
  while (std::getline(parts, part, '.')) keys.push_back(part);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) throw InputError(fmt::format("--set {}: the key path has an empty part.", assignment));
    if (!node->is_object())
      throw InputError(fmt::format("--set {}: \"{}\" is not an object, so it has no key \"{}\".", assignment,
                                   walked, keys[i]));
    walked += (walked.empty() ? "" : ".") + keys[i];
    node = &(*node)[keys[i]];
    if (i + 1 < keys.size() && node->is_null()) *node = Json::object();
  }
  *node = value;
}

Json load(const std::string& path, const std::vector<std::string>& overrides, const Schema& schema) {
  Json config = read_json_file(path);
  if (!config.is_object()) throw InputError(fmt::format("{}: the config must be a JSON object.", path));
  for (const auto& assignment : overrides) apply_override(config, assignment);
  const std::string source = overrides.empty() ? path : path + " (with --set overrides)";
  return schema.validate(config, source);
}

}  // namespace cohort::config
