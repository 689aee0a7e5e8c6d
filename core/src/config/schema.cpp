#include "cohort/config/schema.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/core/excerpt.h"

namespace cohort::config {
namespace {

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? excerpt(key) : path + "." + excerpt(key);
}

/// The largest magnitude a number key takes: what a float32 holds.
constexpr double kNumberLimit = std::numeric_limits<float>::max();

std::string format_number(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) return fmt::format("{}", int64_t(value));
  return fmt::format("{}", value);
}

/// How a JSON value reads in an error message: `the string "abc"`, `a list`, ...
std::string describe_value(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string: return fmt::format("the string \"{}\"", excerpt(value.get<std::string>()));
    case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case Json::value_t::array: return "a list";
    case Json::value_t::object: return "an object";
    case Json::value_t::null: return "null";
    default: return excerpt(value.dump());
  }
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + excerpt(names[i]) + "\"";
  return out;
}

[[noreturn]] void fail(const std::string& source, const std::string& message) {
  throw InputError(fmt::format("{}: {}", source, message));
}

bool is_integral(const Json& value) {
  if (value.is_number_integer()) return true;
  return value.is_number_float() && std::floor(value.get<double>()) == value.get<double>();
}

/// The value of an integral JSON number as an int64, or nothing where int64 cannot hold it.
std::optional<int64_t> as_int64(const Json& value) {
  if (value.is_number_unsigned()) {
    const auto unsigned_value = value.get<uint64_t>();
    if (unsigned_value > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return int64_t(unsigned_value);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  const double number = value.get<double>();
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (!(number >= -kTwoTo63 && number < kTwoTo63)) return std::nullopt;
  return int64_t(number);
}

/// The inclusive integer bounds of `range` for an integer key, its type's where a side is open.
std::pair<int64_t, int64_t> integer_bounds(const Range& range) {
  const int64_t type_min = range.wide ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int32_t>::min();
  const int64_t type_max = range.wide ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int32_t>::max();
  int64_t low = type_min, high = type_max;
  if (range.min) low = std::max(low, int64_t(range.min_open ? std::floor(*range.min) + 1 : std::ceil(*range.min)));
  if (range.max) high = std::min(high, int64_t(range.max_open ? std::ceil(*range.max) - 1 : std::floor(*range.max)));
  return {low, high};
}

void check_range(const Json& value, const Range& range, const std::string& source, const std::string& path) {
  const double number = value.get<double>();
  if (!range.contains(number))
    fail(source, fmt::format("\"{}\" must be {}, got {}.", path, range.describe(), format_number(number)));
}

Json validate_integer(const Json& value, const Field& field, const std::string& source,
                      const std::string& path) {
  if (!is_integral(value))
    fail(source, fmt::format("\"{}\" must be an integer, not {}.", path, describe_value(value)));
  const auto [low, high] = integer_bounds(field.range);
  const auto number = as_int64(value);
  if (number && *number >= low && *number <= high) return Json(*number);
  // Outside the declared range: said as the range is declared. Inside it but beyond the key's type: the type's bound.
  if (number) check_range(value, field.range, source, path);
  fail(source, fmt::format("\"{}\" must be an integer between {} and {}, got {}.", path, low, high,
                           describe_value(value)));
}

Json validate_number(const Json& value, const Field& field, const std::string& source, const std::string& path) {
  if (!value.is_number())
    fail(source, fmt::format("\"{}\" must be a number, not {}.", path, describe_value(value)));
  const double number = value.get<double>();
  if (!std::isfinite(number) || std::fabs(number) > kNumberLimit)
    fail(source, fmt::format("\"{}\" must be a finite number of at most {:g} in magnitude (what a float32 holds), "
                             "got {}.",
                             path, kNumberLimit, describe_value(value)));
  check_range(value, field.range, source, path);
  return Json(number);
}

Json validate_choice(const Json& value, const std::vector<std::string>& choices, const std::string& source,
                     const std::string& path) {
  if (!value.is_string())
    fail(source, fmt::format("\"{}\" must be one of {}, not {}.", path, quoted_list(choices),
                             describe_value(value)));
  const auto text = value.get<std::string>();
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return value;
  const auto suggestion = closest_name(text, choices);
  fail(source, fmt::format("\"{}\" must be one of {}, not \"{}\"{}.", path, quoted_list(choices), excerpt(text),
                           suggestion.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", suggestion)));
}

Json validate_variant(const Json& value, const Field& field, const std::string& source,
                      const std::string& path) {
  if (!value.is_object())
    fail(source, fmt::format("\"{}\" must be an object with a \"name\", not {}.", path, describe_value(value)));
  Json rest = value;
  const Json name = rest.contains("name") ? rest["name"] : Json(field.default_value);
  rest.erase("name");
  const auto chosen = validate_choice(name, field.choices, source, join_path(path, "name")).get<std::string>();
  const Schema& options = field.variants->at(chosen);
  if (options.fields().empty() && !rest.empty())
    fail(source, fmt::format("unknown key \"{}\": \"{}\" with \"name\": \"{}\" takes no other keys.",
                             join_path(path, rest.begin().key()), path, chosen));
  Json out = options.validate(rest, source, path);
  out["name"] = chosen;
  return out;
}

Json validate_field(const Json& value, const Field& field, const std::string& source, const std::string& path) {
  using Kind = Field::Kind;
  switch (field.kind) {
    case Kind::Integer: return validate_integer(value, field, source, path);
    case Kind::Number: return validate_number(value, field, source, path);
    case Kind::Boolean:
      if (!value.is_boolean())
        fail(source, fmt::format("\"{}\" must be true or false, not {}.", path, describe_value(value)));
      return value;
    case Kind::String:
      if (!value.is_string())
        fail(source, fmt::format("\"{}\" must be a string, not {}.", path, describe_value(value)));
      return value;
    case Kind::Choice: return validate_choice(value, field.choices, source, path);
    case Kind::IntegerList: {
      if (!value.is_array())
        fail(source, fmt::format("\"{}\" must be a list of integers, not {}.", path, describe_value(value)));
      Json out = Json::array();
      for (size_t i = 0; i < value.size(); ++i)
        out.push_back(validate_integer(value[i], field, source, fmt::format("{}[{}]", path, i)));
      return out;
    }
    case Kind::StringList: {
      const auto is_string = [](const Json& item) { return item.is_string(); };
      if (!value.is_array() || !std::all_of(value.begin(), value.end(), is_string))
        fail(source, fmt::format("\"{}\" must be a list of strings, not {}.", path, describe_value(value)));
      return value;
    }
    case Kind::Object:
      if (!value.is_object())
        fail(source, fmt::format("\"{}\" must be an object, not {}.", path, describe_value(value)));
      return field.object->validate(value, source, path);
    case Kind::Variant: return validate_variant(value, field, source, path);
  }
  fail(source, fmt::format("\"{}\" has a kind this version does not know.", path));
}

std::string type_name(const Field& field) {
  using Kind = Field::Kind;
  switch (field.kind) {
    case Kind::Integer: return field.range.wide ? "integer (64-bit)" : "integer";
    case Kind::Number: return "number";
    case Kind::Boolean: return "boolean";
    case Kind::String: return "string";
    case Kind::Choice: return "one of " + quoted_list(field.choices);
    case Kind::IntegerList: return "list of integers";
    case Kind::StringList: return "list of strings";
    case Kind::Object: return "object";
    case Kind::Variant: return "object";
  }
  return "";
}

std::string escape_cell(std::string text) {
  std::string out;
  for (char c : text) out += (c == '|') ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

bool Range::contains(double value) const {
  if (std::isnan(value)) return false;
  if (min && (min_open ? value <= *min : value < *min)) return false;
  if (max && (max_open ? value >= *max : value > *max)) return false;
  return true;
}

std::string Range::describe() const {
  const auto low = min ? format_number(*min) : "";
  const auto high = max ? format_number(*max) : "";
  if (min && max) {
    if (!min_open && !max_open) return fmt::format("between {} and {}", low, high);
    return fmt::format("in {}{}, {}{}", min_open ? "(" : "[", low, high, max_open ? ")" : "]");
  }
  if (min) return fmt::format("{} {}", min_open ? "greater than" : "at least", low);
  if (max) return fmt::format("{} {}", max_open ? "less than" : "at most", high);
  return "any number";
}

Schema& Schema::add(Field field) {
  fields_.push_back(std::move(field));
  return *this;
}

Schema& Schema::integer(std::string name, int64_t default_value, std::string doc, Range range) {
  return add(Field{std::move(name), Field::Kind::Integer, default_value, range, {}, std::move(doc), {}, {}});
}

Schema& Schema::number(std::string name, double default_value, std::string doc, Range range) {
  return add(Field{std::move(name), Field::Kind::Number, default_value, range, {}, std::move(doc), {}, {}});
}

Schema& Schema::boolean(std::string name, bool default_value, std::string doc) {
  return add(Field{std::move(name), Field::Kind::Boolean, default_value, {}, {}, std::move(doc), {}, {}});
}

Schema& Schema::string(std::string name, std::string default_value, std::string doc) {
  return add(Field{std::move(name), Field::Kind::String, default_value, {}, {}, std::move(doc), {}, {}});
}

Schema& Schema::choice(std::string name, std::string default_value, std::vector<std::string> choices,
                       std::string doc) {
  return add(Field{std::move(name), Field::Kind::Choice, default_value, {}, std::move(choices), std::move(doc),
                   {}, {}});
}

Schema& Schema::integer_list(std::string name, std::vector<int64_t> default_value, std::string doc,
                             Range each) {
  return add(Field{std::move(name), Field::Kind::IntegerList, default_value, each, {}, std::move(doc), {}, {}});
}

Schema& Schema::string_list(std::string name, std::vector<std::string> default_value, std::string doc) {
  return add(Field{std::move(name), Field::Kind::StringList, default_value, {}, {}, std::move(doc), {}, {}});
}

Schema& Schema::object(std::string name, Schema schema, std::string doc) {
  return add(Field{std::move(name), Field::Kind::Object, Json::object(), {}, {}, std::move(doc),
                   std::make_shared<const Schema>(std::move(schema)), {}});
}

Schema& Schema::variant(std::string name, std::string default_choice, std::map<std::string, Schema> by_name,
                        std::string doc) {
  std::vector<std::string> names;
  for (const auto& entry : by_name) names.push_back(entry.first);
  return add(Field{std::move(name), Field::Kind::Variant, default_choice, {}, std::move(names), std::move(doc),
                   {}, std::make_shared<const std::map<std::string, Schema>>(std::move(by_name))});
}

const Field* Schema::find(const std::string& name) const {
  for (const auto& field : fields_)
    if (field.name == name) return &field;
  return nullptr;
}

Json Schema::validate(const Json& value, const std::string& source, const std::string& path) const {
  if (!value.is_object()) {
    fail(source, path.empty() ? fmt::format("the config must be a JSON object, not {}.", describe_value(value))
                              : fmt::format("\"{}\" must be an object, not {}.", path, describe_value(value)));
  }
  std::vector<std::string> names;
  for (const auto& field : fields_) names.push_back(field.name);
  for (const auto& item : value.items()) {
    if (find(item.key())) continue;
    const auto suggestion = closest_name(item.key(), names);
    if (!suggestion.empty())
      fail(source, fmt::format("unknown key \"{}\"; did you mean \"{}\"?", join_path(path, item.key()),
                               join_path(path, suggestion)));
    if (names.empty()) fail(source, fmt::format("unknown key \"{}\": no keys are allowed there.", join_path(path, item.key())));
    fail(source, fmt::format("unknown key \"{}\" (the keys allowed there are {}).", join_path(path, item.key()),
                             quoted_list(names)));
  }
  Json out = Json::object();
  for (const auto& field : fields_) {
    const auto key_path = join_path(path, field.name);
    const bool given = value.contains(field.name);
    const Json& raw = given ? value.at(field.name) : field.default_value;
    if (!given && field.kind == Field::Kind::Variant) {
      out[field.name] = validate_variant(Json{{"name", field.default_value}}, field, source, key_path);
    } else {
      out[field.name] = validate_field(raw, field, source, key_path);
    }
  }
  return out;
}

void Schema::write_reference(std::ostream& out, const std::string& title_prefix) const {
  std::vector<const Field*> nested;
  out << "| key | type | default | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& field : fields_) {
    const auto key = title_prefix + field.name;
    const bool is_nested = field.kind == Field::Kind::Object || field.kind == Field::Kind::Variant;
    std::string type = type_name(field);
    if (field.range.min || field.range.max) type += ", " + field.range.describe();
    const std::string shown_default =
        field.kind == Field::Kind::Object ? "" : "`" + field.default_value.dump() + "`";
    const std::string shown_key = field.kind == Field::Kind::Variant ? key + ".name" : key;
    out << "| `" << shown_key << "` | " << escape_cell(field.kind == Field::Kind::Variant
                                                             ? "one of " + quoted_list(field.choices)
                                                             : type)
        << " | " << escape_cell(shown_default) << " | " << escape_cell(field.doc)
        << (is_nested ? " (below)" : "") << " |\n";
    if (is_nested) nested.push_back(&field);
  }
  for (const Field* field : nested) {
    const auto key = title_prefix + field->name;
    if (field->kind == Field::Kind::Object) {
      out << "\n### `" << key << "`\n\n" << field->doc << "\n\n";
      field->object->write_reference(out, key + ".");
      continue;
    }
    for (const auto& entry : *field->variants) {
      out << "\n### `" << key << "` with `\"name\": \"" << entry.first << "\"`\n\n";
      if (entry.second.fields().empty()) {
        out << "No further keys.\n";
      } else {
        entry.second.write_reference(out, key + ".");
      }
    }
  }
}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t substitution = diagonal + (std::tolower(a[i - 1]) != std::tolower(b[j - 1]));
        diagonal = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t d = distance(word, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace cohort::config
