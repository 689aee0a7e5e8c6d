#pragma once
// Keeps a text job's vocabulary in its checkpoints, so a resumed, evaluated
// or promoted run is refused when its words would map to other ids than the
// ones the model learned.

#include <memory>
#include <string>

#include "cohort/core/error.h"
#include "cohort/text/encoder.h"
#include "cohort/trainer/callback.h"

namespace cohort::trainer {

/// A checkpoint whose vocabulary (or tokenizer) differs from the job's.
class VocabularyMismatch : public InputError {
 public:
  using InputError::InputError;
};

class VocabularyCallback : public Callback {
 public:
  explicit VocabularyCallback(std::shared_ptr<const text::TextEncoder> encoder) : encoder_(std::move(encoder)) {}

  std::string name() const override { return "vocabulary"; }
  /// The encoder as TextEncoder::to_json() writes it.
  nlohmann::json state() const override { return encoder_->to_json(); }
  /// Throws VocabularyMismatch saying what differs when the checkpoint's
  /// vocabulary is not the job's.
  void load_state(const nlohmann::json& state) override;

 private:
  std::shared_ptr<const text::TextEncoder> encoder_;
};

}  // namespace cohort::trainer
