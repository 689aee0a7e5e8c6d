#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace cohort::sweep::detail {
namespace {

using Clock = std::chrono::steady_clock;

/// Two connected descriptors, both close-on-exec (the child gets its end
/// through dup2, which clears the flag, and no other child inherits either).
std::pair<int, int> connected_pair(bool socket) {
  int fds[2];
  const int made = socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : pipe2(fds, O_CLOEXEC);
  if (made != 0) throw std::runtime_error(fmt::format("cannot create a pipe for the command: {}.", std::strerror(errno)));
  return {fds[0], fds[1]};
}

/// Connects the child's standard stream `target` to the file `path`, or when
/// `path` is "" to a pipe (stdout, stderr) or socket (stdin); returns this
/// process's end of that pipe or socket (-1 for a file; `append`: an output
/// file is appended to, not truncated). `child_ends` gets the
/// child's end, to close here once the child has it.
int connect_stream(posix_spawn_file_actions_t& actions, int target, const std::string& path, bool socket,
                   bool append, std::vector<int>& child_ends) {
  if (!path.empty()) {
    const int flags = target == STDIN_FILENO ? O_RDONLY : O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_addopen(&actions, target, path.c_str(), flags, 0644);
    return -1;
  }
  const auto [first, second] = connected_pair(socket);
  // A pipe's first end reads; the child writes stdout/stderr and reads stdin.
  const int mine = target == STDIN_FILENO ? second : first, theirs = target == STDIN_FILENO ? first : second;
  posix_spawn_file_actions_adddup2(&actions, theirs, target);
  child_ends.push_back(theirs);
  if (target != STDIN_FILENO) fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
  return mine;
}

/// Whether the variable `entry` ("NAME=value") makes a process a rank of an
/// MPI job: Open MPI's and PMIx's (OMPI_*, PMIX_*, PMI_*), read at MPI_Init.
/// OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM) stay: they say who may start a job, not
/// which job a process is in.
bool mpi_job_identity(const std::string& entry) {
  const auto name = entry.substr(0, entry.find('='));
  if (name == "OMPI_ALLOW_RUN_AS_ROOT" || name == "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM") return false;
  for (const char* prefix : {"OMPI_", "PMIX_", "PMI_"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

/// This process's environment without the MPI job's identity: a child that
/// calls mpirun (an isolated training trial, a command) starts a job of its
/// own instead of joining the sweep's as one of its ranks.
std::vector<std::string> child_environment() {
  std::vector<std::string> kept;
  for (char** entry = environ; *entry; ++entry)
    if (!mpi_job_identity(*entry)) kept.emplace_back(*entry);
  return kept;
}

/// Pointers to the strings of `words`, ended by a null pointer, as exec takes them.
std::vector<char*> c_strings(const std::vector<std::string>& words) {
  std::vector<char*> pointers;
  for (const auto& word : words) pointers.push_back(const_cast<char*>(word.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

distributed::Backoff child_backoff() {
  using std::chrono::microseconds;
  return distributed::Backoff(distributed::BackoffOptions::for_events(distributed::wait_mode(), microseconds(0),
                                                                      microseconds(500), microseconds(50000)));
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ChildStreams& streams) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::vector<int> child_ends;
  stdin_fd_ = connect_stream(actions, STDIN_FILENO, streams.stdin_socket ? "" : "/dev/null", true, false, child_ends);
  stdout_fd_ = connect_stream(actions, STDOUT_FILENO, streams.stdout_path, false, streams.append, child_ends);
  stderr_fd_ = connect_stream(actions, STDERR_FILENO, streams.stderr_path, false, streams.append, child_ends);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, and signals as a fresh process has them: this
  // process (MPI) may block some, or ignore some, which a child would inherit.
  sigset_t none, reset;
  sigemptyset(&none);
  sigemptyset(&reset);
  for (int signal : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) sigaddset(&reset, signal);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &reset);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const auto environment = child_environment();
  auto args = c_strings(argv), variables = c_strings(environment);
  const int error = posix_spawnp(&pid_, argv.front().c_str(), &actions, &attributes, args.data(), variables.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : child_ends) close(fd);
  if (error != 0) {
    close_fd(stdin_fd_), close_fd(stdout_fd_), close_fd(stderr_fd_);
    throw std::runtime_error(fmt::format("cannot start the command \"{}\": {}.", argv.front(), std::strerror(error)));
  }
}

ChildProcess::~ChildProcess() {
  if (!poll()) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  close_fd(stdin_fd_), close_fd(stdout_fd_), close_fd(stderr_fd_);
}

std::optional<int> ChildProcess::poll() {
  if (status_) return status_;
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_ || (done < 0 && errno == ECHILD)) status_ = status;
  return status_;
}

bool ChildProcess::stop(double grace_s, const std::function<void()>& idle) {
  if (poll()) return false;
  kill(-pid_, SIGTERM);
  const auto grace = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace_s));
  const auto until = Clock::now() + grace;
  while (Clock::now() < until) {
    if (poll()) return false;
    idle();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  status_ = status;
  return true;
}

bool ChildProcess::write_stdin(const std::string& bytes) {
  size_t sent = 0;
  while (stdin_fd_ >= 0 && sent < bytes.size()) {
    const ssize_t n = send(stdin_fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += size_t(n);
  }
  return stdin_fd_ >= 0;
}

void ChildProcess::close_stdin() { close_fd(stdin_fd_); }

Result stop_at_deadline(ChildProcess& child, double grace_s, Heartbeat& heartbeat, const std::string& what,
                        const std::string& after) {
  const bool killed = child.stop(grace_s, [&] { heartbeat.beat(); });
  return Result::timed_out(fmt::format("timed out: {} and was stopped with SIGTERM{}{}", what,
                                       killed ? fmt::format(", then SIGKILL after {} s", grace_s) : "", after));
}

}  // namespace cohort::sweep::detail
