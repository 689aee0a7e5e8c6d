#pragma once
// BOHB's sampler (Falkner, Klein and Hutter, 2018): a tree-structured Parzen
// estimator. The observations at one budget are split by loss into a "good"
// and a "bad" set, each becomes a kernel density, and a proposal is the
// candidate, drawn from a widened good density, with the highest ratio
// good(x) / bad(x). Which budget a configuration is trained at is the
// scheduler's business (Hyperband); this class only chooses where to look.
//
// Corrections to the reference implementation (HpBandSter):
//  - observations at every budget are kept for good, also after a higher
//    budget has enough for a model (HpBandSter discards the lower budgets');
//  - categorical parameters get a proper categorical kernel (Aitchison-Aitken)
//    rather than a bandwidth on their category indices.
// Also: floats (and ints with more than 128 levels) get a Gaussian kernel
// truncated to [0, 1] on the unit scale; ordinals and ints with up to 128
// levels a Gaussian discretised over their levels, so every proposal is a
// valid level; the good and bad sets are disjoint, ties in loss going by the
// order of observation; fixed parameters, and those with a single value, are
// not dimensions and are copied into every proposal.

#include <cstddef>
#include <memory>
#include <optional>

#include "cohort/core/arg.h"
#include "cohort/tuner/samplers/sampler.h"

namespace cohort::tuner {

struct BohbOptions {
  /// Share of the observations, by loss, that form the good density.
  COHORT_ARG(double, top_fraction) = 0.15;
  /// Candidates drawn from the good density for each model-based proposal.
  COHORT_ARG(size_t, num_candidates) = 64;
  /// Share of proposals drawn from the prior whatever the model says, so the
  /// search never stops exploring.
  COHORT_ARG(double, random_fraction) = 1.0 / 3;
  /// How much wider than the good density the candidates are drawn.
  COHORT_ARG(double, bandwidth_factor) = 3.0;
  /// The smallest bandwidth (on the unit scale) or categorical lambda.
  COHORT_ARG(double, min_bandwidth) = 1e-3;
  /// Points each density needs before there is a model; 0 means d + 1, d the
  /// number of parameters that can take more than one value.
  COHORT_ARG(size_t, min_points) = 0;
};

class BohbSampler : public Sampler {
 public:
  /// A sampler over `space`. Throws std::invalid_argument for options out of
  /// range: top_fraction outside (0, 1], random_fraction outside [0, 1], no
  /// candidates, or a bandwidth factor or minimum bandwidth that is not above 0.
  explicit BohbSampler(SearchSpace space, BohbOptions options = {});
  ~BohbSampler() override;

  /// A configuration to try. `budget` is ignored: the model is always the one
  /// at the largest budget with enough observations, as in BOHB. Without a
  /// model, or with probability random_fraction, a draw from the prior
  /// (model_based false); otherwise the best of num_candidates candidates.
  /// Never empty. All randomness comes from `rng`.
  std::optional<Proposal> propose(double budget, Rng& rng) override;

  /// Keeps `observation` at its budget for good; the model is rebuilt on the
  /// next proposal. Throws std::invalid_argument when the config lacks one of
  /// the space's parameters or has a value the parameter cannot take. A NaN
  /// loss ranks as the worst.
  void observe(const Observation& observation) override;

  /// The budget whose observations the model is built on, or nothing while no
  /// budget has enough observations.
  std::optional<double> model_budget() const;

  /// How many observations are kept at `budget` (0 for a budget never seen).
  size_t observations_at(double budget) const;

  /// The options, with min_points as given (0 for the default).
  const BohbOptions& options() const { return options_; }

 private:
  struct State;  // the encoded observations and the current model (see the .cpp)

  void check_options() const;
  /// Points each of the good and bad sets needs (min_points, or d + 1).
  size_t min_points() const;
  /// The size of the good set among n observations.
  size_t good_count(size_t n) const;
  /// Rebuilds the model from the largest budget with enough observations.
  void rebuild();

  BohbOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace cohort::tuner
