#include "cohort/tuner/study/study.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "cohort/core/error.h"

namespace cohort::tuner {
namespace {

constexpr const char* kJournalFormat = "cohort-journal-v1";




}  // namespace

Study::Study(std::unique_ptr<Sampler> sampler, std::unique_ptr<Scheduler> scheduler, StudyOptions options)
    : sampler_(std::move(sampler)), scheduler_(std::move(scheduler)), options_(std::move(options)),
      rng_(options_.seed()) {
  if (!options_.journal().empty()) open_journal();
}

Study::~Study() = default;

void Study::defer_journal_syncs(bool deferred) {
  if (journal_) journal_->defer_syncs(deferred);
}

void Study::sync_journal() {
  if (journal_) journal_->sync();
}

void Study::open_journal() {
  journal_ = std::make_unique<Journal>(options_.journal(), options_.sync_journal());
  const Json header = {{"event", "study"},
                       {"format", kJournalFormat},
                       {"seed", options_.seed()},
                       {"direction", options_.direction() == Direction::kMinimize ? "minimize" : "maximize"},
                       {"space", sampler_->space().to_json()},
                       {"settings", options_.settings()}};
  const auto& records = journal_->existing();
  if (records.empty()) {
    journal_->append(header);
    return;
  }
  for (const char* key : {"format", "seed", "direction", "space", "settings"}) {
    if (records.front().value(key, Json()) != header[key])
      throw InputError(fmt::format("{}: was written by a different sweep (its \"{}\" differs); resume with the same "
                                   "sweep config, or start in a new output directory.",
                                   journal_->path(), key));
  }
  replay(records);
}

void Study::replay(const std::vector<Json>& records) {
  replaying_ = true;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto where = fmt::format("{}: line {}", journal_->path(), i + 1);
    try {
      replay_record(records[i], where);
    } catch (const nlohmann::json::exception& error) {
      // A record with a key missing or of the wrong type (a journal edited by
      // hand, or one from before checksums): nlohmann's text, without its tag.
      std::string reason = error.what();
      if (const auto tag_end = reason.find("] "); reason.rfind("[json.exception", 0) == 0 && tag_end != std::string::npos)
        reason = reason.substr(tag_end + 2);
      throw InputError(fmt::format("{}: not a record this sweep can replay ({}).", where, reason));
    }
  }
  replaying_ = false;
  // Trials running when the sweep stopped wait, pending, to be handed out again.
  for (auto& [id, record] : trials_) {
    if (record.state != TrialState::kRunning) continue;
    record.state = TrialState::kPending;
    resumed_.push_back(record.trial);
  }
}

void Study::replay_record(const Json& record, const std::string& where) {
  const auto event = record.value("event", "");
  if (event == "ask") {
    const auto& recorded = record.at("trial");
    auto trial = next_trial();
    if (!trial || trial_to_json(*trial) != recorded)
      throw InputError(where + ": the sweep now proposes a different trial than the journal recorded (was the "
                               "sweep's code or config changed?).");
    start(*trial);
    trials_.at(trial->id).submitted = record.value("time", 0.0);
  } else if (event == "tell") {
    const auto id = record.at("trial_id").get<int64_t>();
    if (!trials_.count(id) || trials_.at(id).state != TrialState::kRunning)
      throw InputError(where + fmt::format(": a result for trial {}, which is not running (the file is damaged).", id));
    settle(id, result_from_json(record), record.value("time", 0.0));
  } else if (event == "report") {
    const auto id = record.at("trial_id").get<int64_t>();
    if (!trials_.count(id) || trials_.at(id).state != TrialState::kRunning)
      throw InputError(where + fmt::format(": a report of trial {}, which is not running (the file is damaged).", id));
    judge(trials_.at(id).trial, record.at("budget").get<double>(), record.at("value").get<double>());
  } else {
    throw InputError(where + fmt::format(": unknown event \"{}\".", event));
  }
}

bool Study::limits_reached() const {
  return (options_.max_trials() > 0 && started_ >= options_.max_trials()) ||
         (options_.max_total_budget() > 0 && spent_ >= options_.max_total_budget());
}

std::optional<int64_t> Study::new_config(double budget) {
  auto proposal = sampler_->propose(budget, rng_);
  if (!proposal) return std::nullopt;
  configs_.push_back({std::move(proposal->config), proposal->model_based, -1});
  return int64_t(configs_.size()) - 1;
}

std::optional<Trial> Study::next_trial() {
  if (!retries_.empty()) {
    Trial retry = retries_.front();
    retries_.pop_front();
    retry.id = next_trial_id_++;
    retry.attempt += 1;
    return retry;
  }
  if (limits_reached()) return std::nullopt;
  const auto slot = scheduler_->next([this](double budget) { return new_config(budget); });
  if (!slot) return std::nullopt;
  const auto& config = configs_.at(size_t(slot->config_id));
  Trial trial;
  trial.id = next_trial_id_++;
  trial.config_id = slot->config_id;
  trial.budget = slot->budget;
  trial.config = config.config;
  trial.bracket = slot->bracket;
  trial.rung = slot->rung;
  trial.model_based = config.model_based;
  trial.parent = config.last_trial;
  ++started_;
  spent_ += slot->budget;
  return trial;
}

