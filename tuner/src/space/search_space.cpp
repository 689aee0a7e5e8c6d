#include "cohort/tuner/space/search_space.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "cohort/config/schema.h"
#include "cohort/core/error.h"
#include "cohort/core/excerpt.h"

namespace cohort::tuner {
namespace {

using Kind = Parameter::Kind;

/// The largest magnitude of an int parameter's bounds: 2^53, where doubles stop counting exactly.
constexpr double kMaxIntBound = 9007199254740992.0;
/// The most values a choice, ordinal or grid parameter may list.
constexpr size_t kMaxValues = SearchSpace::kMaxGridPoints;

const std::vector<std::string>& type_names() {
  static const std::vector<std::string> names{"uniform", "loguniform", "int", "choice", "ordinal", "grid", "fixed"};
  return names;
}

Kind kind_of(const std::string& name) {
  for (Kind kind : {Kind::kUniform, Kind::kLogUniform, Kind::kInt, Kind::kChoice, Kind::kOrdinal, Kind::kGrid,
                    Kind::kFixed})
    if (name == Parameter::kind_name(kind)) return kind;
  return Kind::kFixed;
}

/// Reads one parameter's JSON object, refusing what cannot be sampled.
class ParameterReader {
 public:
  ParameterReader(const Json& spec, std::string source, std::string path)
      : spec_(spec), source_(std::move(source)), path_(std::move(path)) {}

