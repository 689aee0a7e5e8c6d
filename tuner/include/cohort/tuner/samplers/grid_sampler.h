#pragma once
// Grid search: the full Cartesian product of the space, in a fixed order
// (the last parameter varies fastest), each point once.

#include <vector>

#include "cohort/tuner/samplers/sampler.h"

namespace cohort::tuner {

class GridSampler : public Sampler {
 public:
  /// Throws cohort::InputError when the space has a float parameter.
  explicit GridSampler(SearchSpace space);
  std::optional<Proposal> propose(double budget, Rng& rng) override;
  size_t grid_size() const { return points_.size(); }

 private:
  std::vector<Json> points_;
  size_t next_ = 0;
};

}  // namespace cohort::tuner
