#pragma once
// Gaussian-process Bayesian optimisation, in the style of Optuna's GPSampler,
// BoTorch and Spearmint, made to compose with every scheduler:
//  - the model is a GP over the unit coordinates of encoding.h (levels at
//    their unit value, choices through an overlap kernel term) with a
//    Matérn-5/2 ARD kernel, a constant mean and a noise variance, its
//    hyperparameters the MAP of the log marginal likelihood under weak priors
//    (L-BFGS with analytic gradients, warm-started from the last fit, so a
//    seed gives the same proposals);
//  - the losses are made rank-safe before they are standardised: a NaN (a
//    diverged run) counts as the worst finite loss, and losses far above the
//    upper quartile are clipped to q75 + 3 IQR, so one exploded run does not
//    flatten the model around the good configurations;
//  - a proposal maximises log expected improvement over the best posterior
//    mean among the observed points: num_candidates prior draws plus draws
//    perturbed around the best observed points, then a short hill climb from
//    the best few; levels and choices are rounded before they are scored;
//  - multi-fidelity (Hyperband, ASHA): the model is fitted at the largest
//    budget with min_points observations (BOHB's rule), on at most
//    max_points of them: the best half by loss and the most recent others,
//    which keeps a fit's O(n^3) cost bounded however many cheap trials run;
//  - trials running at the time of a proposal enter the posterior as
//    observations at their predicted mean, but no better than the average
//    observation (a kriging believer that lies like a constant liar where
//    the model is optimistic): their variance collapses and the mean there
//    rises, so the expected improvement next to them vanishes and
//    concurrent asks spread out. Under Hyperband and ASHA the most recent
//    configurations observed only below the model's budget are believed
//    likewise (up to 32), so a model that has no new top-budget result does
//    not fill a rung with copies of one configuration.

#include <cstddef>
#include <memory>
#include <optional>

#include "cohort/core/arg.h"
#include "cohort/tuner/samplers/sampler.h"

namespace cohort::tuner {

struct GpOptions {
  /// Proposals drawn from the prior until this many observations exist.
  COHORT_ARG(size_t, startup_trials) = 10;
  /// Prior draws scored per proposal (as many again are drawn around the best points).
  COHORT_ARG(size_t, num_candidates) = 256;
  /// The most observations one fit uses (the best half and the most recent).
  COHORT_ARG(size_t, max_points) = 128;
  /// Observations a budget needs to be modelled (0: the space's dimensions + 1).
  COHORT_ARG(size_t, min_points) = 0;
  /// L-BFGS iterations per hyperparameter fit and start.
  COHORT_ARG(size_t, fit_iterations) = 30;
  /// Running trials, and up to 32 of the most recent configurations observed
  /// only below the model's budget, count as observations at their predicted
  /// mean, no better than the average observation (kriging believer /
  /// constant liar).
  COHORT_ARG(bool, believe_pending) = true;
};

namespace detail {
struct Point;
}

class GpSampler : public Sampler {
 public:
  /// A sampler over `space`. Throws std::invalid_argument for options out of
  /// range: no candidates, max_points below 2 or fit_iterations 0.
  explicit GpSampler(SearchSpace space, GpOptions options = {});
  ~GpSampler() override;

  /// A configuration to try; `budget` is ignored (the model picks its own
  /// budget). A prior draw (model_based false) until startup_trials
  /// observations exist, when the modelled budget has fewer than two, or when
  /// the space has nothing to model; otherwise the expected improvement's
  /// maximiser found. Never empty. All randomness comes from `rng`.
  std::optional<Proposal> propose(double budget, Rng& rng) override;

  /// Keeps `observation` at its budget. Throws std::invalid_argument when the
  /// config lacks one of the space's parameters or holds a value the
  /// parameter cannot take. A NaN loss counts as the worst.
  void observe(const Observation& observation) override;

  /// Counts `config` as running (believed at its predicted mean, no better
  /// than the average observation) until
  /// trial_ended() or until it is observed.
  void trial_started(const Json& config, double budget) override;
  void trial_ended(const Json& config, double budget) override;

  /// Observations kept in all, and trials running that have no observation yet.
  size_t observations() const;
  size_t pending() const;

  /// The budget the model is fitted at, or nothing before any observation.
  std::optional<double> model_budget() const;

  const GpOptions& options() const { return options_; }

 private:
  struct State;  // the encoded observations, the fit and the posterior (see the .cpp)

  void check_options() const;
  size_t min_points() const;
  /// Refits the hyperparameters (after new observations) and rebuilds the posterior.
  void refit();
  /// Rebuilds the posterior from the fitted data and the unresolved configurations.
  void condition();
  /// The configurations the model is told to believe: the running trials
  /// with no observation at the model's budget, then, up to 32 in all, the
  /// most recent configurations observed only below it.
  std::vector<const detail::Point*> unresolved() const;

  GpOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace cohort::tuner
