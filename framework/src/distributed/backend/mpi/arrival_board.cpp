#include "arrival_board.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "../../runtime_internal.h"
#include "mpi_support.h"

namespace cohort::distributed::detail {
namespace {

// Each row: kSlots collective numbers, then the heartbeat.
constexpr uint64_t kRowLength = ArrivalBoard::kSlots + 1;

uint64_t now_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

}  // namespace

ArrivalBoard::ArrivalBoard() {
  int world_rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  problem_ = mpi_error(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node_),
                         "MPI_Comm_split_type");
  if (!problem_.empty()) return;
  MPI_Comm_set_errhandler(node_, MPI_ERRORS_RETURN);  // a failure here must not end the job
  int node_size = 1;
  MPI_Comm_rank(node_, &own_node_rank_);
  MPI_Comm_size(node_, &node_size);

  uint64_t* row = nullptr;
  problem_ = mpi_error(MPI_Win_allocate_shared(static_cast<MPI_Aint>(kRowLength * sizeof(uint64_t)), sizeof(uint64_t),
                                                 MPI_INFO_NULL, node_, &row, &window_),
                         "MPI_Win_allocate_shared");
  if (!problem_.empty()) return;
  std::memset(row, 0, kSlots * sizeof(uint64_t));  // slot value 0: no collective started yet
  row[kSlots] = now_ms();
  rows_.resize(node_size);
  for (int rank = 0; rank < node_size && problem_.empty(); ++rank) {
    MPI_Aint bytes = 0;
    int unit = 0;
    problem_ = mpi_error(MPI_Win_shared_query(window_, rank, &bytes, &unit, &rows_[rank]), "MPI_Win_shared_query");
  }
  if (problem_.empty()) problem_ = mpi_error(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");

  // Which world rank is which rank on this node.
  std::vector<int> node_ranks(node_size), world_ranks(node_size);
  for (int rank = 0; rank < node_size; ++rank) node_ranks[rank] = rank;
  MPI_Group node_group, world_group;
  MPI_Comm_group(node_, &node_group);
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  MPI_Group_translate_ranks(node_group, node_size, node_ranks.data(), world_group, world_ranks.data());
  MPI_Group_free(&node_group);
  MPI_Group_free(&world_group);
  node_rank_.assign(world_size, -1);
  for (int rank = 0; rank < node_size; ++rank) node_rank_[world_ranks[rank]] = rank;

  // Every row is zeroed before anyone can read it.
  MPI_Barrier(node_);
  if (problem_.empty()) beater_ = std::thread([this] { beat(); });
}

ArrivalBoard::~ArrivalBoard() { release(); }

void ArrivalBoard::beat() {
  uint64_t* heartbeat = rows_[own_node_rank_] + kSlots;
  std::unique_lock<std::mutex> lock(beat_mutex_);
  uint64_t previous = now_ms();
  while (!stop_beating_) {
    const uint64_t now = now_ms();
    if (now - previous > uint64_t(kStale.count())) resumed_at_ms_.store(now);  // this process was stopped
    previous = now;
    __atomic_store_n(heartbeat, now, __ATOMIC_RELEASE);
    beat_stop_.wait_for(lock, kBeat, [this] { return stop_beating_; });
  }
}

bool ArrivalBoard::resumed_recently() {
  if (!problem_.empty() || rows_.empty()) return false;
  // Its own heartbeat still old: continued so recently that the heartbeat
  // thread has not run yet. Or that thread saw the gap a moment ago.
  const uint64_t beat = __atomic_load_n(rows_[own_node_rank_] + kSlots, __ATOMIC_ACQUIRE);
  const uint64_t now = now_ms();
  if (now > beat && now - beat > uint64_t(kStale.count())) return true;
  const uint64_t resumed = resumed_at_ms_.load();
  return resumed > 0 && now - resumed < 1000;
}

void ArrivalBoard::release() {
  {
    std::lock_guard<std::mutex> lock(beat_mutex_);
    stop_beating_ = true;
  }
  beat_stop_.notify_all();
  if (beater_.joinable()) beater_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (mpi_finalized()) return;
  if (window_ != MPI_WIN_NULL) {
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);
  }
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
  rows_.clear();
  if (problem_.empty()) problem_ = "the runtime has shut down";
}

