#include "cohort/tuner/samplers/random_sampler.h"

namespace cohort::tuner {

std::optional<Proposal> RandomSampler::propose(double /*budget*/, Rng& rng) {
  return Proposal{space_.sample(rng), false};
}

}  // namespace cohort::tuner
