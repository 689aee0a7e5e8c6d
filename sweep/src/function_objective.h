#pragma once
// The tuner's test function an objective block names (objective.function),
// shared by the function evaluator and the sweep config's checks.

#include "cohort/tuner/test_functions/test_functions.h"
#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

/// branin(), hartmann6() or counting_ones(settings "categorical",
/// "continuous") for objective.function. Throws cohort::InputError for any
/// other name.
TestObjective function_objective(const ObjectiveSpec& objective);

}  // namespace cohort::sweep
