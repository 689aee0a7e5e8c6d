#include "command_output.h"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <stdexcept>

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

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  const auto says_something = [](const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isalnum(c); });
  };
  while (std::getline(in, line))
    if (says_something(line)) last = line;
  constexpr size_t kMost = 300;
  return last.size() > kMost ? last.substr(0, kMost) + "..." : last;
}

std::string how_it_ended(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

std::string exit_failure(int status, const std::string& stderr_path) {
  const auto last = last_line(stderr_path);
  const auto said = last.empty() ? std::string("it wrote nothing on stderr") : "last stderr line: " + last;
  return fmt::format("the command {}; {}", how_it_ended(status), said);
}

}  // namespace cohort::sweep::detail
