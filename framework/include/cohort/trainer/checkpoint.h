#pragma once
// Checkpoints: one file holding the model, the optimizer, the position in
// training, the random-generator states and the config, written atomically.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include "cohort/precision/loss_scaler.h"
#include "cohort/strategy/strategy.h"

namespace cohort::trainer {

/// Where training stands when a checkpoint is taken.
struct CheckpointState {
  int64_t epochs_done = 0;
  int64_t steps_done = 0;
  /// Steps already taken in the epoch after epochs_done (0 at an epoch's end):
  /// a run stopped at a fractional budget continues from there.
  int64_t epoch_steps_done = 0;
  std::string config;  // the job's JSON config, so a checkpoint explains itself
  /// The Trainer's callbacks' states as a JSON object {name: state} ("{}" when none).
  std::string callbacks = "{}";
  /// Whether the file's CRC32C was checked on load: false only for a
  /// checkpoint written before checkpoints carried one (read unchecked).
  bool verified = true;
};

/// Writes `strategy`'s state, `state` and the RNG states to `path`: first to a
/// temporary file beside it, flushed to disk, then renamed over `path`, so a
/// crash never leaves a half-written checkpoint. The file is one integrity
/// line ("cohort-checkpoint-crc32c <crc32c hex> <bytes>") and then LibTorch's
/// archive, so that load_checkpoint() refuses a flipped bit anywhere in it.
/// With `scaler` (fp16), its loss scale is saved too, so a resumed run scales
/// the next steps' losses as the uninterrupted run would.
void save_checkpoint(const std::string& path, const strategy::Strategy& strategy, const CheckpointState& state,
                     const precision::LossScaler* scaler = nullptr);

/// Restores what save_checkpoint() wrote into `strategy`, the RNGs and, when
/// given and saved, `scaler`. A missing or unreadable file raises
/// cohort::InputError naming it, and so do a CRC32C or length that does not
/// match the content, and counters no run can have (negative, or more steps in
/// the epoch than in the run). A checkpoint written before the integrity line
/// (a bare zip archive) is read unchecked, with `verified` false.
CheckpointState load_checkpoint(const std::string& path, strategy::Strategy& strategy,
                                precision::LossScaler* scaler = nullptr);

/// load_checkpoint() on the file's bytes already in memory, `path` naming it
/// in messages (the fuzz target calls this).
CheckpointState restore_checkpoint(const std::string& bytes, const std::string& path, strategy::Strategy& strategy,
                                   precision::LossScaler* scaler = nullptr);

/// Refuses (cohort::InputError) a saved module state that does not fit
/// `module`: the first parameter, buffer or submodule (by its dotted path) that
/// is missing on either side or has another shape. LibTorch's own load would
/// replace the tensors with the saved ones whatever their shape.
void check_state_matches(const torch::nn::Module& module, torch::serialize::InputArchive& archive);

/// `path` itself if it is a file; for a directory, its newest checkpoint
/// (highest epoch). InputError when there is none.
std::string resolve_checkpoint(const std::string& path);

/// Name of the checkpoint file after `epochs_done` epochs, e.g. "epoch-0003.pt".
std::string checkpoint_name(int64_t epochs_done);

/// Name of a checkpoint taken part-way through an epoch, saying where as a
/// fraction of epochs: `epoch_steps_done` of `steps_per_epoch` steps after
/// `epochs_done` epochs, e.g. "epoch-0001.5.pt" (six decimals at most; a
/// whole epoch gets checkpoint_name(epochs_done)).
std::string checkpoint_name(int64_t epochs_done, int64_t epoch_steps_done, int64_t steps_per_epoch);

/// The epochs a checkpoint file's name says it was taken at (1.5 for
/// ".../epoch-0001.5.pt"); std::nullopt for a name checkpoint_name() did not make.
std::optional<double> checkpoint_epochs(const std::string& path);

/// The checkpoints in `directory`, oldest (fewest epochs) first.
std::vector<std::string> list_checkpoints(const std::string& directory);

}  // namespace cohort::trainer
