#include "cohort/config/config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/core/excerpt.h"

namespace cohort::config {
namespace {

/// Follows the parser's events to refuse what JSON allows but a config must
/// not have: nesting beyond kMaxJsonDepth and a key given twice in one object
/// (nlohmann would keep the last silently). Throws from inside the parse, so
/// nothing deep is ever built.
class StrictnessCheck {
 public:
  explicit StrictnessCheck(const std::string& source) : source_(source) {}

  bool operator()(int depth, Json::parse_event_t event, const Json& parsed) {
    using Event = Json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= kMaxJsonDepth)
          throw InputError(fmt::format("{}: the JSON nests objects and lists deeper than {} levels, more than a "
                                       "config can need.",
                                       source_, kMaxJsonDepth));
        frames_.push_back(Frame{event == Event::object_start, {}, {}});
        break;
      case Event::key: check_key(parsed.get<std::string>()); break;
      case Event::object_end:
      case Event::array_end: frames_.pop_back(); break;
      case Event::value: break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
    std::string last_key;
  };

  void check_key(const std::string& key) {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key).second)
      throw InputError(fmt::format("{}: the key \"{}\" is given twice in one object; JSON keeps only one of them, so "
                                   "write it once.",
                                   source_, excerpt(path_to(key))));
    frame.last_key = key;
  }

  /// The dotted path of `key` in the object being parsed ("[]" for a list on the way).
  std::string path_to(const std::string& key) const {
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      if (!frames_[i].is_object) path += "[]";
      else path += (path.empty() ? "" : ".") + frames_[i].last_key;
    }
    return path + (path.empty() ? "" : ".") + key;
  }

  const std::string& source_;
  std::vector<Frame> frames_;
};

/// nlohmann's text reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...":
/// the part from "line" on, without the library's prefix.
std::string parse_error_detail(const Json::parse_error& error) {
  std::string detail = error.what();
  const auto at = detail.find(" at line ");
  if (at != std::string::npos) detail = detail.substr(at + 1);
  return excerpt(detail, 200);
}

}  // namespace

Json parse_json(const std::string& text, const std::string& source) {
  const auto nul = text.find('\0');
  if (nul != std::string::npos)
    throw InputError(fmt::format("{}: byte {} is a NUL character, which JSON text cannot hold.", source, nul));
  try {
    return Json::parse(text, StrictnessCheck(source));
  } catch (const Json::out_of_range& error) {  // 406: a number beyond a double, e.g. 1e309
    std::string detail = error.what();
    const auto quote = detail.find('\'');
    const auto number = quote == std::string::npos ? std::string("a number") : detail.substr(quote);
    throw InputError(fmt::format("{}: the number {} is too large for a double (at most about 1.8e308).", source,
                                 excerpt(number)));
  }
}

Json read_json_file(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    throw InputError(fmt::format("{}: is a directory, not a config file.", excerpt(path)));
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the config file (does it exist?).", excerpt(path)));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(fmt::format("{}: cannot read the config file.", excerpt(path)));
  try {
    return parse_json(text.str(), excerpt(path));
  } catch (const Json::parse_error& error) {
    throw InputError(fmt::format("{}: not valid JSON: {}", excerpt(path), parse_error_detail(error)));
  }
}

Assignment parse_assignment(const std::string& assignment) {
  const auto shown = excerpt(assignment);
  if (!is_valid_utf8(assignment))
    throw InputError(fmt::format("--set {}: not valid UTF-8 text, which a JSON config cannot hold.", shown));
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    throw InputError(fmt::format("--set {}: expected key.path=value.", shown));
  Assignment out{assignment.substr(0, equals), Json()};
  const std::string text = assignment.substr(equals + 1);
  try {
    out.value = parse_json(text, "--set " + shown);
  } catch (const Json::parse_error&) {
    out.value = text;  // not JSON: a plain string such as `sgd`
  }
  return out;
}

void apply_override(Json& config, const std::string& assignment) {
  const auto shown = excerpt(assignment);
  auto [path, value] = parse_assignment(assignment);

  Json* node = &config;
  std::stringstream parts(path);
  std::string part, walked;
  std::vector<std::string> keys;
  while (std::getline(parts, part, '.')) keys.push_back(part);
  if (path.back() == '.') keys.emplace_back();
  // Each part is a level of nesting, bounded as a file's nesting is.
  if (keys.size() > size_t(kMaxJsonDepth))
    throw InputError(fmt::format("--set {}: the key path has {} parts, more than the {} levels a config may nest.",
                                 shown, keys.size(), kMaxJsonDepth));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) throw InputError(fmt::format("--set {}: the key path has an empty part.", shown));
    if (!node->is_object())
      throw InputError(fmt::format("--set {}: \"{}\" is not an object, so it has no key \"{}\".", shown,
                                   excerpt(walked), excerpt(keys[i])));
    walked += (walked.empty() ? "" : ".") + keys[i];
    node = &(*node)[keys[i]];
    if (i + 1 < keys.size() && node->is_null()) *node = Json::object();
  }
  *node = std::move(value);
}

Json load(const std::string& path, const std::vector<std::string>& overrides, const Schema& schema) {
  Json config = read_json_file(path);
  if (!config.is_object()) throw InputError(fmt::format("{}: the config must be a JSON object.", excerpt(path)));
  for (const auto& assignment : overrides) apply_override(config, assignment);
  const std::string source = overrides.empty() ? excerpt(path) : excerpt(path) + " (with --set overrides)";
  return schema.validate(config, source);
}

}  // namespace cohort::config
