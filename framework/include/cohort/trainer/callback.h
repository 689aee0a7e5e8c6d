#pragma once
// Callbacks: code of the user's (or of Cohort's own: early stopping, event
// files) that the Trainer calls at fixed points of fit(). They run on every
// rank with the same arguments (records are already reduced over ranks), so a
// decision taken in a callback is the same everywhere; work that only one
// process should do (writing files) checks Trainer::is_writer().
//
// A callback may stop training cleanly with Trainer::request_stop(): the run
// ends at the end of the epoch (or, for a callback whose stops_mid_epoch() is
// true, after the current step), evaluates, records and checkpoints there,
// and fit() returns normally. A callback with state (a patience counter) returns
// it from state() and gets it back in load_state() on resume, so a resumed
// run decides as the uninterrupted one would have.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::trainer {

class Trainer;

/// What the Trainer knows right after a training step.
struct StepEnd {
  int64_t step = 0;        // 1-based, counted over the whole run
  int64_t epoch = 0;       // 1-based epoch the step belongs to
  int64_t epoch_step = 0;  // 1-based step within that epoch
  int64_t steps_per_epoch = 0;
  /// Mean loss of the step's batch on this rank (not reduced over ranks: that
  /// would cost a collective per step); 0 for a skipped step.
  double loss = 0.0;
  double learning_rate = 0.0;
  int64_t batch_size = 0;  // examples of the batch on this rank
  /// Whether the step was skipped (non-finite loss, fp16 overflow).
  bool skipped = false;
};

class Callback {
 public:
  virtual ~Callback() = default;

  /// The key of this callback's state in checkpoints; unique among a
  /// Trainer's callbacks.
  virtual std::string name() const = 0;

  /// Before the first step of fit() (after any resume).
  virtual void on_fit_begin(Trainer& /*trainer*/) {}
  /// After every training step.
  virtual void on_step_end(Trainer& /*trainer*/, const StepEnd& /*step*/) {}
  /// After an epoch (or part of one, at a stop) is evaluated, with its record
  /// as metrics.jsonl has it ({"epoch", "step", "lr", "train_loss", "val_...", ...}).
  virtual void on_epoch_end(Trainer& /*trainer*/, const nlohmann::json& /*record*/) {}
  /// Around writing a checkpoint to `path` (called on every rank; only the
  /// writer writes).
  virtual void on_checkpoint_begin(Trainer& /*trainer*/, const std::string& /*path*/) {}
  virtual void on_checkpoint_end(Trainer& /*trainer*/, const std::string& /*path*/) {}
  /// When fit() returns normally (also after a stop asked by a callback).
  virtual void on_fit_end(Trainer& /*trainer*/) {}

  /// Whether this callback may call Trainer::request_stop() from
  /// on_step_end(). Such a stop is agreed over ranks after every step (one
  /// small collective per step, paid only when some callback says yes); a
  /// stop asked mid-epoch by a callback that says no waits for the epoch's end.
  virtual bool stops_mid_epoch() const { return false; }

  /// The state a resumed run needs (null: none). Saved in every checkpoint.
  virtual nlohmann::json state() const { return nullptr; }
  /// Restores what state() returned, on resume.
  virtual void load_state(const nlohmann::json& /*state*/) {}
};

using Callbacks = std::vector<std::shared_ptr<Callback>>;

}  // namespace cohort::trainer
