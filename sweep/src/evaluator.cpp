#include "cohort/sweep/evaluator.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "cohort/sweep/command_evaluator.h"
#include "cohort/sweep/function_evaluator.h"
#include "cohort/sweep/isolated_training_evaluator.h"
#include "cohort/sweep/training_evaluator.h"

namespace cohort::sweep {
namespace {

/// The dotted paths of the numbers in `record`, for the message of a missing metric.
void number_paths(const Json& record, const std::string& prefix, std::vector<std::string>& paths) {
  for (const auto& item : record.items()) {
    const auto path = prefix.empty() ? item.key() : prefix + "." + item.key();
    if (item.value().is_object()) number_paths(item.value(), path, paths);
    else if (item.value().is_number()) paths.push_back(path);
  }
}

}  // namespace

bool deadline_passed(const TrialContext& context) {
  return context.deadline > 0.0 && wall_clock_seconds() >= context.deadline;
}

double read_metric(const Json& record, const std::string& metric, const std::string& where) {
  const Json* node = &record;
  size_t start = 0;
  while (node && start <= metric.size()) {
    const size_t dot = std::min(metric.find('.', start), metric.size());
    const auto key = metric.substr(start, dot - start);
    node = node->is_object() && node->contains(key) ? &node->at(key) : nullptr;
    start = dot + 1;
  }
  if (node && node->is_number()) return node->get<double>();
  std::vector<std::string> paths;
  number_paths(record, "", paths);
  std::string listed;
  for (const auto& path : paths) listed += (listed.empty() ? "" : ", ") + path;
  throw std::runtime_error(fmt::format("the metric \"{}\" is {} in {}; its numbers are: {}.", metric,
                                       node ? "not a number" : "not", where, listed.empty() ? "none" : listed));
}

std::unique_ptr<Evaluator> make_evaluator(const ObjectiveSpec& objective, const Json& base_config,
                                          const std::string& source, double max_budget) {
  if (!objective.function.empty()) return make_function_evaluator(objective);
  if (!objective.command.empty())
    return std::make_unique<CommandEvaluator>(objective.command, objective.metric,
                                              CommandEvaluatorOptions().worker(objective.worker));
  if (objective.isolation == "process")
    return std::make_unique<IsolatedTrainingEvaluator>(
        base_config, source, max_budget, objective.metric,
        IsolatedTrainingOptions().launcher(objective.launcher).trainer(objective.trainer));
  return std::make_unique<TrainingEvaluator>(base_config, source, max_budget, objective.metric);
}

}  // namespace cohort::sweep
