#pragma once
// Small JSON messages between ranks of an MPI job, sent to one rank and
// received from one rank or whichever sent first: what a sweep's coordinator
// and its worker groups say to each other. They travel on the channel's own
// duplicate of MPI_COMM_WORLD, so they never mix with a communicator's
// collectives, and no watchdog times out a rank that waits long for the next
// message. Tensors and collectives go through a Communicator instead
// (communicator.h, exchange.h); this is the MPI back-end's other face, with
// its error policy (MPI errors become exceptions with MPI's text) and the
// process's wait policy (wait_policy.h).

#include <memory>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "cohort/distributed/wait_policy.h"

namespace cohort::distributed {

/// Any sender, for try_receive().
constexpr int kAnySource = -1;

class MessageChannel {
 public:
  /// Duplicates MPI_COMM_WORLD. Collective over every rank of the job; MPI
  /// must be active (runtime.h). The channel is freed at destruction, or by
  /// the runtime when MPI shuts down, whichever comes first.
  MessageChannel();
  ~MessageChannel();
  MessageChannel(const MessageChannel&) = delete;
  MessageChannel& operator=(const MessageChannel&) = delete;

  /// Sends `message` to world rank `destination` with `tag` (0 to 32767). The
  /// messages are small, so this returns as soon as MPI has copied them.
  void send(int destination, int tag, const nlohmann::json& message);
  /// A message with `tag` from `source` (kAnySource for any rank) that has
  /// already arrived, with its sender; nothing otherwise. Never blocks.
  std::optional<std::pair<int, nlohmann::json>> try_receive(int source, int tag);
  /// Waits for a message with `tag` from `source`, polling with `backoff`.
  nlohmann::json receive(int source, int tag, Backoff backoff);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cohort::distributed
