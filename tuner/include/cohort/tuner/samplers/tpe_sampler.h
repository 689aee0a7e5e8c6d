#pragma once
// A tree-structured Parzen estimator in the style of Optuna's TPESampler
// (Bergstra et al., 2011; Watanabe, 2023), made to compose with every
// scheduler:
//  - the observations are split into a good and a bad set by a quantile that
//    grows with n, gamma(n) = min(ceil(gamma_fraction n), gamma_max);
//  - each set is a Parzen mixture with one kernel per observation plus a wide
//    prior kernel (weight prior_weight), with Optuna's bandwidths (neighbour
//    distances per parameter) or, multivariate by default, Scott's rule on
//    the centres' spread, clipped below by the "magic clip"
//    range / min(100, 1 + kernels);
//  - a proposal is the best of num_candidates candidates drawn from the good
//    mixture, ranked by l(x) / g(x); per parameter (univariate) or jointly;
//  - trials running at the time of a proposal count as bad (constant liar),
//    so that many workers asking at once do not get near-identical configs;
//  - observations at every budget are used: each budget is split by its own
//    quantile, and a kernel's weight grows with the budget that produced it,
//    (budget / reference)^budget_exponent capped at 1, the reference being the
//    largest budget with min_points observations. With successive halving
//    every rung then carries about the same total weight as the budget spent
//    on it, and a biased low budget cannot outvote the full one;
//  - and a budget below the reference also weighs as much as it ranks like
//    it: its cost weight times tau^agreement_exponent, tau Kendall's tau
//    between the losses of the configurations observed at both, clipped at 0
//    (weighing a fidelity by how well it ranks the highest one's
//    configurations is MFES-HB's and Hyper-Tune's idea, Li et al. 2021 and
//    2022). A budget that ranks exactly like the reference (a
//    budget-independent objective) keeps its cost weight; a biased or noisy
//    one is silenced instead of steering the good density where it is wrong;
//  - optionally (random_fraction) a share of the proposals are prior draws,
//    BOHB's hedge against a model that has settled in the wrong place.
// Floats live on the unit scale (after the log for log-uniform ones), ints and
// ordinals are discretised Gaussians over their levels (Optuna's half-step
// widened bounds), and choices get Optuna's categorical kernel.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>

#include "cohort/core/arg.h"
#include "cohort/tuner/samplers/sampler.h"

