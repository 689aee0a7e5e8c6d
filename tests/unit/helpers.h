#pragma once
// Shared by the unit tests: a small synthetic training config and temporary directories.

#include <filesystem>
#include <string>

#include "cohort/config/schema.h"
#include "common/temporary_directory.h"

namespace cohort::testing {

/// A complete, validated config training a small MLP on synthetic data, with
/// `overrides` merged over it first (a section with a "name" replaces the default one).
config::Json synthetic_config(const config::Json& overrides = config::Json::object());

}  // namespace cohort::testing
