#include "cohort/sweep/isolated_training_evaluator.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "cohort/core/run_layout.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/sweep/training_evaluator.h"
#include "command/child_process.h"
#include "command/command_output.h"
#include "training/trial_start.h"

namespace cohort::sweep {
namespace fs = std::filesystem;
namespace {

bool executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

/// Whether `program` can be started: a path to an executable file, or a
/// name found on PATH as posix_spawnp looks it up.
bool startable(const std::string& program) {
  if (program.find('/') != std::string::npos) return executable_file(program);
  const char* path = std::getenv("PATH");
  std::stringstream directories(path ? path : "");
  for (std::string directory; std::getline(directories, directory, ':');)
    if (executable_file(fs::path(directory.empty() ? "." : directory) / program)) return true;
  return false;
}

/// The non-empty lines of `path` (none when it does not exist).
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  return lines;
}

/// The trainer's own sentence of why it stopped ("cohort-train: training
/// failed: step 2: the loss is nan ..."), from the last line of `log` that
/// has one; "" when none does (a rank that was killed says nothing).
std::string trainer_failure(const std::string& log) {
  constexpr const char* kTrainerSays = "cohort-train: ";
  std::string said;
  for (const auto& line : lines_of(log))
    if (const auto at = line.find(kTrainerSays); at != std::string::npos) said = line.substr(at);
  return said;
}

}  // namespace

std::string default_trainer() {
  std::error_code error;
  const auto self = fs::read_symlink("/proc/self/exe", error);
  return ((error ? fs::path() : self.parent_path()) / "cohort-train").string();
}

IsolatedTrainingEvaluator::IsolatedTrainingEvaluator(Json base_config, std::string source, double max_budget,
                                                     std::string metric, IsolatedTrainingOptions options)
    : base_config_(std::move(base_config)),
      source_(std::move(source)),
      max_budget_(max_budget),
      metric_(std::move(metric)),
      options_(std::move(options)) {
  check_training_metric(metric_, base_config_, source_);
  if (options_.trainer().empty()) options_.trainer(default_trainer());
  if (!executable_file(options_.trainer()))
    throw InputError(fmt::format("{}: \"objective.trainer\": {} is not an executable file; set objective.trainer "
                                 "to the cohort-train that runs isolated trials.",
                                 source_, options_.trainer()));
  if (!options_.launcher().empty() && !startable(options_.launcher().front()))
    throw InputError(fmt::format("{}: \"objective.launcher\": \"{}\" is neither an executable file nor found on "
                                 "PATH.",
                                 source_, options_.launcher().front()));
}

Result IsolatedTrainingEvaluator::evaluate(const Trial& trial, const TrialContext& context) {
  return run_on_leader(context.group, [&](Heartbeat& heartbeat) {
    try {
      return run(trial, context, heartbeat);
    } catch (const InputError& error) {
      return Result::failed(error.what(), /*retry=*/false);  // the configuration itself is refused
    } catch (const std::exception& error) {
      return Result::failed(describe_exception(error));
    }
  });
}

std::vector<std::string> IsolatedTrainingEvaluator::job_command(const std::string& config_path, double budget,
                                                                const std::string& checkpoint) const {
  auto argv = options_.launcher();
  for (const auto& word : {options_.trainer(), std::string("--config"), config_path, std::string("--until-epochs"),
                           fmt::format("{}", budget), std::string("--no-test")})
    argv.push_back(word);
  if (!checkpoint.empty()) argv.insert(argv.end(), {"--resume", checkpoint});
  return argv;
}

std::optional<Result> IsolatedTrainingEvaluator::run_job(const std::vector<std::string>& argv,
                                                         const TrialContext& context, Heartbeat& heartbeat) const {
  const auto log = run_layout::in(context.trial_dir, run_layout::kTrainLog);
  const auto out = (fs::path(context.trial_dir) / detail::kStdoutFile).string();
  // The log is appended to, as the in-process trial's is: a trial handed out again keeps its earlier lines.
  detail::ChildProcess job(argv, detail::ChildStreams{out, log, /*stdin_socket=*/false, /*append=*/true});
  auto backoff = detail::child_backoff();
  std::optional<int> status;
  while (!(status = job.poll())) {
    if (deadline_passed(context))
      return detail::stop_at_deadline(job, options_.kill_grace_s(), heartbeat,
                                      "the trial's training job ran past its deadline", "; its log is " + log);
    heartbeat.beat();
    backoff.pause();
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return std::nullopt;
  // Input the trainer refused (a config, a checkpoint) would be refused again.
  const bool refused = WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput;
  const auto ended = detail::how_it_ended(*status);
  if (const auto why = trainer_failure(log); !why.empty())
    return Result::failed(fmt::format("the trial's training job {}: {} (its log: {})", ended, why, log), !refused);
  const auto last = detail::last_line(log);  // e.g. mpirun's banner about a rank that died
  return Result::failed(fmt::format("the trial's training job {}; {}", ended,
                                    last.empty() ? fmt::format("its log {} is empty", log)
                                                 : fmt::format("its log {} ends: {}", log, last)),
                        /*retry=*/!refused);
}

Result IsolatedTrainingEvaluator::run(const Trial& trial, const TrialContext& context, Heartbeat& heartbeat) const {
  if (context.trial_dir.empty()) throw std::runtime_error("an isolated training trial needs the trial's directory");
  const auto source = fmt::format("{} (trial {})", source_, trial.id);
  const auto config = trial_training_config(base_config_, trial.config, context.trial_dir, max_budget_, source);
  const auto config_path = run_layout::in(context.trial_dir, run_layout::kConfig);
  write_file_atomically(config_path, config.dump(2) + "\n");

  auto checkpoint = detail::start_trial(trial, context.trial_dir, context.parent_dir).checkpoint;
  const auto metrics = run_layout::in(context.trial_dir, run_layout::kMetrics);
  // A resumed job appends to metrics.jsonl (the parent's copy, or the trial's own lines).
  const auto records_before = checkpoint.empty() ? 0 : lines_of(metrics).size();
  if (auto ended = run_job(job_command(config_path, trial.budget, checkpoint), context, heartbeat)) return *ended;
  auto records = lines_of(metrics);
  if (records.size() <= records_before && !checkpoint.empty()) {
    // The checkpoint was already at the budget in steps (budgets closer than one step): start over.
    checkpoint.clear();
    if (auto ended = run_job(job_command(config_path, trial.budget, checkpoint), context, heartbeat)) return *ended;
    records = lines_of(metrics);
  }
  if (records.empty()) throw std::runtime_error(fmt::format("{}: the trial trained no step.", source));
  return detail::completed_training(Json::parse(records.back()), metric_, checkpoint,
                                    {{"metrics", metrics}, {"log", run_layout::in(context.trial_dir, run_layout::kTrainLog)}});
}

}  // namespace cohort::sweep
