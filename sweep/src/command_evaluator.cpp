#include "cohort/sweep/command_evaluator.h"

#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "cohort/distributed/wait_policy.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/sweep/leader.h"
#include "command/child_process.h"
#include "command/command_output.h"
#include "command/command_worker.h"
#include "command/output_lines.h"

namespace cohort::sweep {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
using detail::ChildProcess;

bool placeholder_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

/// One argument cut into text and placeholders: calls `text` with what stays
/// as it is and `placeholder` with each placeholder's name, in order.
template <typename Text, typename Placeholder>
void scan_placeholders(const std::string& arg, Text&& text, Placeholder&& placeholder) {
  size_t at = 0;
  while (at < arg.size()) {
    const size_t open = arg.find('{', at);
    size_t close = open == std::string::npos ? open : open + 1;
    while (close < arg.size() && placeholder_char(arg[close])) ++close;
    if (open == std::string::npos || close >= arg.size() || arg[close] != '}' || close == open + 1) {
      // No placeholder here: up to and including this brace stays.
      const size_t end = open == std::string::npos ? arg.size() : open + 1;
      text(arg.substr(at, end - at));
      at = end;
      continue;
    }
    text(arg.substr(at, open - at));
    placeholder(arg.substr(open + 1, close - open - 1));
    at = close + 1;
  }
}

/// A value as a command line should get it: numbers round-trip exactly.
std::string format_value(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());  // shortest round-trip form
  return value.dump();  // integers, true/false, and anything else as JSON
}

/// What "{name}" stands for, or nothing when it is no placeholder of this trial.
std::optional<std::string> placeholder_value(const std::string& name, const Trial& trial, const std::string& trial_dir,
                                             const std::string& parent_dir) {
  if (name == "budget") return format_value(trial.budget);
  if (name == "trial_id") return std::to_string(trial.id);
  if (name == "trial_dir") return trial_dir;
  if (name == "parent_dir") return parent_dir;
  if (trial.config.is_object() && trial.config.contains(name)) return format_value(trial.config.at(name));
  return std::nullopt;
}

std::string known_placeholders(const Trial& trial) {
  std::string known;
  for (const auto& name : trial_placeholders()) known += (known.empty() ? "{" : ", {") + name + "}";
  if (trial.config.is_object())
    for (const auto& item : trial.config.items()) known += ", {" + item.key() + "}";
  return known;
}

/// The last line of `path` that parses as a JSON object, if any.
std::optional<Json> last_json_object(const std::string& path) {
  detail::FileTail tail(path);
  std::optional<Json> found;
  for (const auto& line : tail.new_lines())
    if (auto object = detail::json_object(line)) found = std::move(object);
  return found;
}

/// The intermediate reports among the lines the command has printed since
/// the last call: the trial's end when the scheduler stops it at one (pruned)
/// or one lacks the metric (failed, not retried); nothing otherwise.
std::optional<Result> act_on_reports(detail::FileTail& tail, const Trial& trial, const TrialContext& context,
                                     const std::string& metric) {
  for (const auto& line : tail.new_lines()) {
    const auto object = detail::json_object(line);
    std::optional<detail::IntermediateReport> report;
    try {
      if (object) report = detail::intermediate_report(*object, metric, trial.budget);
    } catch (const std::runtime_error& error) {
      return Result::failed(error.what(), /*retry=*/false);
    }
    if (report && context.report(report->budget, report->value)) return Result::pruned(report->value, report->budget);
  }
  return std::nullopt;
}

