#include "cohort/tuner/samplers/registry.h"

#include "cohort/tuner/samplers/bohb_sampler.h"
#include "cohort/tuner/samplers/grid_sampler.h"
#include "cohort/tuner/samplers/random_sampler.h"

namespace cohort::tuner {
namespace {

using config::Json;
using config::Range;
using config::Schema;

Schema bohb_schema() {
  const BohbOptions defaults;
  return Schema()
      .number("top_fraction", defaults.top_fraction(), "share of the observations that form the good density",
              Range{0.0, 1.0, true, false})
      .integer("num_candidates", int64_t(defaults.num_candidates()), "candidates drawn per model-based proposal",
               Range::at_least(1))
      .number("random_fraction", defaults.random_fraction(), "share of proposals drawn from the prior regardless",
              Range::between(0, 1))
      .number("bandwidth_factor", defaults.bandwidth_factor(),
              "how much wider than the good density candidates are drawn", Range::positive())
      .number("min_bandwidth", defaults.min_bandwidth(), "the smallest bandwidth on the unit scale",
              Range::positive())
      .integer("min_points", 0, "observations each density needs for a model (0 = parameters + 1)",
               Range::at_least(0));
}

std::unique_ptr<Sampler> make_bohb(const Json& options, const SearchSpace& space) {
  return std::make_unique<BohbSampler>(space, BohbOptions()
                                                  .top_fraction(options.at("top_fraction").get<double>())
                                                  .num_candidates(options.at("num_candidates").get<size_t>())
                                                  .random_fraction(options.at("random_fraction").get<double>())
                                                  .bandwidth_factor(options.at("bandwidth_factor").get<double>())
                                                  .min_bandwidth(options.at("min_bandwidth").get<double>())
                                                  .min_points(options.at("min_points").get<size_t>()));
}

}  // namespace

SamplerRegistry& sampler_registry() {
  static SamplerRegistry registry = [] {
    SamplerRegistry built("sampler");
    built.add("random", Schema(), [](const Json&, const SearchSpace& space) -> std::unique_ptr<Sampler> {
      return std::make_unique<RandomSampler>(space);
    });
    built.add("grid", Schema(), [](const Json&, const SearchSpace& space) -> std::unique_ptr<Sampler> {
      return std::make_unique<GridSampler>(space);
    });
    built.add("bohb", bohb_schema(), make_bohb);
    return built;
  }();
  return registry;
}

}  // namespace cohort::tuner
