#include "cohort/sweep/executor.h"

#include <chrono>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cohort/core/error.h"
#include "cohort/distributed/runtime.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/distributed/message_channel.h"
#include "cohort/distributed/wait_policy.h"
#include "sweep_monitor.h"
#include "cohort/core/run_layout.h"

namespace cohort::sweep {
namespace {

using distributed::Backoff;
using distributed::BackoffOptions;
using distributed::MessageChannel;
using std::chrono::microseconds;

/// The sweep's message tags on its MessageChannel.
enum Tag : int {
  kRequest = 1,  // leader -> coordinator: {} at first, then {"trial_id": id, "result": {...}}
  kAssign = 2,   // coordinator -> leader -> group: {"trial": {...}, ...} or {"stop": true}
  kFailed = 3,   // a rank of a group -> the others: {"trial_id": id, "error": "..."}
  kTrialEnd = 4, // a group's other ranks -> its leader: {"trial_id": id, "failed": bool}
  kReport = 5,   // leader -> coordinator: {"budget": b, "value": v}, an intermediate value of its trial
  kVerdict = 6,  // coordinator -> leader: {"stop": bool}, the answer to a kReport
};

/// How a waiting rank polls for its next message: a reply usually comes
/// within microseconds, so it yields the core for the first 200 us (not in
/// the sleep wait mode, where even that is left to the trials), then sleeps,
/// from 20 us doubling up to `longest`. The longest sleeps are short, because
/// every pause of the coordinator or a leader delays a dispatch and leaves a
/// group idle; still sleeps, so a parked group or a coordinator between
/// results wakes a few thousand times a second at most and leaves the cores
/// to the trials. The other ranks of a group wait for the leader's next trial.
Backoff message_backoff(microseconds longest) {
  return Backoff(BackoffOptions::for_events(distributed::wait_mode(), microseconds(200), microseconds(20), longest));
}
constexpr microseconds kCoordinatorPause{250};
constexpr microseconds kLeaderPause{1000};
constexpr microseconds kMemberPause{2000};

/// The evaluator promises not to throw; a broken promise still only fails the trial.
Result evaluate_safely(Evaluator& evaluator, const Trial& trial, const TrialContext& context) {
  try {
    return evaluator.evaluate(trial, context);
  } catch (const std::exception& error) {
    return Result::failed(describe_exception(error));
  }
}

/// Tells the study, and says on the console why a trial did not complete:
/// results.csv has it too, but a sweep whose every trial fails the same way
/// should say so where it is watched.
void tell(Study& study, const Trial& trial, const Result& result) {
  if (result.state == TrialState::kFailed || result.state == TrialState::kTimedOut)
    spdlog::warn("sweep: trial {} {}{}: {}", trial.id, state_name(result.state),
                 result.retry ? "" : " (not retried: it would fail again)", result.error);
  study.tell(trial, result);
}

/// A worker group as the coordinator sees it, by its leader.
struct Leader {
  int rank = 0;
  std::optional<Trial> running;
  bool waiting = false;  // asked for work and not answered yet
};

/// The coordinator's side of the groups: results in, trials out.
class Coordination {
 public:
  Coordination(MessageChannel& channel, Study& study, detail::SweepMonitor& monitor, int64_t groups,
               int64_t ranks_per_trial)
      : channel_(channel), study_(study), monitor_(monitor), ranks_per_trial_(ranks_per_trial) {
    for (int64_t g = 0; g < groups; ++g) {
      leaders_.emplace_back();
      leaders_.back().rank = int(1 + g * ranks_per_trial);
    }
  }

  bool over() const { return stopped_ == leaders_.size(); }

  /// Tells the study every result that has arrived; returns how many.
  int64_t receive_results() {
    int64_t results = 0;
    while (auto message = channel_.try_receive(distributed::kAnySource, kRequest)) {
      Leader& leader = leaders_.at(size_t((message->first - 1) / ranks_per_trial_));
      if (leader.running) {
        tell(study_, *leader.running, result_from_json(message->second.at("result")));
        leader.running.reset();
        ++results;
      }
      leader.waiting = true;
    }
    return results;
  }

  /// Answers every intermediate report that has arrived with the study's verdict.
  void answer_reports() {
    while (auto message = channel_.try_receive(distributed::kAnySource, kReport)) {
      const Leader& leader = leaders_.at(size_t((message->first - 1) / ranks_per_trial_));
      const auto& report = message->second;
      const bool stop = leader.running && study_.report(*leader.running, report.at("budget").get<double>(),
                                                        report.at("value").get<double>());
      channel_.send(message->first, kVerdict, Json{{"stop", stop}});
    }
  }

