#include "cohort/tuner/space/parameter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cohort::tuner {
namespace {

Parameter make(std::string path, Parameter::Kind kind, double low, double high, bool log, std::vector<Json> values) {
  Parameter p;
  p.path = std::move(path);
  p.kind = kind;
  p.low = low;
  p.high = high;
  p.log = log;
  p.values = std::move(values);
  return p;
}

}  // namespace

Parameter Parameter::uniform(std::string path, double low, double high) {
  return make(std::move(path), Kind::kUniform, low, high, false, {});
}
Parameter Parameter::log_uniform(std::string path, double low, double high) {
  return make(std::move(path), Kind::kLogUniform, low, high, true, {});
}
Parameter Parameter::integer(std::string path, int64_t low, int64_t high, bool log) {
  return make(std::move(path), Kind::kInt, double(low), double(high), log, {});
}
Parameter Parameter::choice(std::string path, std::vector<Json> values) {
  return make(std::move(path), Kind::kChoice, 0, 0, false, std::move(values));
}
Parameter Parameter::ordinal(std::string path, std::vector<Json> values) {
  return make(std::move(path), Kind::kOrdinal, 0, 0, false, std::move(values));
}
Parameter Parameter::grid(std::string path, std::vector<Json> values) {
  return make(std::move(path), Kind::kGrid, 0, 0, false, std::move(values));
}
Parameter Parameter::fixed(std::string path, Json value) {
  return make(std::move(path), Kind::kFixed, 0, 0, false, {std::move(value)});
}

const char* Parameter::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kUniform: return "uniform";
    case Kind::kLogUniform: return "loguniform";
    case Kind::kInt: return "int";
    case Kind::kChoice: return "choice";
    case Kind::kOrdinal: return "ordinal";
    case Kind::kGrid: return "grid";
    case Kind::kFixed: return "fixed";
  }
  return "";
}

Json Parameter::sample(Rng& rng) const {
  switch (kind) {
    case Kind::kUniform: return rng.uniform(low, high);
    case Kind::kLogUniform: return std::exp(rng.uniform(std::log(low), std::log(high)));
    case Kind::kInt:
      if (!log) return int64_t(low) + int64_t(rng.below(uint64_t(high - low + 1)));
      // Uniform in log over [low, high + 1), then down to the integer below.
      return std::min(int64_t(high), int64_t(std::floor(std::exp(rng.uniform(std::log(low), std::log(high + 1))))));
    case Kind::kChoice:
    case Kind::kOrdinal:
    case Kind::kGrid: return values[rng.below(values.size())];
    case Kind::kFixed: return values[0];
  }
  return nullptr;
}

bool Parameter::is_discrete() const { return !is_continuous(); }

size_t Parameter::levels() const {
  if (kind == Kind::kInt) return size_t(high - low) + 1;
  if (is_continuous()) throw std::logic_error("a float parameter has no levels");
  return values.size();
}

Json Parameter::level(size_t index) const {
  if (kind == Kind::kInt) return int64_t(low) + int64_t(index);
  return values.at(index);
}

size_t Parameter::index_of(const Json& value) const {
  if (kind == Kind::kInt) {
    // A value from elsewhere (a journal, a user's C++) may be anything: compare before subtracting, so nothing wraps.
    if (!value.is_number_integer() || value.get<double>() < low || value.get<double>() > high)
      throw std::out_of_range("value " + value.dump() + " is not one of " + path + "'s");
    return size_t(value.get<int64_t>() - int64_t(low));
  }
  const auto found = std::find(values.begin(), values.end(), value);
  if (found == values.end()) throw std::out_of_range("value " + value.dump() + " is not one of " + path + "'s");
  return size_t(found - values.begin());
}

double Parameter::to_unit(const Json& value) const {
  const double x = value.get<double>();
  if (kind == Kind::kLogUniform || (kind == Kind::kInt && log))
    return (std::log(x) - std::log(low)) / (std::log(high) - std::log(low));
  return (x - low) / (high - low);
}

Json Parameter::from_unit(double unit) const {
  unit = std::clamp(unit, 0.0, 1.0);
  const bool logarithmic = kind == Kind::kLogUniform || (kind == Kind::kInt && log);
  const double x = logarithmic ? std::exp(std::log(low) + unit * (std::log(high) - std::log(low)))
                               : low + unit * (high - low);
  if (kind == Kind::kInt) return std::clamp(int64_t(std::llround(x)), int64_t(low), int64_t(high));
  return std::clamp(x, low, high);
}

Json Parameter::to_json() const {
  Json out = {{"type", kind_name(kind)}};
  switch (kind) {
    case Kind::kUniform:
    case Kind::kLogUniform: out["low"] = low; out["high"] = high; break;
    case Kind::kInt: out["low"] = int64_t(low); out["high"] = int64_t(high); out["log"] = log; break;
    case Kind::kFixed: out["value"] = values[0]; break;
    default: out["values"] = values; break;
  }
  return out;
}

}  // namespace cohort::tuner
