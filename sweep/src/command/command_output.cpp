#include "command_output.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "cohort/sweep/evaluator.h"

namespace cohort::sweep::detail {

std::optional<IntermediateReport> intermediate_report(const Json& line, const std::string& metric,
                                                      double trial_budget) {
  const auto budget = line.find("budget");
  if (budget == line.end() || !budget->is_number() || budget->get<double>() >= trial_budget) return std::nullopt;
  const double at = budget->get<double>();
  return IntermediateReport{at, read_metric(line, metric, fmt::format("the command's report at budget {}", at))};
}

Result final_result(const Json& line, const std::string& metric, const std::string& where, Json info) {
  try {
    const double value = read_metric(line, metric, where);
    info["output"] = line;
    return Result::completed(value, std::move(info));
  } catch (const std::runtime_error& error) {
    return Result::failed(error.what(), /*retry=*/false);
  }
}

std::optional<Json> json_object(const std::string& line) {
  auto parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

namespace {

bool says_something(const std::string& line) {
  return std::any_of(line.begin(), line.end(), [](unsigned char c) { return std::isalnum(c); });
}

/// A launcher's rule around a message: dashes and the like, nothing to read.
bool is_rule(const std::string& line) {
  return !says_something(line) && line.find_first_not_of(" \t\r") != std::string::npos;
}

}  // namespace

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto end = lines.size();
  while (end > 0 && !says_something(lines[end - 1])) --end;
  if (end == 0) return "";
  // A message framed by rules (mpirun's banners) is read whole, on one line.
  auto begin = end - 1;
  if (end < lines.size() && is_rule(lines[end])) {
    auto first = begin;
    while (first > 0 && says_something(lines[first - 1])) --first;
    if (first > 0 && is_rule(lines[first - 1])) begin = first;  // a rule above it too
  }
  std::string last;
  for (auto i = begin; i < end; ++i) last += (last.empty() ? "" : " ") + lines[i];
  constexpr size_t kMost = 300;
  return last.size() > kMost ? last.substr(0, kMost) + "..." : last;
}

std::string how_it_ended(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  const int code = WEXITSTATUS(status);
  // 128 + n is how a shell, or mpirun, says that a process it ran was killed by signal n.
  if (code > 128 && code - 128 < NSIG)
    return fmt::format("exited with status {} (128 + {}: a process it ran was killed by signal {}, {})", code,
                       code - 128, code - 128, strsignal(code - 128));
  return fmt::format("exited with status {}", code);
}

std::string exit_failure(int status, const std::string& stderr_path) {
  const auto last = last_line(stderr_path);
  const auto said = last.empty() ? std::string("it wrote nothing on stderr") : "last stderr line: " + last;
  return fmt::format("the command {}; {}", how_it_ended(status), said);
}

}  // namespace cohort::sweep::detail
