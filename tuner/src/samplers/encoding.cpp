#include "encoding.h"

#include <algorithm>
#include <stdexcept>

namespace cohort::tuner::detail {
namespace {

using Kind = Parameter::Kind;
using Type = Dimension::Type;

Dimension dimension_of(const Parameter& p, size_t index, Layout& layout) {
  if (p.is_continuous() || (p.kind == Kind::kInt && p.levels() > kMaxLevels))
    return {index, Type::kContinuous, 0, layout.gaussian++};
  if (p.is_categorical()) return {index, Type::kCategorical, p.levels(), layout.categorical++};
  return {index, Type::kLevels, p.levels(), layout.gaussian++};
}

size_t level_index(const Parameter& p, const Json& value) {
  const size_t index = p.index_of(value);  // throws std::out_of_range for a value that is no level
  if (index >= p.levels()) throw std::out_of_range("not a level");
  return index;
}

void encode_value(const Parameter& p, const Dimension& dim, const Json& value, Point& point) {
  switch (dim.type) {
    case Type::kContinuous: {
      const double unit = value.is_number() ? p.to_unit(value) : std::nan("");
      if (!std::isfinite(unit)) throw std::out_of_range("not a number in range");
      point.units[dim.slot] = std::clamp(unit, 0.0, 1.0);
      break;
    }
    case Type::kLevels: point.units[dim.slot] = level_unit(level_index(p, value), dim.levels); break;
    case Type::kCategorical: point.categories[dim.slot] = level_index(p, value); break;
  }
}

}  // namespace

Layout layout_of(const SearchSpace& space) {
  Layout layout;
  const auto& parameters = space.parameters();
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    // A parameter with one value has nothing to learn: it is copied like a fixed one.
    if (p.kind == Kind::kFixed || (!p.is_continuous() && p.levels() < 2)) {
      layout.constants[p.path] = p.level(0);
      continue;
    }
    layout.dimensions.push_back(dimension_of(p, i, layout));
  }
  return layout;
}

Point encode(const Layout& layout, const SearchSpace& space, const Json& config, const std::string& who) {
  Point point = empty_point(layout);
  for (const auto& dim : layout.dimensions) {
    const auto& p = space.parameters()[dim.parameter];
    const auto found = config.is_object() ? config.find(p.path) : config.end();
    if (found == config.end())
      throw std::invalid_argument(who + ": the observed config has no \"" + p.path + "\".");
    try {
      encode_value(p, dim, *found, point);
    } catch (const std::exception&) {  // out_of_range, or nlohmann's type_error
      throw std::invalid_argument(who + ": \"" + p.path + "\": " + found->dump() +
                                  " is not a value the parameter can take.");
    }
  }
  return point;
}

Json decode(const Layout& layout, const SearchSpace& space, const Point& point) {
  Json config = layout.constants;
  for (const auto& dim : layout.dimensions) {
    const auto& p = space.parameters()[dim.parameter];
    switch (dim.type) {
      case Type::kContinuous: config[p.path] = p.from_unit(point.units[dim.slot]); break;
      case Type::kLevels: config[p.path] = p.level(unit_level(point.units[dim.slot], dim.levels)); break;
      case Type::kCategorical: config[p.path] = p.level(point.categories[dim.slot]); break;
    }
  }
  return config;
}

std::optional<double> reference_budget(const std::map<double, Points>& points, size_t min_points) {
  if (points.empty()) return std::nullopt;
  for (auto it = points.rbegin(); it != points.rend(); ++it)
    if (it->second.size() >= min_points) return it->first;
  auto best = points.begin();
  for (auto it = points.begin(); it != points.end(); ++it)
    if (it->second.size() >= best->second.size()) best = it;
  return best->first;
}

bool start_running(std::vector<RunningTrial>& running, const Layout& layout, const SearchSpace& space,
                   const Json& config, double budget) {
  try {
    running.push_back({config.dump(), budget, encode(layout, space, config, "running trial")});
  } catch (const std::invalid_argument&) {
    return false;
  }
  return true;
}

bool end_running(std::vector<RunningTrial>& running, const Json& config, double budget) {
  const std::string key = config.dump();
  const auto found = std::find_if(running.begin(), running.end(),
                                  [&](const RunningTrial& r) { return r.key == key && r.budget == budget; });
  if (found == running.end()) return false;
  running.erase(found);
  return true;
}

}  // namespace cohort::tuner::detail
