#include "cohort/tuner/samplers/registry.h"

#include "cohort/tuner/samplers/bohb_sampler.h"
#include "cohort/tuner/samplers/gp_sampler.h"
#include "cohort/tuner/samplers/grid_sampler.h"
#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/samplers/tpe_sampler.h"

namespace cohort::tuner {
namespace {

using config::Json;
using config::Range;
using config::Schema;

/// The most candidates a model-based proposal may score: each costs a density
/// evaluation per observation, so more would stall the coordinator.
constexpr double kMaxCandidates = 100000;

Schema bohb_schema() {
  const BohbOptions defaults;
  return Schema()
      .number("top_fraction", defaults.top_fraction(), "share of the observations that form the good density",
              Range{0.0, 1.0, true, false})
      .integer("num_candidates", int64_t(defaults.num_candidates()), "candidates drawn per model-based proposal",
               Range::between(1, kMaxCandidates))
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

Schema tpe_schema() {
  const TpeOptions defaults;
  return Schema()
      .integer("startup_trials", int64_t(defaults.startup_trials()), "prior draws before the model",
               Range::at_least(0))
      .integer("num_candidates", int64_t(defaults.num_candidates()), "candidates drawn per proposal",
               Range::between(1, kMaxCandidates))
      .number("gamma_fraction", defaults.gamma_fraction(), "share of each budget's observations that are good",
              Range{0.0, 1.0, true, false})
      .number("prior_weight", defaults.prior_weight(), "weight of the prior kernel", Range::positive())
      .boolean("multivariate", defaults.multivariate(), "one joint density (true) or one per parameter")
      .boolean("constant_liar", defaults.constant_liar(), "count running trials as bad observations");
}

std::unique_ptr<Sampler> make_tpe(const Json& options, const SearchSpace& space) {
  return std::make_unique<TpeSampler>(space, TpeOptions()
                                                 .startup_trials(options.at("startup_trials").get<size_t>())
                                                 .num_candidates(options.at("num_candidates").get<size_t>())
                                                 .gamma_fraction(options.at("gamma_fraction").get<double>())
                                                 .prior_weight(options.at("prior_weight").get<double>())
                                                 .multivariate(options.at("multivariate").get<bool>())
                                                 .constant_liar(options.at("constant_liar").get<bool>()));
}

/// The most observations one GP fit may use: a fit costs O(n^3) per
/// likelihood evaluation, so more would stall the coordinator.
constexpr double kMaxGpPoints = 1000;

Schema gp_schema() {
  const GpOptions defaults;
  return Schema()
      .integer("startup_trials", int64_t(defaults.startup_trials()), "prior draws before the model",
               Range::at_least(0))
      .integer("num_candidates", int64_t(defaults.num_candidates()),
               "prior candidates scored per proposal (as many again around the best points)",
               Range::between(1, kMaxCandidates))
      .integer("max_points", int64_t(defaults.max_points()),
               "the most observations one fit uses (the best half and the most recent)",
               Range::between(2, kMaxGpPoints))
      .integer("min_points", int64_t(defaults.min_points()),
               "observations a budget needs to be modelled (0 = parameters + 1)", Range::at_least(0))
      .integer("fit_iterations", int64_t(defaults.fit_iterations()), "L-BFGS iterations per hyperparameter fit",
               Range::between(1, 1000))
      .boolean("believe_pending", defaults.believe_pending(),
               "count running (and low-rung-only) configurations as observed at their predicted mean");
}

std::unique_ptr<Sampler> make_gp(const Json& options, const SearchSpace& space) {
  return std::make_unique<GpSampler>(space, GpOptions()
                                                .startup_trials(options.at("startup_trials").get<size_t>())
                                                .num_candidates(options.at("num_candidates").get<size_t>())
                                                .max_points(options.at("max_points").get<size_t>())
                                                .min_points(options.at("min_points").get<size_t>())
                                                .fit_iterations(options.at("fit_iterations").get<size_t>())
                                                .believe_pending(options.at("believe_pending").get<bool>()));
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
    built.add("tpe", tpe_schema(), make_tpe);
    built.add("gp", gp_schema(), make_gp);
    return built;
  }();
  return registry;
}

}  // namespace cohort::tuner