Trial Study::start(Trial trial) {
  const double submitted = wall_clock_seconds();
  if (journal_ && !replaying_) journal_->append({{"event", "ask"}, {"time", submitted}, {"trial", trial_to_json(trial)}});
  configs_.at(size_t(trial.config_id)).last_trial = trial.id;
  sampler_->trial_started(trial.config, trial.budget);
  trials_[trial.id] = TrialRecord{trial, TrialState::kRunning, std::nullopt, "", Json::object(), submitted, 0.0};
  ++running_;
  return trial;
}

std::optional<Trial> Study::ask() {
  if (!resumed_.empty()) {
    Trial trial = resumed_.front();
    resumed_.pop_front();
    trials_.at(trial.id).state = TrialState::kRunning;
    return trial;
  }
  auto trial = next_trial();
  if (!trial) return std::nullopt;
  return start(std::move(*trial));
}

void Study::tell(const Trial& trial, const Result& result) {
  const auto found = trials_.find(trial.id);
  if (found == trials_.end() || found->second.state != TrialState::kRunning)
    throw std::invalid_argument(fmt::format("tell(): trial {} is not running", trial.id));
  const double finished_at = wall_clock_seconds();
  if (journal_) {
    Json record = result_to_json(result);
    record.update({{"event", "tell"}, {"time", finished_at}, {"trial_id", trial.id}});
    journal_->append(record);
  }
  settle(trial.id, result, finished_at);
}

bool Study::report(const Trial& trial, double budget, double value) {
  const auto found = trials_.find(trial.id);
  if (found == trials_.end() || found->second.state != TrialState::kRunning)
    throw std::invalid_argument(fmt::format("report(): trial {} is not running", trial.id));
  if (!std::isfinite(value)) return false;  // nothing to judge, and JSON has no NaN to journal
  if (journal_)
    journal_->append({{"event", "report"}, {"time", wall_clock_seconds()}, {"trial_id", trial.id},
                      {"budget", budget}, {"value", value}});
  return judge(found->second.trial, budget, value);
}

/// The scheduler's verdict on a report; replaying the journal asks again, which rebuilds the scheduler's state.
bool Study::judge(const Trial& trial, double budget, double value) {
  if (budget >= trial.budget) return false;  // no intermediate value: nothing to judge
  return scheduler_->should_stop(Slot{trial.config_id, trial.budget, trial.bracket, trial.rung}, budget,
                                 loss_of(value));
}

void Study::settle(int64_t trial_id, const Result& given, double finished_at) {
  auto& record = trials_.at(trial_id);
  Result result = given;
  if (result.state == TrialState::kCompleted && !std::isfinite(result.value)) {
    result.state = TrialState::kFailed;
    result.error = "the objective's value is not finite";
  }
  record.state = result.state;
  record.error = result.error;
  record.info = result.info;
  record.finished = finished_at;
  --running_;
  const Trial& trial = record.trial;
  const Slot slot{trial.config_id, trial.budget, trial.bracket, trial.rung};
  sampler_->trial_ended(trial.config, trial.budget);
  if (result.state == TrialState::kPruned) {
    // Its value is at a smaller budget than its own: the model learns it there, and it
    // ranks with no trial (best(), the report), as its budget would claim more than it ran.
    if (std::isfinite(result.value)) {
      sampler_->observe({trial.config, result.info.value("pruned_at_budget", trial.budget), loss_of(result.value)});
      record.info["value"] = result.value;
    }
    scheduler_->report(slot, std::nullopt);
  } else if (result.state == TrialState::kCompleted) {
    record.value = result.value;
    if (!best_ || beats(options_.direction(), record, trials_.at(*best_))) best_ = trial_id;
    const double loss = loss_of(result.value);
    sampler_->observe({trial.config, trial.budget, loss});
    scheduler_->report(slot, loss);
  } else if (result.retry && trial.attempt < options_.max_failures()) {
    retries_.push_back(trial);
  } else {
    scheduler_->report(slot, std::nullopt);
  }
  for (const int64_t config_id : scheduler_->drain_pruned()) {
    auto& latest = trials_.at(configs_.at(size_t(config_id)).last_trial);
    if (latest.state == TrialState::kCompleted) latest.state = TrialState::kPruned;
  }
}

bool Study::finished() const {
  return running_ == 0 && resumed_.empty() && retries_.empty() && (limits_reached() || scheduler_->finished());
}

bool beats(Direction direction, const TrialRecord& a, const TrialRecord& b) {
  if (a.trial.budget != b.trial.budget) return a.trial.budget > b.trial.budget;
  const double la = loss_of(direction, *a.value), lb = loss_of(direction, *b.value);
  return la < lb || (la == lb && a.trial.id < b.trial.id);
}

double wall_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<TrialRecord> Study::best() const {
  if (!best_) return std::nullopt;
  return trials_.at(*best_);
}

void run(Study& study, const std::function<Result(const Trial&)>& objective, int workers) {
  std::mutex mutex;
  std::condition_variable changed;
  auto work = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      std::optional<Trial> trial;
      changed.wait(lock, [&] { return (trial = study.ask()).has_value() || study.finished(); });
      if (!trial) return;
      lock.unlock();
      Result result;
      try {
        result = objective(*trial);
      } catch (const std::exception& error) {
        result = Result::failed(error.what());
      }
      lock.lock();
      study.tell(*trial, result);
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, workers); ++i) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
}

}  // namespace cohort::tuner
