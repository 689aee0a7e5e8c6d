#pragma once
// A schema describes the keys of a JSON config object: their types, defaults,
// ranges and meaning. It validates a config (filling in defaults) and writes
// the reference documentation, so the docs cannot drift from the checks.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::config {

using Json = nlohmann::json;

/// The allowed values of a numeric key. Bounds are inclusive unless marked open.
/// A side left open is still bounded by the key's type: an integer key holds
/// a 32-bit value (a wide one, such as a seed, any int64), a number key a
/// finite value a float32 holds (|x| <= 3.4e38), as LibTorch computes in it.
struct Range {
  std::optional<double> min;
  std::optional<double> max;
  bool min_open = false;
  bool max_open = false;
  /// Integer keys only: bounded by int64 instead of int32 (seeds, counts of bytes).
  bool wide = false;

  static Range at_least(double low) { return Range{low, std::nullopt, false, false}; }
  static Range positive() { return Range{0.0, std::nullopt, true, false}; }
  static Range between(double low, double high) { return Range{low, high, false, false}; }
  /// [0, 1): a share of something that cannot be all of it.
  static Range fraction() { return Range{0.0, 1.0, false, true}; }
  /// This range for an integer key that may use all of int64.
  Range widened() const {
    Range copy = *this;
    copy.wide = true;
    return copy;
  }

  bool contains(double value) const;
  /// "at least 1", "greater than 0", "between 0 and 1", ... ("any" when unbounded).
  std::string describe() const;
};

class Schema;

/// One key of a config object.
struct Field {
  enum class Kind { Integer, Number, Boolean, String, Choice, IntegerList, StringList, Object, Variant };

  std::string name;
  Kind kind = Kind::Number;
  Json default_value;
  Range range;                       // Integer, Number, and each IntegerList item
  std::vector<std::string> choices;  // Choice; for Variant the variant names
  std::string doc;
  std::shared_ptr<const Schema> object;                               // Object
  std::shared_ptr<const std::map<std::string, Schema>> variants;  // Variant: keys of each
};

/// The keys of one JSON object. Build with the chained adders, then validate().
class Schema {
 public:
  Schema& integer(std::string name, int64_t default_value, std::string doc, Range range = {});
  Schema& number(std::string name, double default_value, std::string doc, Range range = {});
  Schema& boolean(std::string name, bool default_value, std::string doc);
  Schema& string(std::string name, std::string default_value, std::string doc);
  Schema& choice(std::string name, std::string default_value, std::vector<std::string> choices,
                 std::string doc);
  Schema& integer_list(std::string name, std::vector<int64_t> default_value, std::string doc,
                       Range each = {});
  Schema& string_list(std::string name, std::vector<std::string> default_value, std::string doc);
  /// A nested object with its own keys; absent means all of its defaults.
  Schema& object(std::string name, Schema schema, std::string doc);
  /// A nested object whose `name` key picks which further keys it may have,
  /// e.g. `"model": {"name": "mlp", "hidden": [256]}`.
  Schema& variant(std::string name, std::string default_choice, std::map<std::string, Schema> by_name,
                  std::string doc);

  /// Checks `value` against this schema and returns it with every default
  /// filled in. Throws cohort::InputError, one sentence starting with `source`
  /// (the file name) and naming the key's full path; an unknown key is
  /// answered with the closest valid name.
  Json validate(const Json& value, const std::string& source, const std::string& path = "") const;

  /// Writes the Markdown reference of every key: path, type, default, meaning.
  void write_reference(std::ostream& out, const std::string& title_prefix = "") const;

  const std::vector<Field>& fields() const { return fields_; }
  const Field* find(const std::string& name) const;

 private:
  Schema& add(Field field);
  std::vector<Field> fields_;
};

/// The candidate closest to `word` by edit distance, or "" when none is close
/// enough to be a likely misspelling.
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace cohort::config
