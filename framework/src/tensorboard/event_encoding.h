#pragma once
// Serialized Event messages (tensorboard.proto). Only this file's .cpp and the
// generated code see protobuf: they compile without LibTorch's include
// directory, which carries an older protobuf's headers.

#include <cstdint>
#include <string>

#include "cohort/tensorboard/hparams.h"

namespace cohort::tensorboard::encoding {

/// The first event of every file: {"file_version": "brain.Event:2"}.
std::string file_version_event(double wall_time);
std::string scalar_event(const std::string& tag, float value, int64_t step, double wall_time);
std::string experiment_event(const HParamsExperiment& experiment, double wall_time);
std::string session_start_event(const nlohmann::json& hparams, double wall_time);
std::string session_end_event(SessionStatus status, double wall_time);

}  // namespace cohort::tensorboard::encoding
