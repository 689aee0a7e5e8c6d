#pragma once
// Trials that are external commands: code not built on Cohort, tuned the same
// way. Either the command runs once per trial on the group's leader, with the
// trial's values in its arguments, and reports its metric as the last JSON
// object it prints on stdout; or it is a persistent worker, started once,
// that reads trials as JSON lines on stdin and answers each with JSON lines
// on stdout (docs/sweeps.md, "Persistent workers"). Either may print
// intermediate values on the way ({"budget": 3, "loss": 0.4}), which the
// scheduler may act on by stopping the trial.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cohort/core/arg.h"
#include "cohort/sweep/evaluator.h"

namespace cohort::sweep {

namespace detail {
class CommandWorker;
}

struct CommandEvaluatorOptions {
  /// Seconds between SIGTERM and SIGKILL for a command past its deadline.
  COHORT_ARG(double, kill_grace_s) = 5.0;
  /// Start the command once, as a persistent worker (see CommandEvaluator).
  COHORT_ARG(bool, worker) = false;
};

/// The placeholders a command may use besides the space's keys, without braces:
/// "budget", "trial_id", "trial_dir", "parent_dir".
const std::vector<std::string>& trial_placeholders();

/// The names of the placeholders in `command` ("{optimizer.lr}" -> "optimizer.lr"),
/// in order: "{name}" with a name of letters, digits and "_.-"; other braces are no placeholder.
std::vector<std::string> command_placeholders(const std::vector<std::string>& command);

/// `words` with each placeholder (as command_placeholders() finds them)
/// replaced by `value(name)`, which throws for a name it has no value for.
std::vector<std::string> substitute_placeholders(const std::vector<std::string>& words,
                                                 const std::function<std::string(const std::string&)>& value);

/// `command` with its placeholders replaced: "{budget}", "{trial_id}",
/// "{trial_dir}" by the trial's own, "{parent_dir}" by its parent's trial
/// directory ("" when it has none), and "{<path>}" by the value of the
/// trial's configuration at that path (e.g. "{optimizer.lr}"). Numbers are
/// written so that they read back exactly (shortest round-trip form),
/// strings as they are, true/false as such. Throws std::runtime_error naming
/// the first placeholder that is none of these.
std::vector<std::string> expand_command(const std::vector<std::string>& command, const Trial& trial,
                                        const std::string& trial_dir, const std::string& parent_dir = "");

class CommandEvaluator : public Evaluator {
 public:
  /// `command`: the program and its arguments, with placeholders (see
  /// expand_command(); none for a worker, which is started once for many
  /// trials); `metric`: a dotted path into the JSON object line that ends a trial.
  CommandEvaluator(std::vector<std::string> command, std::string metric, CommandEvaluatorOptions options = {});
  ~CommandEvaluator() override;

  /// On every rank of context.group together; only the leader runs the
  /// command (found on PATH, started in the working directory of the sweep)
  /// and the others get its result (run_on_leader()).
  ///
  /// Once per trial: stdin from /dev/null, stdout and stderr to
  /// trial_dir/stdout.log and stderr.log. Completed when it exits with status
  /// 0 and its last JSON object line has the metric as a number.
  ///
  /// As a worker: started at the first trial and again after it dies, with
  /// its stdout and stderr copied into each trial's stdout.log and
  /// stderr.log. The trial goes to its stdin as one JSON line; the first JSON
  /// object line it prints that is no intermediate report ends the trial,
  /// completed when it has the metric. A line that is no JSON object, a
  /// worker that exits, and the deadline fail the trial alone: the worker is
  /// stopped and the next trial starts a new one.
  ///
  /// A JSON object line with a "budget" below the trial's and the metric is
  /// an intermediate report, given to context.report; when the scheduler says
  /// stop, a command run once per trial is stopped (SIGTERM), a worker is told
  /// {"prune": true} (it is told {"prune": false} otherwise, and must read
  /// that answer before it goes on), and the trial is Result::pruned.
  ///
  /// Failed otherwise, saying why (exit status or signal with the last line
  /// of stderr, no JSON line, the metric missing: not retried, since it would
  /// repeat); timed_out when context.deadline passes first (the command's
  /// process group gets SIGTERM, then SIGKILL after kill_grace_s).
  Result evaluate(const Trial& trial, const TrialContext& context) override;

 private:
  std::vector<std::string> command_;
  std::string metric_;
  CommandEvaluatorOptions options_;
  std::unique_ptr<detail::CommandWorker> worker_;  // the running worker, if any (worker mode)
};

}  // namespace cohort::sweep
