#include "cohort/tensorboard/hparams.h"

#include "cohort/tensorboard/event_writer.h"
#include "event_encoding.h"

namespace cohort::tensorboard {

void add_experiment(EventWriter& writer, const HParamsExperiment& experiment) {
  writer.add_event(encoding::experiment_event(experiment, EventWriter::now()));
}

void add_session_start(EventWriter& writer, const nlohmann::json& hparams, double start_time) {
  writer.add_event(encoding::session_start_event(hparams, start_time));
}

void add_session_end(EventWriter& writer, SessionStatus status, double end_time) {
  writer.add_event(encoding::session_end_event(status, end_time));
}

}  // namespace cohort::tensorboard