/// The leader's part for a command run once per trial: runs the expanded
/// command to its end, the deadline, or a report the scheduler stops it at.
Result run_once(const std::vector<std::string>& argv, const Trial& trial, const std::string& metric,
                const TrialContext& context, double kill_grace_s, Heartbeat& heartbeat) {
  if (context.trial_dir.empty()) throw std::runtime_error("a command objective needs the trial's directory");
  const auto stdout_path = (fs::path(context.trial_dir) / detail::kStdoutFile).string();
  const auto stderr_path = (fs::path(context.trial_dir) / detail::kStderrFile).string();
  const auto started = Clock::now();
  ChildProcess child(argv, detail::ChildStreams{stdout_path, stderr_path, /*stdin_socket=*/false});
  detail::FileTail tail(stdout_path);
  auto backoff = detail::child_backoff();
  std::optional<int> status;
  while (!(status = child.poll())) {
    const auto ended = context.report ? act_on_reports(tail, trial, context, metric) : std::nullopt;
    if (ended) {
      child.stop(kill_grace_s, [&] { heartbeat.beat(); });
      return *ended;
    }
    if (deadline_passed(context))
      return detail::stop_at_deadline(child, kill_grace_s, heartbeat, "the command ran past the trial's deadline");
    heartbeat.beat();
    backoff.pause();
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    return Result::failed(detail::exit_failure(*status, stderr_path));
  const auto line = last_json_object(stdout_path);
  if (!line)
    return Result::failed(fmt::format("the command printed no JSON object line on stdout (see {}); its last line "
                                      "must be one such as {{\"{}\": 0.5}}",
                                      stdout_path, metric));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return detail::final_result(*line, metric, "the command's last JSON line",
                              {{"seconds", seconds}, {"stdout", stdout_path}});
}

}  // namespace

const std::vector<std::string>& trial_placeholders() {
  static const std::vector<std::string> names = {"budget", "trial_id", "trial_dir", "parent_dir"};
  return names;
}

std::vector<std::string> command_placeholders(const std::vector<std::string>& command) {
  std::vector<std::string> names;
  for (const auto& arg : command)
    scan_placeholders(arg, [](const std::string&) {}, [&](const std::string& name) { names.push_back(name); });
  return names;
}

std::vector<std::string> substitute_placeholders(const std::vector<std::string>& words,
                                                 const std::function<std::string(const std::string&)>& value) {
  std::vector<std::string> expanded;
  for (const auto& word : words) {
    std::string out;
    scan_placeholders(
        word, [&](const std::string& text) { out += text; }, [&](const std::string& name) { out += value(name); });
    expanded.push_back(std::move(out));
  }
  return expanded;
}

std::vector<std::string> expand_command(const std::vector<std::string>& command, const Trial& trial,
                                        const std::string& trial_dir, const std::string& parent_dir) {
  return substitute_placeholders(command, [&](const std::string& name) {
    const auto value = placeholder_value(name, trial, trial_dir, parent_dir);
    if (!value)
      throw std::runtime_error(fmt::format("the command's placeholder \"{{{}}}\" names no value of trial {}; "
                                           "the placeholders are {}",
                                           name, trial.id, known_placeholders(trial)));
    return *value;
  });
}

CommandEvaluator::CommandEvaluator(std::vector<std::string> command, std::string metric,
                                   CommandEvaluatorOptions options)
    : command_(std::move(command)), metric_(std::move(metric)), options_(std::move(options)) {
  if (command_.empty()) throw std::invalid_argument("CommandEvaluator needs a command");
}

CommandEvaluator::~CommandEvaluator() = default;

Result CommandEvaluator::evaluate(const Trial& trial, const TrialContext& context) {
  return run_on_leader(context.group, [&](Heartbeat& heartbeat) {
    try {
      if (!options_.worker())
        return run_once(expand_command(command_, trial, context.trial_dir, context.parent_dir), trial, metric_,
                        context, options_.kill_grace_s(), heartbeat);
      if (worker_ && !worker_->usable()) worker_.reset();  // it died, or is out of step: a new one
      if (!worker_) worker_ = std::make_unique<detail::CommandWorker>(command_, options_.kill_grace_s());
      return worker_->run(trial, context, metric_, heartbeat);
    } catch (const std::exception& error) {
      return Result::failed(describe_exception(error));
    }
  });
}

}  // namespace cohort::sweep
