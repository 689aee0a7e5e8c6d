#pragma once
// The data report.html embeds: everything the page draws, computed here so
// that the page's script only lays it out.

#include "cohort/tuner/report/report.h"

namespace cohort::tuner::report {

/// At most this many learning curves are embedded (the best trials' first),
/// so that a sweep of thousands of trials still gives a page that opens.
constexpr size_t kMaxCurves = 100;

/// One JSON object with the page's title, the counts of trials by state, the
/// best trial, the best-so-far trace, the learning curves, the axes and lines
/// of the parallel-coordinates view, and every trial. docs/sweeps.md
/// describes what the page makes of it.
Json report_data(const ReportInput& input);

/// The number at `metric` in one metrics record, or nothing: the key itself,
/// else a dotted path into nested objects ("validation.accuracy"), else the
/// trainer's flat name for it ("val_accuracy"), as metrics.jsonl spells it.
std::optional<double> metric_value(const Json& record, const std::string& metric);

}  // namespace cohort::tuner::report
