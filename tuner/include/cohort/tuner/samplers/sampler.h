#pragma once
// A sampler decides where to look: it proposes configurations and learns from
// the results. How much budget each one gets is the scheduler's business.

#include <optional>

#include "cohort/tuner/random.h"
#include "cohort/tuner/space/search_space.h"

namespace cohort::tuner {

/// A configuration to evaluate, and whether a model (not the prior) chose it.
struct Proposal {
  Json config;
  bool model_based = false;
};

/// A finished evaluation, as samplers see it. `loss` is always minimised
/// (a maximised objective arrives negated).
struct Observation {
  Json config;
  double budget = 0.0;
  double loss = 0.0;
};

class Sampler {
 public:
  explicit Sampler(SearchSpace space) : space_(std::move(space)) {}
  virtual ~Sampler() = default;

  /// A new configuration to try at `budget`, or nothing when the sampler has
  /// no more (a finished grid). All randomness comes from `rng`.
  virtual std::optional<Proposal> propose(double budget, Rng& rng) = 0;

  /// Learns from a completed evaluation. Failed trials are never observed:
  /// a crash says nothing about the objective.
  virtual void observe(const Observation& observation) { (void)observation; }

  /// A trial of `config` at `budget` started; it is pending until
  /// trial_ended(). A sampler asked while others run can use this not to
  /// propose near-copies of what is already running (TPE's constant liar).
  virtual void trial_started(const Json& config, double budget) { (void)config, (void)budget; }

  /// A trial announced by trial_started() ended, whatever its outcome (a
  /// completed one is observe()d right after).
  virtual void trial_ended(const Json& config, double budget) { (void)config, (void)budget; }

  const SearchSpace& space() const { return space_; }

 protected:
  SearchSpace space_;
};

}  // namespace cohort::tuner
