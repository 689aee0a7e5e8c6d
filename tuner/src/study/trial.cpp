#include "cohort/tuner/trial.h"

namespace cohort::tuner {
namespace {

constexpr TrialState kStates[] = {TrialState::kPending,   TrialState::kRunning,  TrialState::kCompleted,
                                  TrialState::kFailed,    TrialState::kTimedOut, TrialState::kPruned};

}  // namespace

const char* state_name(TrialState state) {
  switch (state) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kCompleted: return "completed";
    case TrialState::kFailed: return "failed";
    case TrialState::kTimedOut: return "timed_out";
    case TrialState::kPruned: return "pruned";
  }
  return "";
}

std::optional<TrialState> state_from_name(const std::string& name) {
  for (const TrialState state : kStates)
    if (name == state_name(state)) return state;
  return std::nullopt;
}

}  // namespace cohort::tuner
