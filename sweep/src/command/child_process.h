#pragma once
// A child process in a process group of its own, so that a deadline stops
// everything it started (e.g. the program behind `sh -c`). Its stdout and
// stderr go to files or to pipes this process reads; its stdin is /dev/null
// or a socket this process writes (a socket, so that writing to a child that
// died fails with EPIPE instead of killing this process with SIGPIPE). Its
// environment is this process's without the variables that make a process a
// rank of an MPI job (OMPI_*, PMIX_*, PMI_*), so a child that calls mpirun
// starts a job of its own rather than joining the sweep's.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cohort/distributed/wait_policy.h"
#include "cohort/sweep/evaluator.h"
#include "cohort/sweep/leader.h"

namespace cohort::sweep::detail {

/// How a parent polls its child: sleeps from 500 us (most test commands end
/// within milliseconds) doubling up to 50 ms for long ones.
distributed::Backoff child_backoff();

/// The files in a trial's directory that keep a child's stdout and stderr
/// (an isolated training job's stderr is its log, train.log, instead).
inline constexpr const char* kStdoutFile = "stdout.log";
inline constexpr const char* kStderrFile = "stderr.log";

struct ChildStreams {
  /// Files for the child's stdout and stderr (created if need be); "" for a
  /// pipe this process reads through stdout_fd() / stderr_fd().
  std::string stdout_path;
  std::string stderr_path;
  /// Whether the child's stdin is a socket written through write_stdin()
  /// rather than /dev/null.
  bool stdin_socket = false;
  /// Whether the stdout and stderr files are appended to rather than truncated.
  bool append = false;
};

class ChildProcess {
 public:
  /// Starts `argv` (looked up on PATH) with this process's environment less
  /// the MPI job's identity (every OMPI_*, PMIX_* and PMI_* variable but
  /// OMPI_ALLOW_RUN_AS_ROOT and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM). Throws
  /// std::runtime_error when it cannot start.
  ChildProcess(const std::vector<std::string>& argv, const ChildStreams& streams);
  /// A child still running is killed (SIGKILL to its group) and reaped.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The wait status once the child has ended; nothing while it runs. Never blocks.
  std::optional<int> poll();

  /// Stops the child's process group: SIGTERM, then SIGKILL once `grace_s`
  /// has passed; calls `idle` while it waits. Returns whether SIGKILL was needed.
  bool stop(double grace_s, const std::function<void()>& idle);

  /// Writes all of `bytes` to the child's stdin socket; false when the child
  /// no longer reads it (it died).
  bool write_stdin(const std::string& bytes);
  /// Closes this end of the stdin socket: the child reads end-of-file.
  void close_stdin();

  /// The read ends of the stdout and stderr pipes (non-blocking), or -1.
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
};

/// Stops `child` at its trial's deadline (stop(): SIGTERM, SIGKILL after
/// `grace_s`, beating `heartbeat` meanwhile) and returns the trial's result:
/// timed out, "timed out: <what> and was stopped with SIGTERM[, then SIGKILL
/// after <grace_s> s]<after>".
Result stop_at_deadline(ChildProcess& child, double grace_s, Heartbeat& heartbeat, const std::string& what,
                        const std::string& after = "");

}  // namespace cohort::sweep::detail
