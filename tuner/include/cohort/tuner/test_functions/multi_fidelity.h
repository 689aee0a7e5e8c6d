#pragma once
// Budget-aware benchmark functions: a low budget gives a biased, noisy
// approximation of the full-budget function, so a configuration's rank can
// change as the budget grows, as a training run's does. (The functions of
// test_functions.h do not depend on the budget, which flatters every
// multi-fidelity method.)
//
// Both use the fidelity z = log(budget / min) / log(max / min), clamped to
// [0, 1], and its error e = 1 - z: at the full budget (e = 0) they are exactly
// the standard functions, so regrets there are exact; at lower budgets the
// function is bent by e and Gaussian noise of standard deviation
// proportional to e is added, seeded by (config, budget) as in counting_ones:
// the same evaluation always gives the same value.

#include "cohort/tuner/test_functions/test_functions.h"

namespace cohort::tuner {

/// z in [0, 1] for `budget` on [min_budget, max_budget] on a log scale.
double fidelity(double budget, double min_budget, double max_budget);

/// Branin with Kandasamy et al.'s (2017) multi-fidelity constants, their
/// shifts made five times larger so the minimisers move visibly:
/// b = 5.1 / (4 pi^2) - 0.05 e, c = 5 / pi - 0.5 e, t = 1 / (8 pi) + 0.05 e,
/// plus noise with standard deviation 2 e. Space, optimum and budgets (1..243)
/// as branin().
TestObjective branin_multi_fidelity();

/// Hartmann6 whose well weights move with e, alpha = (1, 1.2, 3, 3.2) +
/// e (0.5, 0.5, -0.8, 0.5), so at the lowest budget the fourth well, not the
/// third (the global one), is deepest; plus noise with standard deviation
/// 0.1 e. Space, optimum and budgets (1..243) as hartmann6().
TestObjective hartmann6_multi_fidelity();

}  // namespace cohort::tuner