namespace cohort::tuner {

struct TpeOptions {
  /// Proposals drawn from the prior until this many observations exist.
  COHORT_ARG(size_t, startup_trials) = 10;
  /// Candidates drawn from the good mixture per proposal (per parameter when univariate).
  COHORT_ARG(size_t, num_candidates) = 24;
  /// The good set's share of the observations at one budget...
  COHORT_ARG(double, gamma_fraction) = 0.1;
  /// ...and its largest size.
  COHORT_ARG(size_t, gamma_max) = 25;
  /// Weight of the prior kernel in each mixture (each observation weighs at most 1).
  COHORT_ARG(double, prior_weight) = 1.0;
  /// Floor the bandwidths at range / min(100, 1 + kernels) (Optuna's "magic clip").
  COHORT_ARG(bool, magic_clip) = true;
  /// One joint density over all parameters (true) or one per parameter, each
  /// proposed independently (false: Optuna's default).
  COHORT_ARG(bool, multivariate) = true;
  /// Multivariate bandwidths from the spread of the kernels' centres
  /// (Scott's rule, 1.06 std n^(-1 / (d + 4)), as BOHB), where that is
  /// narrower than older Optuna's 0.2 n^(-1 / (d + 4)) of the range: the good
  /// density can then tighten around a basin it has found. False (and always
  /// when univariate): Optuna's rule, each kernel's larger distance to a
  /// neighbour along each coordinate.
  COHORT_ARG(bool, adaptive_bandwidth) = true;
  /// Optuna's default weights in the bad set: the latest 25 observations of a
  /// budget weigh 1, older ones ramp down to 1/n.
  COHORT_ARG(bool, recency_weights) = true;
  /// Count running trials as bad observations (constant liar).
  COHORT_ARG(bool, constant_liar) = true;
  /// How fast a kernel's weight falls below the reference budget: 0 treats
  /// every budget alike, 1 weighs an observation by its cost.
  COHORT_ARG(double, budget_exponent) = 1.0;
  /// The bad set's kernels per budget: past this many, only the most recent
  /// are kept, their weights scaled up so the budget's bad mass stays the
  /// same (0: keep all). Bounds the cost of a proposal when ASHA or Hyperband
  /// run thousands of cheap trials; the recent ones lie where the model
  /// looks now, which is where the ratio is decided.
  COHORT_ARG(size_t, max_bad_kernels) = 256;
  /// Observations a budget needs to be the reference budget, and
  /// configurations observed at both a lower budget and the reference before
  /// their agreement is measured.
  COHORT_ARG(size_t, min_points) = 10;
  /// A budget below the reference weighs its cost weight times tau^exponent,
  /// tau its rank agreement with the reference (Kendall's tau-b over the
  /// configurations observed at both, clipped to [0, 1]; 1 until min_points
  /// such configurations exist). 0 turns the agreement off; 2 (not 1)
  /// measured better on the biased benchmarks (docs/benchmarks.md, Tuner).
  COHORT_ARG(double, agreement_exponent) = 2.0;
  /// Share of the model-based proposals replaced by prior draws (0: none).
  /// Off by default: it helps ASHA on a biased low budget and costs
  /// Hyperband, which has unbiased full-budget trials, more (benchmarks.md).
  COHORT_ARG(double, random_fraction) = 0.0;
};

class TpeSampler : public Sampler {
 public:
  /// A sampler over `space`. Throws std::invalid_argument for options out of
  /// range: no candidates, gamma_fraction outside (0, 1], gamma_max 0, a
  /// negative prior_weight, budget_exponent or agreement_exponent,
  /// random_fraction outside [0, 1], or min_points 0.
  explicit TpeSampler(SearchSpace space, TpeOptions options = {});
  ~TpeSampler() override;

  /// A configuration to try; `budget` is ignored (the model uses every
  /// budget). A prior draw (model_based false) until startup_trials
  /// observations exist or when the space has nothing to model; otherwise the
  /// best candidate by l(x) / g(x), or with probability random_fraction a
  /// prior draw. Never empty. All randomness comes from `rng`.
  std::optional<Proposal> propose(double budget, Rng& rng) override;

  /// Keeps `observation` at its budget for good. Throws std::invalid_argument
  /// when the config lacks one of the space's parameters or holds a value the
  /// parameter cannot take. A NaN loss ranks as the worst.
  void observe(const Observation& observation) override;

  /// Counts `config` as running (a bad observation under constant_liar)
  /// until trial_ended() or until it is observed at some budget.
  void trial_started(const Json& config, double budget) override;
  void trial_ended(const Json& config, double budget) override;

  /// Observations kept at `budget` (0 for a budget never seen), and in all.
  size_t observations_at(double budget) const;
  size_t observations() const;
  /// Trials running that have no observation yet (the constant liar's lies).
  size_t pending() const;

  /// The reference budget (weight 1) of the current observations, or nothing before any.
  std::optional<double> reference_budget() const;

  /// Each budget's weight factor relative to the reference budget, cost and
  /// agreement together: 1 at and above the reference. Empty before any observation.
  std::map<double, double> budget_weights() const;

  const TpeOptions& options() const { return options_; }

 private:
  struct State;  // the encoded observations and the current model (see the .cpp)

  void check_options() const;
  /// The good set's size among n observations at one budget.
  size_t gamma(size_t n) const;
  /// Rebuilds both mixtures from the observations and the pending trials.
  void rebuild();
  /// Each budget below `reference`: Kendall's tau-b, clipped to [0, 1], of
  /// its losses against the reference's over the configurations observed at
  /// both; 1 with fewer than min_points such configurations.
  std::map<double, double> budget_agreements(double reference) const;

  TpeOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace cohort::tuner
