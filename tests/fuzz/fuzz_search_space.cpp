// fuzz-link: Cohort::tuner
// Search spaces: the input is a `space` object's bytes. A space that reads
// (SearchSpace::from_json) is sampled, its values mapped to the unit scale and
// back, gridded where it is small, and given to every built-in sampler, which
// proposes and observes a few trials (so BOHB's and TPE's models are fitted).

#include <algorithm>
#include <functional>

#include "cohort/config/config.h"
#include "cohort/tuner/samplers/registry.h"
#include "cohort/tuner/space/search_space.h"
#include "fuzzing.h"

namespace {

using cohort::tuner::Json;
using cohort::tuner::Parameter;
using cohort::tuner::SearchSpace;

/// Every value of `configuration` through its parameter's encodings.
void round_trip(const SearchSpace& space, const Json& configuration) {
  for (const auto& p : space.parameters()) {
    const Json& value = configuration.at(p.path);
    if (p.is_continuous() || p.kind == Parameter::Kind::kInt) (void)p.from_unit(p.to_unit(value));
    if (p.is_discrete()) (void)p.level(p.index_of(value));
  }
}

/// A sampler's options for a short run: few candidates and startup draws, so the model is used at once.
Json sampler_options(const std::string& name) {
  auto schemas = cohort::tuner::sampler_registry().schemas();
  Json options = Json::object();
  if (name == "bohb") options = {{"num_candidates", 8}, {"min_points", 2}};
  if (name == "tpe" || name == "gp") options = {{"num_candidates", 8}, {"startup_trials", 2}};
  Json validated = schemas.at(name).validate(options, "fuzz");
  validated["name"] = name;
  return validated;
}

void run_sampler(const std::string& name, const SearchSpace& space) {
  auto sampler = cohort::tuner::sampler_registry().create(sampler_options(name), space);
  cohort::tuner::Rng rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    const auto proposal = sampler->propose(1.0, rng);
    if (!proposal) return;
    round_trip(space, proposal->config);
    sampler->trial_started(proposal->config, 1.0);
    sampler->trial_ended(proposal->config, 1.0);
    const double loss = double(std::hash<std::string>()(proposal->config.dump()) % 1000);
    sampler->observe({proposal->config, 1.0, loss});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = cohort::fuzz::text_of(data, size);
  cohort::fuzz::expect_success_or_refusal([&] {
    Json raw;
    try {
      raw = cohort::config::parse_json(text, "fuzz.json");
    } catch (const Json::parse_error&) {
      return;  // malformed JSON: read_json_file words it as a refusal
    }
    const auto space = SearchSpace::from_json(raw, "fuzz.json");
    cohort::tuner::Rng rng(1);
    for (int i = 0; i < 4; ++i) {
      const auto configuration = space.sample(rng);
      round_trip(space, configuration);
      Json nested = Json::object();
      cohort::tuner::apply_configuration(configuration, nested);
    }
    (void)space.to_json().dump();
    const auto& parameters = space.parameters();
    const bool griddable = std::all_of(parameters.begin(), parameters.end(), [](const Parameter& p) { return p.is_discrete(); });
    if (griddable && space.grid_size() <= 1000) run_sampler("grid", space);
    for (const char* name : {"random", "bohb", "tpe", "gp"}) run_sampler(name, space);
  });
  return 0;
}
