#pragma once
// A registry of named factories, each with the schema of its options. Models,
// datasets, optimizers, schedules and strategies each keep one, so a config's
// `"name"` picks the factory and its other keys are validated by that schema.

#include <functional>
#include <map>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "cohort/config/schema.h"
#include "cohort/core/error.h"

namespace cohort {

template <typename Product, typename... Args>
class Registry {
 public:
  /// Builds a product from validated options (which include "name") and the
  /// context the caller supplies.
  using Factory = std::function<Product(const config::Json& options, Args... args)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Registers `name`; a later add() with the same name replaces it.
  Registry& add(const std::string& name, config::Schema options, Factory factory) {
    entries_[name] = Entry{std::move(options), std::move(factory)};
    return *this;
  }

  /// Calls the factory named by `options["name"]`.
  Product create(const config::Json& options, Args... args) const {
    const auto name = options.at("name").template get<std::string>();
    const auto found = entries_.find(name);
    if (found == entries_.end()) throw InputError(fmt::format("no {} is registered as \"{}\".", kind_, name));
    return found->second.factory(options, std::forward<Args>(args)...);
  }

  /// The schema of each registered entry's options, by name: what a
  /// config::Schema::variant() key chooses among.
  std::map<std::string, config::Schema> schemas() const {
    std::map<std::string, config::Schema> by_name;
    for (const auto& entry : entries_) by_name.emplace(entry.first, entry.second.options);
    return by_name;
  }

  /// Adds a key to `schema` whose "name" chooses among the registered entries.
  void add_to_schema(config::Schema& schema, const std::string& key, const std::string& default_name,
                     const std::string& doc) const {
    schema.variant(key, default_name, schemas(), doc);
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

 private:
  struct Entry {
    config::Schema options;
    Factory factory;
  };
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace cohort
