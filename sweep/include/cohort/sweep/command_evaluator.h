#pragma once
// Trials that are external commands: code not built on Cohort, tuned the same
// way. The command runs once per trial on the group's leader, with the
// trial's values in its arguments, and reports its metric as the last JSON
// object it prints on stdout.

#include <string>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

struct CommandEvaluatorOptions {
  /// Seconds between SIGTERM and SIGKILL for a command past its deadline.
  COHORT_ARG(double, kill_grace_s) = 5.0;
};

/// `command` with its placeholders replaced: "{budget}", "{trial_id}",
/// "{trial_dir}" by the trial's own, and "{<path>}" by the value of the
/// trial's configuration at that path (e.g. "{optimizer.lr}"). Numbers are
/// written so that they read back exactly (shortest round-trip form),
/// strings as they are, true/false as such. Only "{name}" with a name of
/// letters, digits and "_.-" is a placeholder; other braces stay as they are.
/// Throws std::runtime_error naming the first placeholder that is none of these.
std::vector<std::string> expand_command(const std::vector<std::string>& command, const Trial& trial,
                                        const std::string& trial_dir);

class CommandEvaluator : public Evaluator {
 public:
  /// `command`: the program and its arguments, with placeholders (see
  /// expand_command()); `metric`: a dotted path into the last JSON object line
  /// the command prints.
  CommandEvaluator(std::vector<std::string> command, std::string metric, CommandEvaluatorOptions options = {});

  /// On every rank of context.group together; only the leader runs the
  /// command (found on PATH, started in the working directory of the sweep,
  /// stdin from /dev/null, stdout and stderr to trial_dir/stdout.log and
  /// stderr.log) and the others get its result (run_on_leader()). Completed
  /// when it exits with status 0 and its last JSON object line has the metric
  /// as a number; failed otherwise, saying why (exit status or signal with the
  /// last line of stderr, no JSON line, the metric missing); timed_out when
  /// context.deadline passes first (the command's process group gets SIGTERM,
  /// then SIGKILL after kill_grace_s).
  Result evaluate(const Trial& trial, const TrialContext& context) override;

 private:
  std::vector<std::string> command_;
  std::string metric_;
  CommandEvaluatorOptions options_;
};

}  // namespace cohort::sweep
