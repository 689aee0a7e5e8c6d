#include "cohort/distributed/message_channel.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include <mpi.h>

#include "../../runtime_internal.h"
#include "cohort/distributed/runtime.h"
#include "mpi_support.h"

namespace cohort::distributed {

struct MessageChannel::State {
  MPI_Comm comm = MPI_COMM_NULL;
  uint64_t exit_hook = 0;

  /// Frees the communicator once, while MPI is still up.
  void release() {
    if (comm != MPI_COMM_NULL && !detail::mpi_finalized()) MPI_Comm_free(&comm);
    comm = MPI_COMM_NULL;
  }
};

MessageChannel::MessageChannel() : state_(std::make_shared<State>()) {
  if (!mpi_active()) throw std::logic_error("a message channel needs MPI, which is not active.");
  detail::MpiCallGuard guard;
  detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &state_->comm), "MPI_Comm_dup");
  // Errors come back as exceptions with MPI's text rather than aborting here.
  detail::check_mpi(MPI_Comm_set_errhandler(state_->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  state_->exit_hook = detail::add_exit_hook([state = state_] { state->release(); });
}

MessageChannel::~MessageChannel() {
  detail::cancel_exit_hook(state_->exit_hook);
  state_->release();
}

void MessageChannel::send(int destination, int tag, const nlohmann::json& message) {
  const auto text = message.dump();
  detail::MpiCallGuard guard;
  detail::check_mpi(MPI_Send(text.data(), int(text.size()), MPI_CHAR, destination, tag, state_->comm), "MPI_Send");
}

std::optional<std::pair<int, nlohmann::json>> MessageChannel::try_receive(int source, int tag) {
  detail::MpiCallGuard guard;
  int arrived = 0;
  MPI_Status status;
  detail::check_mpi(MPI_Iprobe(source == kAnySource ? MPI_ANY_SOURCE : source, tag, state_->comm, &arrived, &status),
                    "MPI_Iprobe");
  if (!arrived) return std::nullopt;
  int count = 0;
  detail::check_mpi(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count");
  std::string text(size_t(count), '\0');
  detail::check_mpi(MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, state_->comm, MPI_STATUS_IGNORE),
                    "MPI_Recv");
  return std::make_pair(status.MPI_SOURCE, nlohmann::json::parse(text));
}

nlohmann::json MessageChannel::receive(int source, int tag, Backoff backoff) {
  while (true) {
    if (auto message = try_receive(source, tag)) return std::move(message->second);
    backoff.pause();
  }
}

}  // namespace cohort::distributed
