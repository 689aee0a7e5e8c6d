#pragma once
// Samplers by name, for sweep configs: `"sampler": {"name": "bohb", ...}`.
// Each entry carries the schema of its options, so a config is validated
// before anything is built.

#include <memory>

#include "cohort/core/registry.h"
#include "cohort/tuner/samplers/sampler.h"
#include "cohort/tuner/space/search_space.h"

namespace cohort::tuner {

/// Factories take the sampler's validated options and the search space.
using SamplerRegistry = Registry<std::unique_ptr<Sampler>, const SearchSpace&>;

/// The registry with the built-in samplers (`random`, `grid`, `bohb`, `tpe`, `gp`); add()
/// your own to it before a sweep config is read.
SamplerRegistry& sampler_registry();

}  // namespace cohort::tuner
