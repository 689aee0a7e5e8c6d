#pragma once
// Random search: every configuration drawn independently from the priors.

#include "cohort/tuner/samplers/sampler.h"

namespace cohort::tuner {

class RandomSampler : public Sampler {
 public:
  using Sampler::Sampler;
  std::optional<Proposal> propose(double budget, Rng& rng) override;
};

}  // namespace cohort::tuner
