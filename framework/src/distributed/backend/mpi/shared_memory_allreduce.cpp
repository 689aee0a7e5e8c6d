#include "shared_memory_allreduce.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "../../checks.h"

namespace cohort::distributed::detail {
namespace {

// Every rank's two slots stay mapped (and backed by memory) for the
// communicator's life: more ranks than this on a node would reserve more than
// they are likely to gain.
constexpr int kMaxRanks = 8;

/// The segment's name, unique on the node: the creating process and a count.
std::string segment_name() {
  static std::atomic<unsigned> made{0};
  char name[64];
  std::snprintf(name, sizeof name, "/cohort-allreduce-%d-%u", static_cast<int>(getpid()), made.fetch_add(1));
  return name;
}

/// Maps the segment `name` of `bytes`, creating and filling it on `create`
/// (so that no later write can meet a full /dev/shm as SIGBUS); nullptr on
/// any failure.
void* map_segment(const char* name, size_t bytes, bool create) {
  const int fd = create ? shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600) : shm_open(name, O_RDWR, 0);
  if (fd < 0) return nullptr;
  bool ok = true;
  const auto size = static_cast<off_t>(bytes);
  if (create) ok = ftruncate(fd, size) == 0 && posix_fallocate(fd, 0, size) == 0;
  void* base = ok ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  close(fd);
  return base == MAP_FAILED ? nullptr : base;
}

bool all_on_one_node(MPI_Comm comm, int rank, int size) {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  return node_size == size;  // the same answer on every rank
}

}  // namespace

std::unique_ptr<SharedMemoryAllreduce> SharedMemoryAllreduce::create(MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (size < 2 || size > kMaxRanks || !all_on_one_node(comm, rank, size)) return nullptr;
  const size_t bytes = size * (sizeof(Header) + 2 * kSlotBytes);
  char name[64] = {};
  if (rank == 0) std::snprintf(name, sizeof name, "%s", segment_name().c_str());
  void* base = rank == 0 ? map_segment(name, bytes, /*create=*/true) : nullptr;
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm);
  if (rank != 0) base = map_segment(name, bytes, /*create=*/false);
  // Every rank has opened the name (or failed to) once this returns: it can go.
  int mapped = base != nullptr, all_mapped = 0;
  MPI_Allreduce(&mapped, &all_mapped, 1, MPI_INT, MPI_MIN, comm);
  if (rank == 0) shm_unlink(name);
  if (!all_mapped) {
    if (base) munmap(base, bytes);
    return nullptr;
  }
  return std::unique_ptr<SharedMemoryAllreduce>(new SharedMemoryAllreduce(base, bytes, rank, size));
}

SharedMemoryAllreduce::SharedMemoryAllreduce(void* base, size_t bytes, int rank, int size)
    : base_(base), bytes_(bytes), rank_(rank), size_(size) {}

SharedMemoryAllreduce::~SharedMemoryAllreduce() { munmap(base_, bytes_); }

bool SharedMemoryAllreduce::accepts(const std::vector<torch::Tensor>& tensors, ReduceOp op) {
  if (tensors.size() != 1 || (op != ReduceOp::kSum && op != ReduceOp::kAvg)) return false;
  const auto& tensor = tensors.front();
  const auto type = tensor.scalar_type();
  return (type == torch::kFloat || type == torch::kDouble) && tensor.is_contiguous() &&
         tensor.nbytes() <= kSlotBytes;
}

SharedMemoryAllreduce::Header& SharedMemoryAllreduce::header(int rank) const {
  return static_cast<Header*>(base_)[rank];
}

torch::Tensor SharedMemoryAllreduce::slot(int rank, uint64_t sequence, int64_t count,
                                          torch::ScalarType type) const {
  auto* slots = static_cast<char*>(base_) + size_ * sizeof(Header);
  void* at = slots + (2 * static_cast<size_t>(rank) + sequence % 2) * kSlotBytes;
  return torch::from_blob(at, {count}, torch::TensorOptions().dtype(type));
}

std::shared_ptr<const SharedMemoryAllreduce::Reduction> SharedMemoryAllreduce::start(torch::Tensor tensor) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto reduction = std::make_shared<Reduction>();
  reduction->sequence = next_sequence_++;
  reduction->tensor = std::move(tensor);
  pending_.push_back(reduction);
  advance();  // deposit at once where the slot is free: a peer may be waiting for it
  return reduction;
}

bool SharedMemoryAllreduce::progress(const Reduction& reduction) {
  std::lock_guard<std::mutex> lock(mutex_);
  advance();
  return reduction.done;
}

void SharedMemoryAllreduce::progress_pending() {
  std::lock_guard<std::mutex> lock(mutex_);
  advance();
}

void SharedMemoryAllreduce::advance() {
  // Deposits and sums both go in order: the counters a rank publishes only grow.
  for (auto& reduction : pending_)
    if (!reduction->deposited && !try_deposit(*reduction)) break;
  while (!pending_.empty() && pending_.front()->deposited && try_reduce(*pending_.front())) pending_.pop_front();
}

bool SharedMemoryAllreduce::try_deposit(Reduction& reduction) {
  const uint64_t sequence = reduction.sequence;
  // The slot last held allreduce sequence - 2: every rank (this one too) must have read it.
  if (sequence > 2)
    for (int rank = 0; rank < size_; ++rank)
      if (header(rank).reduced.load(std::memory_order_acquire) < sequence - 2) return false;
  const auto& tensor = reduction.tensor;
  slot(rank_, sequence, tensor.numel(), tensor.scalar_type()).copy_(tensor.view(-1));
  header(rank_).count[sequence % 2] = tensor.numel();
  header(rank_).type[sequence % 2] = static_cast<int32_t>(tensor.scalar_type());
  header(rank_).deposited.store(sequence, std::memory_order_release);
  reduction.deposited = true;
  return true;
}

void SharedMemoryAllreduce::check_alike(const Reduction& reduction) const {
  const auto slot_index = reduction.sequence % 2;
  const auto count = reduction.tensor.numel();
  const auto type = reduction.tensor.scalar_type();
  for (int rank = 0; rank < size_; ++rank) {
    const auto& other = header(rank);
    if (other.count[slot_index] == count && other.type[slot_index] == static_cast<int32_t>(type)) continue;
    throw std::invalid_argument(fmt::format(
        "allreduce: rank {} passed {} {} element(s) and rank {} {} {}; every rank must pass the same number of "
        "elements of the same dtype.",
        rank, other.count[slot_index], dtype_name(static_cast<torch::ScalarType>(other.type[slot_index])), rank_,
        count, dtype_name(type)));
  }
}

bool SharedMemoryAllreduce::try_reduce(Reduction& reduction) {
  const uint64_t sequence = reduction.sequence;
  for (int rank = 0; rank < size_; ++rank)
    if (header(rank).deposited.load(std::memory_order_acquire) < sequence) return false;
  check_alike(reduction);
  // Rank order on every rank, this one's own deposit included: the same sum, bit for bit, everywhere.
  auto flat = reduction.tensor.view(-1);
  const auto count = flat.numel();
  const auto type = flat.scalar_type();
  flat.copy_(slot(0, sequence, count, type));
  for (int rank = 1; rank < size_; ++rank) flat.add_(slot(rank, sequence, count, type));
  header(rank_).reduced.store(sequence, std::memory_order_release);
  reduction.done = true;
  return true;
}

}  // namespace cohort::distributed::detail
