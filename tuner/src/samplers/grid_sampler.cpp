#include "cohort/tuner/samplers/grid_sampler.h"

namespace cohort::tuner {

GridSampler::GridSampler(SearchSpace space) : Sampler(std::move(space)), points_(space_.grid()) {}

std::optional<Proposal> GridSampler::propose(double /*budget*/, Rng& /*rng*/) {
  if (next_ >= points_.size()) return std::nullopt;
  return Proposal{points_[next_++], false};
}

}  // namespace cohort::tuner
