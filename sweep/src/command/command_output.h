#pragma once
// What a command's output means for its trial: the JSON lines that report on
// the way and the one that ends it, and why a command that ended failed.

#include <optional>
#include <string>

#include "cohort/tuner/trial.h"

namespace cohort::sweep::detail {

using tuner::Json;
using tuner::Result;

/// An intermediate value: the metric after `budget`, less than the trial's own.
struct IntermediateReport {
  double budget = 0.0;
  double value = 0.0;
};

/// `line` as an intermediate report of a trial at `trial_budget`: a JSON
/// object whose "budget" is a number below it. Nothing for any other line.
/// Throws std::runtime_error when such a line lacks the metric as a number.
std::optional<IntermediateReport> intermediate_report(const Json& line, const std::string& metric,
                                                      double trial_budget);

/// The result that the JSON object `line` ends a trial with: completed with
/// the metric at `metric` (and `info`, plus "output": the line), or failed,
/// not to be retried (the same command would print the same), when the metric
/// is missing or no number.
Result final_result(const Json& line, const std::string& metric, const std::string& where, Json info);

/// `line` parsed, when it is a JSON object.
std::optional<Json> json_object(const std::string& line);

/// The last line of `path` with a letter or a digit on it (not a launcher's
/// rule of dashes); when rules frame it, the whole message between them (as
/// mpirun prints its banners) on one line. Shortened for a message; "" if none.
std::string last_line(const std::string& path);

/// How a process that ended with wait status `status` ended: "exited with
/// status 3", "was killed by signal 9 (Killed)", or for an exit status of
/// 128 + n, "exited with status 137 (128 + 9: a process it ran was killed by
/// signal 9, Killed)", as shells and mpirun say so.
std::string how_it_ended(int status);

/// Why a command that ended with wait status `status` failed: its exit
/// status or signal, and the last line of its stderr (in `stderr_path`).
std::string exit_failure(int status, const std::string& stderr_path);

}  // namespace cohort::sweep::detail
