#pragma once
// Shared by the unit tests: a small synthetic training config and temporary directories.

#include <filesystem>
#include <string>

#include "cohort/config/schema.h"

namespace cohort::testing {

/// A complete, validated config training a small MLP on synthetic data, with
/// `overrides` merged over it first (a section with a "name" replaces the default one).
config::Json synthetic_config(const config::Json& overrides = config::Json::object());

/// A fresh empty directory under the system's temporary directory.
std::filesystem::path temporary_directory(const std::string& name);

}  // namespace cohort::testing
