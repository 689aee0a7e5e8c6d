#include "cohort/sweep/sweep_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "cohort/config/config.h"
#include "cohort/config/durations.h"
#include "cohort/core/error.h"
#include "cohort/core/excerpt.h"
#include "cohort/job/training_job.h"
#include "cohort/tuner/samplers/registry.h"
#include "cohort/tuner/schedulers/registry.h"
#include "cohort/sweep/command_evaluator.h"
#include "cohort/sweep/executor.h"
#include "cohort/sweep/training_evaluator.h"
#include "function_objective.h"
#include "cohort/core/run_layout.h"

namespace cohort::sweep {
namespace {

using config::Range;
using config::Schema;

/// Keys of the objective block that only a test function reads.
const std::vector<std::string> kFunctionSettings = {"sleep_s", "uneven", "fail_fraction", "categorical",
                                                    "continuous"};

/// Keys of the objective block that only isolation "process" reads.
const std::vector<std::string> kIsolationSettings = {"launcher", "trainer"};

/// Keys a resumed sweep may change: they decide when this run stops and how
/// often it reports, not what the study decides.
const std::vector<std::string> kRunSettings = {"output_dir", "time_limit_s", "progress_every_s", "outputs_every_s",
                                               "sync_journal"};

Schema objective_schema() {
  Schema schema;
  schema.string("metric", "", "the metric to optimise: a key of the training job's final record (e.g. "
                              "\"val_accuracy\"), or of the last JSON line the command prints")
      .choice("mode", "min", {"min", "max"}, "whether the metric is minimised or maximised")
      .string_list("command", {}, "run this command for each trial instead of a training job; \"{param.path}\", "
                                  "\"{budget}\", \"{trial_id}\", \"{trial_dir}\" and \"{parent_dir}\" are replaced "
                                  "by the trial's own")
      .boolean("worker", false, "start the command once, as a persistent worker that reads trials as JSON lines "
                                "on stdin and answers with JSON lines on stdout")
      .choice("isolation", "none", {"none", "process"},
              "training trials: \"process\" runs each as a child job (objective.launcher in front of cohort-train), "
              "so that a rank that dies fails only its trial, at the cost of a process start per trial; \"none\" "
              "trains in the sweep's own ranks")
      .string_list("launcher", {"mpirun", "-np", "{ranks}"},
                   "with isolation \"process\": the command in front of cohort-train that starts a trial's ranks; "
                   "\"{ranks}\" is replaced by ranks_per_trial")
      .string("trainer", "", "with isolation \"process\": the cohort-train program to run (default: the one in "
                             "cohort-tune's directory)")
      .choice("function", "", {"", "branin", "hartmann6", "counting_ones"},
              "evaluate one of the tuner's test functions instead (for trying a sweep out and benchmarks)")
      .number("sleep_s", 0.0, "test function: seconds a trial takes per unit of budget", config::seconds())
      .boolean("uneven", false, "test function: scale each trial's duration by a factor in [0.25, 1.75) drawn "
                                "from its configuration")
      .number("fail_fraction", 0.0, "test function: share of configurations whose trials fail (for tests)",
              Range::between(0, 1))
      .integer("categorical", 8, "counting_ones: the number of categorical parameters c1..cN", Range::at_least(0))
      .integer("continuous", 8, "counting_ones: the number of continuous parameters x1..xM", Range::at_least(0));
  return schema;
}

Schema budget_schema() {
  // A trial trains ceil(budget) epochs, and trainer.epochs is a 32-bit key: budgets stay well inside it.
  const Range budgets{0.0, 1e9, true, false};
  Schema schema;
  schema.number("min", 1.0, "the smallest budget a trial gets, in epochs (fractions allowed)", budgets)
      .number("max", 1.0, "the largest budget, in epochs; fifo trains every configuration this long", budgets)
      .integer("eta", 3, "each rung keeps 1/eta of the configurations and gives them eta times the budget",
               Range::at_least(2));
  return schema;
}

std::string base_source_of(const Json& raw, const std::string& source, const std::string& directory) {
  if (raw.is_string()) return (std::filesystem::path(directory) / raw.get<std::string>()).lexically_normal().string();
  return source;
}

/// The validated training config `raw` names: inline, or a file relative to
/// the sweep file's directory.
Json load_base(const Json& raw, const std::string& source, const std::string& directory) {
  const auto training = job::training_schema();
  if (raw.is_string()) {
    const auto path = base_source_of(raw, source, directory);
    return training.validate(config::read_json_file(path), path);
  }
  if (!raw.is_object())
    throw InputError(fmt::format("{}: \"base\" must be a training config (an object) or the path of one.", source));
  return training.validate(raw, source, "base");
}

/// Every leaf key path of a nested config ("optimizer.lr", ...).
void leaf_paths(const Json& node, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& item : node.items()) {
    const auto path = prefix.empty() ? item.key() : prefix + "." + item.key();
    out.push_back(path);
    if (item.value().is_object()) leaf_paths(item.value(), path, out);
  }
}

/// A space key that is no key of the training config would be written into
/// every trial and refused there; refuse it once, here, with a suggestion.
void check_space_paths(const SearchSpace& space, const Json& base, const std::string& source) {
  std::vector<std::string> paths;
  leaf_paths(base, "", paths);
  for (const auto& parameter : space.parameters()) {
    if (std::find(paths.begin(), paths.end(), parameter.path) != paths.end()) continue;
    const auto suggestion = config::closest_name(parameter.path, paths);
    throw InputError(fmt::format("{}: \"space.{}\" is not a key of the base training config{}.", source,
                                 parameter.path,
                                 suggestion.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", suggestion)));
  }
}

/// A test function reads its own parameters ("x1", "x2", ...): each must be in the space.
void check_function_paths(const SearchSpace& space, const ObjectiveSpec& objective, const std::string& source) {
  const auto function = function_objective(objective);
  const auto& given = space.parameters();
  for (const auto& needed : function.space.parameters()) {
    const bool found = std::any_of(given.begin(), given.end(), [&](const Parameter& p) { return p.path == needed.path; });
    if (!found)
      throw InputError(fmt::format("{}: \"space\" lacks \"{}\", a parameter of the {} function.", source,
                                   needed.path, objective.function));
  }
}

ObjectiveSpec objective_of(const Json& raw, const Json& validated, const std::string& source) {
  ObjectiveSpec objective;
  objective.metric = validated.at("metric").get<std::string>();
  objective.direction = validated.at("mode") == "max" ? Direction::kMaximize : Direction::kMinimize;
  objective.command = validated.at("command").get<std::vector<std::string>>();
  objective.function = validated.at("function").get<std::string>();
  objective.worker = validated.at("worker").get<bool>();
  const auto refuse = [&](const std::string& key, const std::string& why) {
    throw InputError(fmt::format("{}: \"objective.{}\" {}.", source, key, why));
  };
  if (objective.worker && objective.command.empty()) refuse("worker", "needs objective.command: the worker to start");
  objective.isolation = validated.at("isolation").get<std::string>();
  if (objective.isolation == "none") {
    for (const auto& key : kIsolationSettings)
      if (raw.contains(key))
        refuse(key, "is a setting of isolated training trials and needs objective.isolation \"process\"");
  } else if (!objective.command.empty() || !objective.function.empty()) {
    refuse("isolation", "applies to training trials; a command or a test function runs as it is");
  }
  objective.launcher = validated.at("launcher").get<std::vector<std::string>>();
  objective.trainer = validated.at("trainer").get<std::string>();
  if (!objective.function.empty()) {
    if (!objective.metric.empty()) refuse("metric", "has no meaning with objective.function (the value is the function's)");
    if (!objective.command.empty()) refuse("command", "and objective.function cannot both be given");
    for (const auto& key : kFunctionSettings) objective.settings[key] = validated.at(key);
    return objective;
  }
  for (const auto& key : kFunctionSettings)
    if (raw.contains(key)) refuse(key, "is a setting of a test function and needs objective.function");
  if (objective.metric.empty())
    refuse("metric", objective.command.empty() ? "is required: name the training job's metric to optimise (e.g. "
                                                 "\"val_accuracy\")"
                                               : "is required: name the key of the command's last JSON line to optimise");
  return objective;
}

/// A placeholder that names nothing would fail every trial, and be retried:
/// refuse it once, here. A worker is started once for many trials, so its
/// command has no trial placeholders: each trial comes on its stdin.
void check_command_placeholders(const ObjectiveSpec& objective, const SearchSpace& space, const std::string& source) {
  std::vector<std::string> known = trial_placeholders();
  for (const auto& parameter : space.parameters()) known.push_back(parameter.path);
  for (const auto& name : command_placeholders(objective.command)) {
    if (objective.worker)
      throw InputError(fmt::format("{}: \"objective.command\" has the placeholder \"{{{}}}\", but a worker "
                                   "(objective.worker) is started once for many trials and reads each trial's values "
                                   "from its stdin.", source, name));
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const auto suggestion = config::closest_name(name, known);
    std::string listed;
    for (const auto& each : known) listed += (listed.empty() ? "{" : ", {") + each + "}";
    throw InputError(fmt::format("{}: \"objective.command\" has the placeholder \"{{{}}}\", which is no key of "
                                 "\"space\"{}; the placeholders are {}.", source, name,
                                 suggestion.empty() ? "" : fmt::format(" (did you mean \"{{{}}}\"?)", suggestion),
                                 listed));
  }
}

/// Replaces "{ranks}" in the launcher of isolated trials by `ranks`; any
/// other placeholder there names nothing and is refused now, before a trial runs.
void expand_launcher(ObjectiveSpec& objective, int64_t ranks, const std::string& source) {
  objective.launcher = substitute_placeholders(objective.launcher, [&](const std::string& name) {
    if (name != "ranks")
      throw InputError(fmt::format("{}: \"objective.launcher\" has the placeholder \"{{{}}}\"; its only placeholder "
                                   "is {{ranks}} (ranks_per_trial).",
                                   source, name));
    return std::to_string(ranks);
  });
}

/// Sweeps that can run forever must say when to stop.
void check_limits(const Json& config, const std::string& source) {
  const auto sampler = config.at("sampler").at("name").get<std::string>();
  const auto scheduler = config.at("scheduler").at("name").get<std::string>();
  const bool bracket_limit = config.at("scheduler").value("max_brackets", int64_t(0)) > 0;
  const bool ends_by_itself = sampler == "grid" || bracket_limit;
  const bool limited = config.at("max_trials").get<int64_t>() > 0 || config.at("max_total_budget").get<double>() > 0 ||
                       config.at("time_limit_s").get<double>() > 0;
  if (ends_by_itself || limited) return;
  throw InputError(fmt::format("{}: \"max_trials\": a sweep with the {} sampler and the {} scheduler never ends on its "
                               "own; set max_trials, max_total_budget or time_limit_s{}.",
                               source, sampler, scheduler,
                               scheduler == "hyperband" || scheduler == "successive_halving" ? " (or scheduler.max_brackets)"
                                                                                            : ""));
}

}  // namespace

config::Schema sweep_schema() {
  Schema schema;
  schema.object("objective", objective_schema(), "what a trial is judged by: a training metric, a command's "
                                                 "output or a test function")
      .object("budget", budget_schema(), "the budgets trials get, in epochs")
      .variant("sampler", "random", sampler_registry().schemas(), "where to look: a sampler by name")
      .variant("scheduler", "fifo", scheduler_registry().schemas(), "how much to spend on what: a scheduler by name")
      .integer("max_trials", 0, "start no more trials after this many (retries not counted; 0 = no limit)",
               Range::at_least(0))
      .number("max_total_budget", 0.0, "start no more trials once their budgets add up to this (0 = no limit)",
              Range::at_least(0))
      .number("time_limit_s", 0.0, "hand out no new trials after this many seconds of this run, then finish the "
                                   "running ones (0 = no limit)", config::seconds())
      .integer("ranks_per_trial", 1, "ranks of each worker group; every trial runs on one group",
               Range::at_least(1))
      .number("trial_timeout_s", 0.0, "a trial still running after this many seconds is stopped and marked "
                                      "timed_out (0 = no limit)", config::seconds())
      .integer("max_failures", 2, "how often a failed or timed-out trial is retried", Range::at_least(0))
      .integer("seed", 0, "seeds the sampler; the same seed and results give the same sweep",
               Range::at_least(0).widened())
      .string("output_dir", "runs/sweep", "the journal, results, best.json, report.html and trials/<id>/")
      .boolean("sync_journal", true,
               "wait for the disk (fdatasync) before a trial leaves the coordinator (once per pass for all "
               "records: group commit)")
      .number("progress_every_s", 5.0, "seconds between progress lines", config::positive_seconds())
      .number("outputs_every_s", 5.0, "seconds between refreshes of the outputs while the sweep runs",
              config::positive_seconds());
  return schema;
}

SweepConfig parse_sweep_config(const Json& raw, const std::string& source, const std::string& directory) {
  if (!raw.is_object()) throw InputError(fmt::format("{}: the sweep config must be a JSON object.", source));
  if (!raw.contains("space")) throw InputError(fmt::format("{}: \"space\" is required: the parameters to tune.", source));
  Json rest = raw;
  rest.erase("space");
  rest.erase("base");
  SweepConfig sweep;
  sweep.source = source;
  sweep.config = sweep_schema().validate(rest, source);
  sweep.objective = objective_of(raw.value("objective", Json::object()), sweep.config.at("objective"), source);
  sweep.space = SearchSpace::from_json(raw.at("space"), source);
  const bool trains = sweep.objective.command.empty() && sweep.objective.function.empty();
  if (raw.contains("base")) {
    // A test function trains nothing: a base would only be written into best.json, where the function's
    // parameters are no keys of it. Refused now, not after every trial ran.
    if (!sweep.objective.function.empty())
      throw InputError(fmt::format("{}: \"base\" has no use with objective.function (a test function trains "
                                   "nothing); remove it.",
                                   source));
    sweep.base = load_base(raw.at("base"), source, directory);
    check_space_paths(sweep.space, sweep.base, base_source_of(raw.at("base"), source, directory));
  } else if (trains) {
    throw InputError(fmt::format("{}: \"base\" is required: the training config (or its path) each trial starts "
                                 "from.", source));
  }
  if (!sweep.objective.function.empty()) check_function_paths(sweep.space, sweep.objective, source);
  if (!sweep.objective.command.empty()) check_command_placeholders(sweep.objective, sweep.space, source);
  // The complete config re-reads to itself: output_dir/sweep.json resumes alone.
  sweep.config["space"] = raw.at("space");
  if (raw.contains("base")) sweep.config["base"] = sweep.base;
  if (sweep.objective.function.empty())
    for (const auto& key : kFunctionSettings) sweep.config["objective"].erase(key);
  if (sweep.base.is_null()) sweep.base = Json::object();
  // A sweep in the sweep's own ranks saves the config it saved before isolation existed, so its journal resumes.
  if (sweep.objective.isolation == "none") {
    sweep.config["objective"].erase("isolation");
    for (const auto& key : kIsolationSettings) sweep.config["objective"].erase(key);
  }

  const auto& budget = sweep.config.at("budget");
  sweep.min_budget = budget.at("min").get<double>();
  sweep.max_budget = budget.at("max").get<double>();
  sweep.eta = budget.at("eta").get<int64_t>();
  if (sweep.max_budget < sweep.min_budget)
    throw InputError(fmt::format("{}: \"budget.max\" ({}) must not be below budget.min ({}).", source,
                                 sweep.max_budget, sweep.min_budget));
  sweep.ranks_per_trial = sweep.config.at("ranks_per_trial").get<int64_t>();
  if (sweep.objective.isolation == "process") expand_launcher(sweep.objective, sweep.ranks_per_trial, source);
  sweep.trial_timeout_s = sweep.config.at("trial_timeout_s").get<double>();
  sweep.time_limit_s = sweep.config.at("time_limit_s").get<double>();
  sweep.output_dir = sweep.config.at("output_dir").get<std::string>();
  if (sweep.output_dir.empty()) throw InputError(fmt::format("{}: \"output_dir\" must not be empty.", source));
  check_limits(sweep.config, source);
  sweep.make_sampler();  // refuses a space the sampler cannot use (a float in a grid) now, not mid-sweep
  sweep.make_scheduler();  // and a scheduler the budget cannot hold (too many ASHA brackets)
  return sweep;
}

namespace {

/// `--set key=value` on a sweep config. The keys of `space` are whole config
/// paths with dots of their own, so `space.optimizer.lr={...}` sets the
/// parameter "optimizer.lr", not a key "lr" inside a parameter "optimizer".
void apply_sweep_override(Json& raw, const std::string& assignment) {
  const std::string prefix = "space.";
  if (assignment.compare(0, prefix.size(), prefix) != 0) return config::apply_override(raw, assignment);
  auto [path, value] = config::parse_assignment(assignment);
  Json& space = raw["space"];
  if (space.is_null()) space = Json::object();
  if (!space.is_object())
    throw InputError(fmt::format("--set {}: \"space\" is not an object, so it has no parameters.",
                                 excerpt(assignment)));
  space[path.substr(prefix.size())] = std::move(value);
}

}  // namespace

SweepConfig load_sweep_config(const std::string& path, const std::vector<std::string>& overrides) {
  Json raw = config::read_json_file(path);
  if (!raw.is_object()) throw InputError(fmt::format("{}: the sweep config must be a JSON object.", path));
  for (const auto& assignment : overrides) apply_sweep_override(raw, assignment);
  const std::string source = overrides.empty() ? path : path + " (with --set overrides)";
  return parse_sweep_config(raw, source, std::filesystem::path(path).parent_path().string());
}

namespace {

/// A new sweep must not write over an old one's journal, and a resume needs one.
void check_output_dir(const std::string& output_dir, bool resuming) {
  const bool has_journal = std::filesystem::exists(run_layout::in(output_dir, run_layout::kJournal));
  if (resuming && !has_journal)
    throw InputError(fmt::format("--resume {}: there is no sweep to resume there (no {}).", output_dir,
                                 run_layout::kJournal));
  if (!resuming && has_journal)
    throw InputError(fmt::format("output_dir \"{}\" already holds a sweep ({}); continue it with --resume {}, "
                                 "or choose another output_dir.",
                                 output_dir, run_layout::kJournal, output_dir));
}

}  // namespace

SweepConfig open_sweep(const std::string& config_path, std::vector<std::string> overrides,
                       const std::string& resume_dir, int world_size) {
  const bool resuming = !resume_dir.empty();
  if (resuming) {
    check_output_dir(resume_dir, true);  // before reading the config saved there
    overrides.push_back("output_dir=" + Json(resume_dir).dump());
  }
  const auto path = !config_path.empty() ? config_path : run_layout::in(resume_dir, run_layout::kSweepConfig);
  auto sweep = load_sweep_config(path, overrides);
  check_group_layout(world_size, sweep.group_size(), sweep.source);
  check_output_dir(sweep.output_dir, resuming);
  return sweep;
}

std::unique_ptr<Sampler> SweepConfig::make_sampler() const {
  try {
    return sampler_registry().create(config.at("sampler"), space);
  } catch (const InputError& error) {  // e.g. a float parameter in a grid
    throw InputError(fmt::format("{}: {}", source, error.what()));
  }
}

std::unique_ptr<Scheduler> SweepConfig::make_scheduler() const {
  try {
    return scheduler_registry().create(config.at("scheduler"), BudgetRange{min_budget, max_budget, eta});
  } catch (const InputError& error) {  // e.g. more ASHA brackets than the budget has rungs
    throw InputError(fmt::format("{}: {}", source, error.what()));
  }
}

int64_t SweepConfig::group_size() const { return objective.isolation == "process" ? 1 : ranks_per_trial; }

StudyOptions SweepConfig::study_options() const {
  Json settings = config;
  for (const auto& key : kRunSettings) settings.erase(key);
  // How isolated trials are started (which mpirun, which cohort-train) may change on a resume, as on another machine.
  for (const auto& key : kIsolationSettings) settings["objective"].erase(key);
  return StudyOptions()
      .seed(config.at("seed").get<uint64_t>())
      .direction(objective.direction)
      .max_trials(config.at("max_trials").get<int64_t>())
      .max_total_budget(config.at("max_total_budget").get<double>())
      .max_failures(config.at("max_failures").get<int64_t>())
      .journal(run_layout::in(output_dir, run_layout::kJournal))
      .sync_journal(config.at("sync_journal").get<bool>())
      .settings(settings);
}

Json SweepConfig::training_config(const Trial& trial) const {
  if (base.empty()) return Json::object();
  // The trial's own config, as its evaluator built it: one function serves both.
  return trial_training_config(base, trial.config, (std::filesystem::path(output_dir) / "best").string(), max_budget,
                               source);
}

}  // namespace cohort::sweep