ArrivalBoard::Record ArrivalBoard::record(MPI_Comm comm) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Every member takes part in agreeing on a slot, even when the board is
  // unusable here: the others may still need the answer.
  uint64_t mine = problem_.empty() ? next_slot_ : 0, slot = 0;
  check_mpi(MPI_Allreduce(&mine, &slot, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");
  next_slot_ = std::max(next_slot_, slot + 1);
  if (!problem_.empty()) return Record(fmt::format("no arrival board: {}", problem_));
  if (slot >= kSlots) return Record(fmt::format("arrivals are tracked on the first {} communicators only", kSlots));

  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<int> ranks(size), world_ranks(size);
  for (int r = 0; r < size; ++r) ranks[r] = r;
  MPI_Group group, world_group;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  MPI_Group_translate_ranks(group, size, ranks.data(), world_group, world_ranks.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world_group);

  Record record("");
  record.own_ = rows_[own_node_rank_] + slot;
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    const int node_rank = world_ranks[r] == MPI_UNDEFINED ? -1 : node_rank_[world_ranks[r]];
    if (node_rank < 0)
      ++record.off_node_;
    else
      record.members_.push_back({r, rows_[node_rank] + slot, rows_[node_rank] + kSlots});
  }
  return record;
}

void ArrivalBoard::Record::arrive(uint64_t sequence) const {
  if (!own_) return;
  // Atomic maximum: two threads may start collectives nearly together.
  uint64_t current = __atomic_load_n(own_, __ATOMIC_RELAXED);
  while (current < sequence &&
         !__atomic_compare_exchange_n(own_, &current, sequence, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
  }
}

std::string ArrivalBoard::Record::missing(uint64_t sequence) const {
  if (!own_) return fmt::format("which ranks have not arrived is unknown ({})", unknown_);
  std::vector<std::string> behind, stopped;
  const uint64_t now = now_ms();
  for (const auto& member : members_) {
    const uint64_t reached = __atomic_load_n(member.slot, __ATOMIC_ACQUIRE);
    const uint64_t beat = __atomic_load_n(member.heartbeat, __ATOMIC_ACQUIRE);
    const bool is_stopped = now > beat && now - beat > uint64_t(kStale.count());
    const auto silence = is_stopped ? fmt::format(", no sign of life for {:.1f} s: stopped or frozen",
                                                  double(now - beat) / 1000.0)
                                    : std::string();
    if (reached < sequence)
      behind.push_back(fmt::format("{} (still at #{}{})", member.rank, reached, silence));
    else if (is_stopped)
      stopped.push_back(fmt::format("{} (arrived, then no sign of life for {:.1f} s: stopped or frozen)",
                                    member.rank, double(now - beat) / 1000.0));
  }
  std::vector<std::string> parts;
  auto list = [](const char* one, const char* many, const std::vector<std::string>& ranks) {
    return fmt::format("{}{}", ranks.size() == 1 ? one : many, fmt::join(ranks, ", "));
  };
  if (!behind.empty()) parts.push_back(list("not arrived: rank ", "not arrived: ranks ", behind));
  if (!stopped.empty()) parts.push_back(list("stopped: rank ", "stopped: ranks ", stopped));
  if (off_node_ > 0) parts.push_back(fmt::format("{} rank(s) on other nodes cannot be seen from here", off_node_));
  if (behind.empty() && stopped.empty()) {
    if (off_node_ > 0) return "every rank on this node has arrived and is running; " + parts.back();
    return "every rank has arrived and is running (the operation is slow or stuck inside MPI or the device)";
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace cohort::distributed::detail
