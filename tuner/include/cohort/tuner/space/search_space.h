#pragma once
// A search space: parameters addressed by the paths of training-config keys,
// read from JSON such as
//
//   {"optimizer.lr": {"type": "loguniform", "low": 1e-4, "high": 0.1},
//    "model.hidden": {"type": "choice", "values": [[128], [256, 256]]},
//    "optimizer.momentum": 0.9}
//
// A configuration is a flat JSON object from those paths to values.

#include <string>
#include <vector>

#include "cohort/tuner/space/parameter.h"

namespace cohort::tuner {

class SearchSpace {
 public:
  /// The most points grid() enumerates, and the most values one choice,
  /// ordinal or grid parameter lists: bounds that stop a space from
  /// exhausting memory or time before the sweep starts.
  static constexpr size_t kMaxGridPoints = 100000;

  SearchSpace() = default;

  /// Reads a space. Invalid entries (low >= high, a log bound <= 0, an empty
  /// choice, an unknown type or key) raise cohort::InputError naming
  /// `source` and the key's path, e.g. `sweep.json: "space.optimizer.lr": ...`.
  static SearchSpace from_json(const Json& space, const std::string& source, const std::string& path = "space");

  /// Adds a parameter (C++ API); chained.
  SearchSpace& add(Parameter parameter);

  /// A configuration drawn from every parameter's prior.
  Json sample(Rng& rng) const;

  /// The Cartesian product of every parameter's values, in a fixed order (the
  /// last parameter varies fastest). Floats cannot be gridded, nor more than
  /// kMaxGridPoints points: cohort::InputError.
  std::vector<Json> grid() const;
  /// How many points grid() gives, refused as grid() refuses, without building them.
  size_t grid_size() const;

  const std::vector<Parameter>& parameters() const { return parameters_; }
  size_t size() const { return parameters_.size(); }
  Json to_json() const;

 private:
  std::vector<Parameter> parameters_;
};

/// Writes a flat configuration ({"optimizer.lr": 0.1}) into a nested config
/// ({"optimizer": {"lr": 0.1}}), creating objects on the way.
void apply_configuration(const Json& configuration, Json& nested);

}  // namespace cohort::tuner
