#pragma once
// Benchmark functions with known optima, for the tuner's tests and benchmarks:
// a sampler or scheduler is run against one and judged by how close it gets
// to `optimum` for how much budget it spent.

#include <functional>
#include <string>

#include "cohort/tuner/space/search_space.h"

namespace cohort::tuner {

/// A benchmark function with a known optimum, for tests and benchmarks.
struct TestObjective {
  std::string name;
  SearchSpace space;
  /// The minimum of `evaluate` over the space (at the largest budget, in expectation).
  double optimum = 0.0;
  /// The budget range it is meant for.
  double min_budget = 1.0;
  double max_budget = 1.0;
  /// The loss (minimised) of a flat configuration at a budget. Deterministic:
  /// the same (config, budget) always gives the same value. A configuration
  /// that lacks one of the space's paths, or holds a non-number there, raises
  /// cohort::InputError naming the objective and the path.
  std::function<double(const Json& config, double budget)> evaluate;
};

/// The Branin-Hoo function, a(x2 - b x1^2 + c x1 - r)^2 + s(1 - t) cos(x1) + s
/// with a = 1, b = 5.1 / (4 pi^2), c = 5 / pi, r = 6, s = 10, t = 1 / (8 pi).
/// Space: "x1" uniform [-5, 10], "x2" uniform [0, 15].
/// Optimum 0.397887357729739 at (-pi, 12.275), (pi, 2.275) and (3 pi, 2.475).
/// Budget range 1..243 (powers of 3, so every eta in {3, 9, 27, 81, 243} gives
/// whole rungs); the value does not depend on the budget, which only stands
/// for cost: a cheap low-budget evaluation is exact, the best case for
/// multi-fidelity methods (Hyperband, ASHA, BOHB) against random search.
TestObjective branin();

/// The six-dimensional Hartmann function, -sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2)
/// with the standard constants (alpha = (1, 1.2, 3, 3.2); A and P as in
/// Dixon & Szegö 1978 and the Virtual Library of Simulation Experiments).
/// Space: "x1".."x6" uniform [0, 1].
/// Optimum -3.32236801141551 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
/// Budget range 1..243; as with branin(), the value does not depend on the budget.
TestObjective hartmann6();

/// Counting ones (Falkner et al., "BOHB", ICML 2018): a mixed space where the
/// budget buys precision.
/// Space: `categorical` parameters "c1".."cN" as choice [0, 1] (categorical,
/// so a model cannot exploit their order) and `continuous` parameters
/// "x1".."xM" uniform [0, 1].
/// Loss: -(sum_i c_i + sum_j mean of n Bernoulli(x_j) draws), n = round(budget)
/// (at least 1). Each mean is an unbiased estimate of x_j with variance
/// x_j (1 - x_j) / n, so low budgets are cheap, noisy evaluations of the same
/// expected loss -(sum c_i + sum x_j).
/// Optimum -(N + M), at all ones (exact at every budget, as Bernoulli(1) is always 1).
/// Budget range 9..729 (samples; 729 = 9 * 3^4, so eta = 3 gives five rungs).
/// The draws come from an Rng seeded with a portable hash (FNV-1a) of
/// `config.dump()` and the budget's bits, so results repeat across runs and
/// platforms; two configurations or budgets get independent noise.
TestObjective counting_ones(int categorical = 8, int continuous = 8);

}  // namespace cohort::tuner