  Parameter read() {
    const auto type = type_name();
    check_keys(type);
    const Kind kind = kind_of(type);
    switch (kind) {
      case Kind::kUniform:
      case Kind::kLogUniform: return read_range(kind);
      case Kind::kInt: return read_int();
      case Kind::kFixed: return Parameter::fixed(key_, spec_.at("value"));
      default: return read_values(kind);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw InputError(fmt::format("{}: \"{}\": {}", source_, path_, message));
  }

  std::string type_name() {
    key_ = path_.substr(path_.find('.') + 1);
    if (!spec_.is_object()) fail(fmt::format("a parameter must be an object, not {}.", excerpt(spec_.dump())));
    if (!spec_.contains("type") || !spec_["type"].is_string())
      fail("a parameter needs a \"type\": one of uniform, loguniform, int, choice, ordinal, grid, fixed.");
    const auto type = spec_["type"].get<std::string>();
    const auto& names = type_names();
    if (std::find(names.begin(), names.end(), type) == names.end()) {
      const auto close = config::closest_name(type, names);
      fail(fmt::format("unknown type \"{}\"{}.", excerpt(type),
                       close.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", close)));
    }
    return type;
  }

  void check_keys(const std::string& type) const {
    std::vector<std::string> allowed{"type"};
    if (type == "uniform" || type == "loguniform") allowed.insert(allowed.end(), {"low", "high"});
    if (type == "int") allowed.insert(allowed.end(), {"low", "high", "log"});
    if (type == "choice" || type == "ordinal" || type == "grid") allowed.push_back("values");
    if (type == "fixed") allowed.push_back("value");
    for (const auto& item : spec_.items()) {
      if (std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end()) continue;
      const auto close = config::closest_name(item.key(), allowed);
      fail(fmt::format("unknown key \"{}\" for a {} parameter{}.", excerpt(item.key()), type,
                       close.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", close)));
    }
    for (const auto& key : allowed)
      if (key != "log" && !spec_.contains(key)) fail(fmt::format("a {} parameter needs \"{}\".", type, key));
  }

  double number(const char* key) const {
    if (!spec_.at(key).is_number())
      fail(fmt::format("\"{}\" must be a number, not {}.", key, excerpt(spec_.at(key).dump())));
    return spec_.at(key).get<double>();
  }

  void check_bounds(double low, double high, bool log) const {
    if (!std::isfinite(low) || !std::isfinite(high)) fail("the bounds must be finite.");
    if (low >= high) fail(fmt::format("low ({}) must be below high ({}).", low, high));
    if (log && low <= 0) fail(fmt::format("a log scale needs low above 0, not {}.", low));
    // Samples are low + u * (high - low): a span beyond a double would make every one of them inf or NaN.
    if (!std::isfinite(high - low))
      fail(fmt::format("the span high - low ({} - {}) is beyond a double; narrow the bounds.", high, low));
  }

  Parameter read_range(Kind kind) const {
    const double low = number("low"), high = number("high");
    check_bounds(low, high, kind == Kind::kLogUniform);
    return kind == Kind::kUniform ? Parameter::uniform(key_, low, high) : Parameter::log_uniform(key_, low, high);
  }

  Parameter read_int() const {
    const double low = number("low"), high = number("high");
    if (std::floor(low) != low || std::floor(high) != high) fail("an int parameter needs integer bounds.");
    // The bounds live in doubles, exact up to 2^53; the level count high - low + 1 must not wrap either.
    if (std::fabs(low) > kMaxIntBound || std::fabs(high) > kMaxIntBound)
      fail(fmt::format("an int parameter's bounds must lie within +-{} (2^53, what a double counts exactly), not "
                       "[{}, {}].",
                       int64_t(kMaxIntBound), excerpt(spec_.at("low").dump()), excerpt(spec_.at("high").dump())));
    bool log = false;
    if (spec_.contains("log")) {
      if (!spec_["log"].is_boolean()) fail("\"log\" must be true or false.");
      log = spec_["log"].get<bool>();
    }
    check_bounds(low, high, log);
    return Parameter::integer(key_, int64_t(low), int64_t(high), log);
  }

  Parameter read_values(Kind kind) const {
    const auto& values = spec_.at("values");
    if (!values.is_array() || values.empty()) fail("\"values\" must be a non-empty list.");
    if (values.size() > kMaxValues)
      fail(fmt::format("\"values\" lists {} values, more than the {} a parameter may have.", values.size(),
                       kMaxValues));
    std::vector<Json> list(values.begin(), values.end());
    std::set<Json> seen;
    for (const auto& value : list)
      if (!seen.insert(value).second) fail(fmt::format("\"values\" lists {} twice.", excerpt(value.dump())));
    if (kind == Kind::kChoice) return Parameter::choice(key_, list);
    if (kind == Kind::kOrdinal) return Parameter::ordinal(key_, list);
    return Parameter::grid(key_, list);
  }

  const Json& spec_;
  std::string source_;
  std::string path_;
  std::string key_;
};

}  // namespace

SearchSpace SearchSpace::from_json(const Json& space, const std::string& source, const std::string& path) {
  if (!space.is_object() || space.empty())
    throw InputError(fmt::format("{}: \"{}\" must be an object with at least one parameter.", source, path));
  SearchSpace out;
  for (const auto& item : space.items()) {
    const auto key_path = path + "." + excerpt(item.key());
    if (item.key().empty() || item.key().front() == '.' || item.key().back() == '.' ||
        item.key().find("..") != std::string::npos)
      throw InputError(fmt::format("{}: \"{}\": not a valid config key path.", source, key_path));
    if (item.value().is_object()) {
      out.add(ParameterReader(item.value(), source, key_path).read());
    } else {
      out.add(Parameter::fixed(item.key(), item.value()));  // a literal is a fixed value
    }
  }
  return out;
}

SearchSpace& SearchSpace::add(Parameter parameter) {
  parameters_.push_back(std::move(parameter));
  return *this;
}

Json SearchSpace::sample(Rng& rng) const {
  Json config = Json::object();
  for (const auto& p : parameters_) config[p.path] = p.sample(rng);
  return config;
}

size_t SearchSpace::grid_size() const {
  size_t points = 1;
  for (const auto& p : parameters_) {
    if (p.is_continuous())
      throw InputError(fmt::format("\"space.{}\" is a {} float, which a grid cannot enumerate; use \"grid\", "
                                   "\"choice\" or \"int\".",
                                   excerpt(p.path), Parameter::kind_name(p.kind)));
    // Checked before multiplying, so the count cannot wrap.
    if (p.levels() > kMaxGridPoints / points)
      throw InputError(fmt::format("the grid crosses more than {} points (at \"space.{}\", {} values); narrow "
                                   "the space or use another sampler.",
                                   kMaxGridPoints, excerpt(p.path), p.levels()));
    points *= p.levels();
  }
  return points;
}

std::vector<Json> SearchSpace::grid() const {
  grid_size();
  std::vector<Json> points{Json::object()};
  for (const auto& p : parameters_) {
    std::vector<Json> crossed;
    crossed.reserve(points.size() * p.levels());
    for (const auto& point : points)
      for (size_t i = 0; i < p.levels(); ++i) {
        Json next = point;
        next[p.path] = p.level(i);
        crossed.push_back(std::move(next));
      }
    points = std::move(crossed);
  }
  return points;
}

Json SearchSpace::to_json() const {
  Json out = Json::object();
  for (const auto& p : parameters_) out[p.path] = p.to_json();
  return out;
}

void apply_configuration(const Json& configuration, Json& nested) {
  for (const auto& item : configuration.items()) {
    Json* node = &nested;
    std::string path = item.key();
    size_t start = 0;
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
      node = &(*node)[path.substr(start, dot - start)];
      if (!node->is_object()) *node = Json::object();
      start = dot + 1;
    }
    (*node)[path.substr(start)] = item.value();
  }
}

}  // namespace cohort::tuner