  /// Gives every waiting leader a trial; when the study has none, parks the
  /// leader while trials still run (their results may bring more: a rung
  /// closes), and otherwise (or past the time limit) tells it to stop.
  /// Answers are decided first and sent after one wait for the journal (group
  /// commit): no trial leaves before its ask is on the disk, and a pass that
  /// tells and asks for many groups pays for one fdatasync, not one per record.
  /// Returns how many trials were handed out.
  int64_t hand_out() {
    std::vector<std::pair<int, Json>> answers;  // leader's rank, message
    int64_t handed_out = 0;
    for (Leader& leader : leaders_) {
      if (!leader.waiting) continue;
      const bool time_up = monitor_.time_is_up();
      auto trial = time_up ? std::nullopt : study_.ask();
      if (trial) {
        answers.emplace_back(leader.rank, Json{{"trial", trial_to_json(*trial)}});
        leader.running = std::move(trial);
        monitor_.dispatched();
        ++handed_out;
      } else if (!time_up && study_.running() > 0) {
        break;  // parked: the study has nothing until a result arrives
      } else {
        answers.emplace_back(leader.rank, Json{{"stop", true}});
        ++stopped_;
      }
      leader.waiting = false;
    }
    study_.sync_journal();
    for (const auto& [rank, answer] : answers) channel_.send(rank, kAssign, answer);
    return handed_out;
  }

