#include "messages.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace cohort::sweep::detail {
namespace {

void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw std::runtime_error(fmt::format("{} failed: {}", call, std::string(text, size_t(length))));
}

}  // namespace

void Backoff::pause() {
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (idle_since_ == 0.0) idle_since_ = now;
  if (now - idle_since_ < kSpinSeconds) {
    std::this_thread::yield();
    return;
  }
  // Sleeps doubling from 20 us.
  const double pause = std::min(max_pause_s_, 20e-6 * double(1 << std::min(sleeps_++, 16)));
  std::this_thread::sleep_for(std::chrono::duration<double>(pause));
}

MessageChannel::MessageChannel() {
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  // Errors come back as exceptions with MPI's text rather than aborting here.
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

MessageChannel::~MessageChannel() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MessageChannel::send(int destination, Tag tag, const Json& message) {
  const auto text = message.dump();
  check(MPI_Send(text.data(), int(text.size()), MPI_CHAR, destination, tag, comm_), "MPI_Send");
}

std::optional<std::pair<int, Json>> MessageChannel::try_receive(int source, Tag tag) {
  int arrived = 0;
  MPI_Status status;
  check(MPI_Iprobe(source, tag, comm_, &arrived, &status), "MPI_Iprobe");
  if (!arrived) return std::nullopt;
  int count = 0;
  check(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count");
  std::string text(size_t(count), '\0');
  check(MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
  return std::make_pair(status.MPI_SOURCE, Json::parse(text));
}

Json MessageChannel::receive(int source, Tag tag, Backoff backoff) {
  while (true) {
    if (auto message = try_receive(source, tag)) return std::move(message->second);
    backoff.pause();
  }
}

}  // namespace cohort::sweep::detail
