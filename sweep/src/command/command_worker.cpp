#include "command_worker.h"

#include <poll.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "command_output.h"

namespace cohort::sweep::detail {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// How long the leader waits for the worker's output before it looks at the
/// deadline and the group's heartbeat again.
constexpr int kPollMs = 20;

/// The JSON line a trial is sent to the worker as: what the placeholders
/// would give a command run per trial, plus the deadline.
Json trial_line(const Trial& trial, const TrialContext& context) {
  return {{"trial_id", trial.id},           {"budget", trial.budget},         {"config", trial.config},
          {"trial_dir", context.trial_dir}, {"parent_dir", context.parent_dir}, {"deadline", context.deadline}};
}

/// `text` shortened for a message.
std::string shortened(const std::string& text) {
  constexpr size_t kMost = 200;
  return text.size() > kMost ? text.substr(0, kMost) + "..." : text;
}

/// Waits up to kPollMs for output on `fds` (-1 entries are skipped).
void wait_for_output(int stdout_fd, int stderr_fd) {
  pollfd fds[2] = {{stdout_fd, POLLIN, 0}, {stderr_fd, POLLIN, 0}};
  ::poll(fds, 2, kPollMs);
}

}  // namespace

/// One trial on the worker: its output files, and what each line means.
class CommandWorker::TrialRun {
 public:
  TrialRun(CommandWorker& worker, const Trial& trial, const TrialContext& context, const std::string& metric)
      : worker_(worker), trial_(trial), context_(context), metric_(metric),
        stdout_path_((fs::path(context.trial_dir) / kStdoutFile).string()),
        stderr_path_((fs::path(context.trial_dir) / kStderrFile).string()),
        stdout_(stdout_path_, std::ios::trunc), stderr_(stderr_path_, std::ios::trunc), started_(Clock::now()) {}

  /// Reads what the worker printed; the trial's result once a line or the
  /// worker's end decides it.
  std::optional<Result> read_output() {
    copy_stderr();
    const bool open = read_available(worker_.child_.stdout_fd(), worker_.stdout_lines_);
    while (auto line = worker_.stdout_lines_.take_line()) {
      stdout_ << *line << '\n';
      if (auto result = handle(*line)) return result;
    }
    if (!open || worker_.child_.poll()) return ended();
    return std::nullopt;
  }

  Result timed_out(Heartbeat& heartbeat) {
    auto result = stop_at_deadline(worker_.child_, worker_.kill_grace_s_, heartbeat,
                                   "the worker ran past the trial's deadline", "; a new one starts for the next trial");
    worker_.in_step_ = false;
    return result;
  }

  /// The worker ended (or stopped reading) during the trial.
  Result ended() {
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (!worker_.child_.poll() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    worker_.child_.stop(worker_.kill_grace_s_, [] {});  // no-op when it has exited
    copy_stderr();
    worker_.in_step_ = false;
    return Result::failed(fmt::format("the worker ended during the trial: {}; a new one starts for the next trial",
                                      exit_failure(*worker_.child_.poll(), stderr_path_)));
  }

 private:
  std::optional<Result> handle(const std::string& line) {
    const auto object = json_object(line);
    if (!object) {
      worker_.in_step_ = false;
      return Result::failed(fmt::format("the worker printed a line that is no JSON object on stdout: \"{}\" (print "
                                        "anything else on stderr); it was stopped, and a new one starts for the next "
                                        "trial",
                                        shortened(line)));
    }
    std::optional<IntermediateReport> report;
    try {
      report = intermediate_report(*object, metric_, trial_.budget);
    } catch (const std::runtime_error& error) {
      worker_.in_step_ = false;  // it waits for an answer it will not get
      return Result::failed(error.what(), /*retry=*/false);
    }
    if (!report) return final_result(*object, metric_, "the worker's answer", info());
    const bool stop = context_.report && context_.report(report->budget, report->value);
    worker_.child_.write_stdin(Json{{"prune", stop}}.dump() + "\n");  // a worker that died is seen at the next read
    if (stop) return Result::pruned(report->value, report->budget, info());
    return std::nullopt;
  }

  Json info() const {
    return {{"seconds", std::chrono::duration<double>(Clock::now() - started_).count()}, {"stdout", stdout_path_}};
  }

  void copy_stderr() {
    read_available(worker_.child_.stderr_fd(), worker_.stderr_lines_);
    for (const auto& line : worker_.stderr_lines_.take_lines()) stderr_ << line << '\n';
    stderr_.flush();
  }

  CommandWorker& worker_;
  const Trial& trial_;
  const TrialContext& context_;
  const std::string& metric_;
  std::string stdout_path_, stderr_path_;
  std::ofstream stdout_, stderr_;
  Clock::time_point started_;
};

CommandWorker::CommandWorker(const std::vector<std::string>& argv, double kill_grace_s)
    : child_(argv, ChildStreams{"", "", /*stdin_socket=*/true}), kill_grace_s_(kill_grace_s) {}

CommandWorker::~CommandWorker() {
  child_.close_stdin();
  const auto until = Clock::now() + std::chrono::duration<double>(kill_grace_s_);
  while (!child_.poll() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  child_.stop(kill_grace_s_, [] {});
}

bool CommandWorker::usable() { return in_step_ && !child_.poll(); }

Result CommandWorker::run(const Trial& trial, const TrialContext& context, const std::string& metric,
                          Heartbeat& heartbeat) {
  if (context.trial_dir.empty()) throw std::runtime_error("a command objective needs the trial's directory");
  TrialRun run(*this, trial, context, metric);
  if (!child_.write_stdin(trial_line(trial, context).dump() + "\n")) return run.ended();
  while (true) {
    if (auto result = run.read_output()) return *result;
    if (deadline_passed(context)) return run.timed_out(heartbeat);
    heartbeat.beat();
    wait_for_output(child_.stdout_fd(), child_.stderr_fd());
  }
}

}  // namespace cohort::sweep::detail
