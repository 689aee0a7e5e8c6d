#pragma once
// Small exchanges built on a communicator's collectives and point-to-point
// operations: a flag agreed by every rank, and bytes (serialized state, JSON)
// sent to one rank or broadcast to all. Strategies and the sweep executor use
// them to agree on failures and to move what is not a tensor.
//
// `device` is where the small tensors carrying them live: the CPU for an MPI
// communicator, the rank's GPU for an NCCL one.

#include <string>

#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::distributed {

/// Whether `local` is true on any rank of `comm`. Collective.
bool any_rank(Communicator& comm, bool local, torch::Device device = torch::kCPU);

/// Sends `bytes` to rank `destination` of `comm` (its length first, then the
/// bytes); recv_bytes() on that rank receives them. Blocks until sent.
void send_bytes(Communicator& comm, const std::string& bytes, int destination, torch::Device device = torch::kCPU);
std::string recv_bytes(Communicator& comm, int source, torch::Device device = torch::kCPU);

/// Rank `root`'s `bytes` on every rank of `comm` (other ranks' `bytes` are
/// ignored). Collective.
std::string broadcast_bytes(Communicator& comm, const std::string& bytes, int root = 0,
                            torch::Device device = torch::kCPU);

}  // namespace cohort::distributed
