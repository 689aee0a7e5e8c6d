#include "cohort/sweep/command_evaluator.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/distributed/wait_policy.h"
#include "cohort/sweep/leader.h"
#include "cohort/logging/describe_exception.h"

extern char** environ;

namespace cohort::sweep {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

bool placeholder_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

/// A value as a command line should get it: numbers round-trip exactly.
std::string format_value(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());  // shortest round-trip form
  return value.dump();  // integers, true/false, and anything else as JSON
}

/// What "{name}" stands for, or nothing when it is no placeholder of this trial.
std::optional<std::string> placeholder_value(const std::string& name, const Trial& trial,
                                             const std::string& trial_dir) {
  if (name == "budget") return format_value(trial.budget);
  if (name == "trial_id") return std::to_string(trial.id);
  if (name == "trial_dir") return trial_dir;
  if (trial.config.is_object() && trial.config.contains(name)) return format_value(trial.config.at(name));
  return std::nullopt;
}

std::string known_placeholders(const Trial& trial) {
  std::string known = "{budget}, {trial_id}, {trial_dir}";
  if (trial.config.is_object())
    for (const auto& item : trial.config.items()) known += ", {" + item.key() + "}";
  return known;
}

/// The last line of `path` with something on it, shortened for a message; "" if none.
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  constexpr size_t kMost = 300;
  return last.size() > kMost ? last.substr(0, kMost) + "..." : last;
}

/// The last line of `path` that parses as a JSON object, if any.
std::optional<Json> last_json_object(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::optional<Json> found;
  while (std::getline(in, line)) {
    auto parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && parsed.is_object()) found = std::move(parsed);
  }
  return found;
}

/// A child process in a process group of its own, so that a deadline stops
/// everything it started (e.g. the program behind `sh -c`).
class Child {
 public:
  /// Starts `argv` (looked up on PATH) with stdin from /dev/null and stdout,
  /// stderr to the given files. Throws std::runtime_error when it cannot start.
  Child(const std::vector<std::string>& argv, const std::string& stdout_path, const std::string& stderr_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
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
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int error = posix_spawnp(&pid_, argv.front().c_str(), &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0)
      throw std::runtime_error(fmt::format("cannot start the command \"{}\": {}.", argv.front(), std::strerror(error)));
  }

  /// The wait status once the child has ended; nothing while it runs. Never blocks.
  std::optional<int> poll() {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) return status;
    return std::nullopt;
  }

  /// Stops the child's process group: SIGTERM, then SIGKILL once `grace_s`
  /// has passed; calls `idle` while it waits. Returns whether SIGKILL was needed.
  bool stop(double grace_s, const std::function<void()>& idle) {
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
    return true;
  }

 private:
  pid_t pid_ = -1;
};

/// How the leader polls its child: sleeps from 500 us (most test commands end
/// within milliseconds) doubling up to 50 ms for long ones.
distributed::Backoff child_backoff() {
  using std::chrono::microseconds;
  return distributed::Backoff(distributed::BackoffOptions::for_events(distributed::wait_mode(), microseconds(0),
                                                                      microseconds(500), microseconds(50000)));
}

/// Why the command did not complete, from its wait status.
std::string exit_failure(int status, const std::string& stderr_path) {
  const auto last = last_line(stderr_path);
  const auto said = last.empty() ? std::string("it wrote nothing on stderr") : "last stderr line: " + last;
  if (WIFSIGNALED(status))
    return fmt::format("the command was killed by signal {} ({}); {}", WTERMSIG(status), strsignal(WTERMSIG(status)),
                       said);
  return fmt::format("the command exited with status {}; {}", WEXITSTATUS(status), said);
}

/// The leader's part: runs the expanded command to its end or the deadline.
Result run_command(const std::vector<std::string>& argv, const std::string& metric, const TrialContext& context,
                   double kill_grace_s, Heartbeat& heartbeat) {
  if (context.trial_dir.empty()) throw std::runtime_error("a command objective needs the trial's directory");
  const auto stdout_path = (fs::path(context.trial_dir) / "stdout.log").string();
  const auto stderr_path = (fs::path(context.trial_dir) / "stderr.log").string();
  const auto started = Clock::now();
  Child child(argv, stdout_path, stderr_path);
  auto backoff = child_backoff();
  std::optional<int> status;
  while (!(status = child.poll())) {
    if (deadline_passed(context)) {
      const bool killed = child.stop(kill_grace_s, [&] { heartbeat.beat(); });
      return Result::timed_out(fmt::format("timed out: the command ran past the trial's deadline and was stopped "
                                           "with SIGTERM{}",
                                           killed ? fmt::format(", then SIGKILL after {} s", kill_grace_s) : ""));
    }
    heartbeat.beat();
    backoff.pause();
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) return Result::failed(exit_failure(*status, stderr_path));
  const auto line = last_json_object(stdout_path);
  if (!line)
    return Result::failed(fmt::format("the command printed no JSON object line on stdout (see {}); its last line "
                                      "must be one such as {{\"{}\": 0.5}}",
                                      stdout_path, metric));
  const double value = read_metric(*line, metric, "the command's last JSON line");
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return Result::completed(value, {{"seconds", seconds}, {"stdout", stdout_path}, {"output", *line}});
}

}  // namespace

std::vector<std::string> expand_command(const std::vector<std::string>& command, const Trial& trial,
                                        const std::string& trial_dir) {
  std::vector<std::string> expanded;
  for (const auto& arg : command) {
    std::string out;
    size_t at = 0;
    while (at < arg.size()) {
      const size_t open = arg.find('{', at);
      size_t close = open == std::string::npos ? open : open + 1;
      while (close < arg.size() && placeholder_char(arg[close])) ++close;
      if (open == std::string::npos || close >= arg.size() || arg[close] != '}' || close == open + 1) {
        // No placeholder here: copy up to and including this brace.
        const size_t end = open == std::string::npos ? arg.size() : open + 1;
        out += arg.substr(at, end - at);
        at = end;
        continue;
      }
      const auto name = arg.substr(open + 1, close - open - 1);
      const auto value = placeholder_value(name, trial, trial_dir);
      if (!value)
        throw std::runtime_error(fmt::format("the command's placeholder \"{{{}}}\" names no value of trial {}; the "
                                             "placeholders are {}",
                                             name, trial.id, known_placeholders(trial)));
      out += arg.substr(at, open - at) + *value;
      at = close + 1;
    }
    expanded.push_back(std::move(out));
  }
  return expanded;
}

CommandEvaluator::CommandEvaluator(std::vector<std::string> command, std::string metric,
                                   CommandEvaluatorOptions options)
    : command_(std::move(command)), metric_(std::move(metric)), options_(std::move(options)) {
  if (command_.empty()) throw std::invalid_argument("CommandEvaluator needs a command");
}

Result CommandEvaluator::evaluate(const Trial& trial, const TrialContext& context) {
  return run_on_leader(context.group, [&](Heartbeat& heartbeat) {
    try {
      const auto argv = expand_command(command_, trial, context.trial_dir);
      return run_command(argv, metric_, context, options_.kill_grace_s(), heartbeat);
    } catch (const std::exception& error) {
      return Result::failed(describe_exception(error));
    }
  });
}

}  // namespace cohort::sweep
