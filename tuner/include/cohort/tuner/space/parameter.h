#pragma once
// One dimension of a search space: which config key it sets and which values
// it may take.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cohort/tuner/random.h"

namespace cohort::tuner {

using Json = nlohmann::json;

struct Parameter {
  enum class Kind {
    kUniform,     // a float in [low, high]
    kLogUniform,  // a float in [low, high], uniform in log(value)
    kInt,         // an integer in [low, high], optionally uniform in log(value)
    kChoice,      // one of `values`, unordered (categorical)
    kOrdinal,     // one of `values`, in that order
    kGrid,        // one of `values`; the grid sampler crosses these, others treat them as a choice
    kFixed,       // always values[0]
  };

  /// The training-config key this parameter sets, e.g. "optimizer.lr".
  std::string path;
  Kind kind = Kind::kFixed;
  double low = 0.0;
  double high = 0.0;
  bool log = false;  // kInt only (kLogUniform is always log)
  std::vector<Json> values;

  static Parameter uniform(std::string path, double low, double high);
  static Parameter log_uniform(std::string path, double low, double high);
  static Parameter integer(std::string path, int64_t low, int64_t high, bool log = false);
  static Parameter choice(std::string path, std::vector<Json> values);
  static Parameter ordinal(std::string path, std::vector<Json> values);
  static Parameter grid(std::string path, std::vector<Json> values);
  static Parameter fixed(std::string path, Json value);

  /// A value drawn from the parameter's prior.
  Json sample(Rng& rng) const;

  /// Whether it takes a finite list of values (int, choice, ordinal, grid, fixed).
  bool is_discrete() const;
  /// Whether its values have no order (choice, grid).
  bool is_categorical() const { return kind == Kind::kChoice || kind == Kind::kGrid; }
  /// Whether it is a float (uniform, log-uniform).
  bool is_continuous() const { return kind == Kind::kUniform || kind == Kind::kLogUniform; }

  /// Discrete parameters: how many values, the value at index i, and the index of a value.
  size_t levels() const;
  Json level(size_t index) const;
  size_t index_of(const Json& value) const;

  /// Floats and ints: the value on [0, 1] (after the log where there is one) and back.
  double to_unit(const Json& value) const;
  Json from_unit(double unit) const;

  /// The JSON form from_json() reads, e.g. {"type": "loguniform", "low": 1e-4, "high": 0.1}.
  Json to_json() const;
  static const char* kind_name(Kind kind);
};

}  // namespace cohort::tuner
