#include "cohort/trainer/vocabulary_callback.h"

#include <fmt/format.h>

namespace cohort::trainer {

void VocabularyCallback::load_state(const nlohmann::json& state) {
  std::string difference;
  try {
    difference = text::TextEncoder::from_json(state, "its vocabulary").difference(*encoder_);
  } catch (const InputError& error) {
    throw VocabularyMismatch(error.what());
  }
  if (difference.empty()) return;
  throw VocabularyMismatch(fmt::format(
      "its vocabulary is not the one this job built (the checkpoint's against the job's: {}), so words would map "
      "to other ids than the model learned; set data.vocabulary to the run's vocabulary.json",
      difference));
}

}  // namespace cohort::trainer
