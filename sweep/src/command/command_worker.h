#pragma once
// A persistent worker: a command started once that evaluates trial after
// trial, reading each as a JSON line on stdin and answering with JSON lines
// on stdout (docs/sweeps.md, "Persistent workers"). It saves the start of a
// process, and the imports of its framework, on every trial.

#include <memory>
#include <string>
#include <vector>

#include "cohort/sweep/evaluator.h"
#include "cohort/sweep/leader.h"
#include "child_process.h"
#include "output_lines.h"

namespace cohort::sweep::detail {

class CommandWorker {
 public:
  /// Starts `argv` with its stdin, stdout and stderr connected to this process.
  /// Throws std::runtime_error when it cannot start.
  CommandWorker(const std::vector<std::string>& argv, double kill_grace_s);
  /// Closes its stdin (it reads end-of-file and should exit), then stops it
  /// after kill_grace_s.
  ~CommandWorker();

  /// Whether it still runs and is in step with the trials sent to it: false
  /// after it exited, printed a line that is no JSON object, or was stopped
  /// at a deadline. Then it is replaced by a new one.
  bool usable();

  /// Evaluates `trial`: sends it, copies what the worker prints into
  /// context.trial_dir's stdout.log and stderr.log, hands intermediate
  /// reports to context.report, and returns the result (see CommandEvaluator).
  Result run(const Trial& trial, const TrialContext& context, const std::string& metric, Heartbeat& heartbeat);

 private:
  class TrialRun;

  ChildProcess child_;
  double kill_grace_s_;
  LineBuffer stdout_lines_;  // kept across trials: what follows an answer is not lost
  LineBuffer stderr_lines_;
  bool in_step_ = true;
};

}  // namespace cohort::sweep::detail