 private:
  MessageChannel& channel_;
  Study& study_;
  detail::SweepMonitor& monitor_;
  int64_t ranks_per_trial_;
  std::vector<Leader> leaders_;
  size_t stopped_ = 0;
};

}  // namespace

void check_group_layout(int world_size, int64_t ranks_per_trial, const std::string& source) {
  if (world_size == 1) {
    if (ranks_per_trial == 1) return;
    throw InputError(fmt::format("{}: \"ranks_per_trial\" is {}, but cohort-tune runs as one process; start it with "
                                 "mpirun -np {} (a coordinator and one group) or more.",
                                 source, ranks_per_trial, ranks_per_trial + 1));
  }
  if (world_size >= 2 && (world_size - 1) % ranks_per_trial == 0) return;
  throw InputError(fmt::format("{}: \"ranks_per_trial\" is {}, and the {} ranks other than the coordinator do not "
                               "split into groups of {}; start 1 + a multiple of {} ranks (e.g. mpirun -np {}).",
                               source, ranks_per_trial, world_size - 1, ranks_per_trial, ranks_per_trial,
                               ranks_per_trial + 1));
}

MpiExecutor::MpiExecutor(ExecutorOptions options)
    : options_(std::move(options)), rank_(distributed::world_rank()), world_size_(distributed::world_size()) {
  check_group_layout(world_size_, options_.ranks_per_trial(), "cohort-tune");
  const auto world = distributed::world(torch::kCPU);
  if (world_size_ == 1) {
    group_ = world;
    return;
  }
  channel_ = std::make_unique<MessageChannel>();
  // Group g (1, 2, ...) holds world ranks 1 + (g - 1) * ranks_per_trial onwards; the coordinator is group 0 alone.
  const int per_group = int(options_.ranks_per_trial());
  const int color = rank_ == 0 ? 0 : 1 + (rank_ - 1) / per_group;
  group_ = world->split(color, rank_);
  leader_ = rank_ == 0 ? 0 : 1 + (color - 1) * per_group;
  for (int r = leader_; rank_ != 0 && r < leader_ + per_group; ++r) members_.push_back(r);
}

MpiExecutor::~MpiExecutor() = default;

int64_t MpiExecutor::groups() const { return world_size_ == 1 ? 1 : (world_size_ - 1) / options_.ranks_per_trial(); }

SweepSummary MpiExecutor::run(Study* study, Evaluator* evaluator) {
  if (coordinates() && !study) throw std::invalid_argument("MpiExecutor::run: the coordinator needs the study");
  if (evaluates() && !evaluator) throw std::invalid_argument("MpiExecutor::run: a worker rank needs an evaluator");
  if (world_size_ == 1) return run_in_process(*study, *evaluator);
  if (coordinates()) return coordinate(*study);
  if (rank_ == leader_) {
    lead(*evaluator);
  } else {
    follow(*evaluator);
  }
  return {};
}

SweepSummary MpiExecutor::coordinate(Study& study) {
  detail::SweepMonitor monitor(study, options_);
  Coordination coordination(*channel_, study, monitor, groups(), options_.ranks_per_trial());
  spdlog::info("sweep: {} worker group(s) of {} rank(s); rank 0 coordinates", groups(), options_.ranks_per_trial());
  Backoff backoff = message_backoff(kCoordinatorPause);
  study.defer_journal_syncs(true);  // hand_out() syncs once per pass
  while (!coordination.over()) {
    // Results first: they may unblock a rung and so give the idle groups work.
    coordination.answer_reports();
    const int64_t results = coordination.receive_results();
    const int64_t handed_out = coordination.hand_out();
    monitor.tick(results);
    if (results > 0 || handed_out > 0) {
      backoff.reset();
    } else {
      backoff.pause();
    }
  }
  study.defer_journal_syncs(false);
  return monitor.finish();
}

SweepSummary MpiExecutor::run_in_process(Study& study, Evaluator& evaluator) {
  spdlog::info("sweep: one process (no mpirun): trials run one at a time in this process");
  detail::SweepMonitor monitor(study, options_);
  while (!monitor.time_is_up()) {
    const auto trial = study.ask();
    if (!trial) break;
    monitor.dispatched();
    Json assignment = {{"trial", trial_to_json(*trial)}};
    prepare(assignment);
    auto context = context_of(assignment);
    context.report = [&](double budget, double value) { return study.report(*trial, budget, value); };
    tell(study, *trial, evaluate_safely(evaluator, *trial, context));
    monitor.tick(1);
  }
  return monitor.finish();
}

void MpiExecutor::lead(Evaluator& evaluator) {
  Json request = Json::object();
  bool regroup_now = false;
  while (true) {
    channel_->send(0, kRequest, request);
    Json assignment = channel_->receive(0, kAssign, message_backoff(kLeaderPause));
    if (!assignment.contains("stop")) prepare(assignment);
    assignment["regroup"] = regroup_now;
    for (const int member : members_)
      if (member != rank_) channel_->send(member, kAssign, assignment);
    if (assignment.contains("stop")) return;
    if (regroup_now) regroup();
    // The leader asks the coordinator about each intermediate value and waits for its verdict.
    const auto report = [&](double budget, double value) {
      channel_->send(0, kReport, Json{{"budget", budget}, {"value", value}});
      return channel_->receive(0, kVerdict, message_backoff(kLeaderPause)).at("stop").get<bool>();
    };
    const auto result = run_trial(evaluator, assignment, report);
    const auto id = assignment.at("trial").at("id").get<int64_t>();
    // The group goes on with a new communicator when the trial failed on any of its ranks.
    regroup_now = trial_failed_;
    for (const int member : members_)
      if (member != rank_) {
        const auto end = channel_->receive(member, kTrialEnd, message_backoff(kLeaderPause));
        regroup_now = regroup_now || (end.at("trial_id") == id && end.at("failed").get<bool>());
      }
    request = {{"trial_id", id}, {"result", result_to_json(result)}};
  }
}

void MpiExecutor::follow(Evaluator& evaluator) {
  while (true) {
    const Json assignment = channel_->receive(leader_, kAssign, message_backoff(kMemberPause));
    if (assignment.contains("stop")) return;
    if (assignment.value("regroup", false)) regroup();
    run_trial(evaluator, assignment);
    channel_->send(leader_, kTrialEnd,
                   {{"trial_id", assignment.at("trial").at("id")}, {"failed", trial_failed_}});
  }
}

Result MpiExecutor::run_trial(Evaluator& evaluator, const Json& assignment,
                              std::function<bool(double, double)> report) {
  const auto trial = trial_from_json(assignment.at("trial"));
  auto context = context_of(assignment);
  context.report = std::move(report);
  std::optional<std::string> notice;
  struct Uninstall {
    ~Uninstall() { distributed::set_wait_interrupt({}); }
  } uninstall;  // before `notice` goes, however the trial ends
  if (members_.size() > 1)
    distributed::set_wait_interrupt([&]() -> std::optional<std::string> {
      if (!notice) notice = failure_notice(trial.id);
      return notice;
    });
  auto result = evaluate_safely(evaluator, trial, context);
  trial_failed_ = result.state == TrialState::kFailed || notice.has_value();
  if (result.state == TrialState::kFailed && !notice && members_.size() > 1) {
    const Json failure = {{"trial_id", trial.id},
                          {"error", fmt::format("rank {} of the trial's group of {} failed: {}", group_->rank(),
                                                members_.size(), result.error)}};
    for (const int member : members_)
      if (member != rank_) channel_->send(member, kFailed, failure);
  }
  return result;
}

std::optional<std::string> MpiExecutor::failure_notice(int64_t trial_id) {
  while (auto message = channel_->try_receive(distributed::kAnySource, kFailed))
    if (message->second.at("trial_id") == trial_id) return message->second.at("error").get<std::string>();
  return std::nullopt;
}

void MpiExecutor::regroup() {
  const int color = 1 + (leader_ - 1) / int(options_.ranks_per_trial());
  group_ = distributed::make_mpi_group_communicator(members_, color);
}

void MpiExecutor::prepare(Json& assignment) const {
  const auto& trial = assignment.at("trial");
  const auto id = trial.at("id").get<int64_t>(), parent = trial.at("parent").get<int64_t>();
  const auto trial_dir = run_layout::trial_dir(options_.output_dir(), id);
  std::filesystem::create_directories(trial_dir);
  assignment["trial_dir"] = trial_dir;
  assignment["parent_dir"] = parent >= 0 ? run_layout::trial_dir(options_.output_dir(), parent) : "";
  assignment["deadline"] = options_.trial_timeout_s() > 0 ? wall_clock_seconds() + options_.trial_timeout_s() : 0.0;
}

TrialContext MpiExecutor::context_of(const Json& assignment) const {
  TrialContext context;
  context.group = group_;
  context.trial_dir = assignment.at("trial_dir").get<std::string>();
  context.parent_dir = assignment.at("parent_dir").get<std::string>();
  context.deadline = assignment.at("deadline").get<double>();
  return context;
}

}  // namespace cohort::sweep
