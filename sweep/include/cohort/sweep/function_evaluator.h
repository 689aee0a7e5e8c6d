#pragma once
// The built-in test-function objective of a sweep: branin, hartmann6 or
// counting_ones from the tuner's test functions, evaluated in the group leader's
// process. For trying a sweep out without training anything, and for
// measuring the executor itself (dispatch rate, how busy the groups are).

#include <memory>

#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

/// The evaluator for an objective block with "function" set
/// (objective.function is "branin", "hartmann6" or "counting_ones").
/// objective.settings may hold:
///   "sleep_s":       seconds one trial takes per unit of budget (default 0),
///                    so a benchmark can give trials a duration; a trial whose
///                    TrialContext::deadline comes first is timed_out;
///   "uneven":        true to scale that duration by a factor in [0.25, 1.75)
///                    drawn from the trial's configuration and budget;
///   "fail_fraction": the share of configurations whose trials fail (default
///                    0), for tests of fault isolation;
///   "categorical", "continuous": the dimensions of counting_ones (8 and 8).
/// The draws are hashes of the configuration, so they repeat on every run.
/// Only the group's leader evaluates; the other ranks return at once.
/// Throws cohort::InputError for an unknown function.
std::unique_ptr<Evaluator> make_function_evaluator(const ObjectiveSpec& objective);

}  // namespace cohort::sweep
