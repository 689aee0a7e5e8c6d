#pragma once
// What a finished (or running) study leaves behind for people and tools.

#include <string>

#include "cohort/tuner/study/study.h"

namespace cohort::tuner {

/// Writes, each atomically, into `directory`:
/// - results.csv: one row per trial (id, configuration, budget, state, value, ...)
/// - best.json: the best trial at the largest budget reached, and its configuration
/// - configs.json and results.json in HpBandSter's format, so its analysis
///   tools (hpbandster.core.result.logged_results_to_HBS_result) read a Cohort sweep.
void write_outputs(const Study& study, const std::string& directory);

/// The CSV text of results.csv (exposed for tests).
std::string results_csv(const Study& study);

}  // namespace cohort::tuner
