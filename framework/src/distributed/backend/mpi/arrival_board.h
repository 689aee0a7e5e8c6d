#pragma once
// The arrival board: how a rank whose collective timed out learns which ranks
// never started it, without any MPI call at the time of the hang.
//
// Every process of a node owns a row of kSlots 64-bit slots in one MPI
// shared-memory window (MPI_Win_allocate_shared over the world's ranks on the
// node), allocated once when the runtime starts and freed at MPI_Finalize.
// Every communicator gets a slot number, agreed by its members when it is
// made (the largest of their next free numbers; never reused). When a rank
// starts a collective it stores the collective's sequence number into its own
// slot: a plain atomic store. On a timeout the waiting rank reads the slots of
// the members on its node and names those whose number is behind its own.
// Ranks on other nodes cannot be seen, and the message says so.
//
// A rank can also arrive and then stop (SIGSTOP, a debugger, a frozen
// machine): its slot says it is there, but the collective cannot finish
// without it. So every row ends with a heartbeat, the time (steady clock, the
// same for every process of a node) that a thread of its process writes
// every kBeat; a rank whose heartbeat is older than kStale is named as
// stopped, whether or not it arrived.
//
// One window for the whole job rather than one per communicator: freeing a
// window is collective, and communicators are dropped whenever each rank
// likes, which would hang.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <mpi.h>

namespace cohort::distributed::detail {

class ArrivalBoard {
 public:
  /// Communicators a job can make over its life with arrivals tracked; later
  /// ones still work, but their timeouts cannot say who is missing.
  static constexpr uint64_t kSlots = 16384;
  /// How often a process writes its heartbeat, and how old one may be before
  /// its rank counts as stopped: many beats, so a busy machine is not enough.
  static constexpr std::chrono::milliseconds kBeat{50};
  static constexpr std::chrono::milliseconds kStale{500};

  /// Collective over MPI_COMM_WORLD. Never throws: when the window cannot be
  /// made, records() say why the arrivals are unknown.
  ArrivalBoard();
  ~ArrivalBoard();
  ArrivalBoard(const ArrivalBoard&) = delete;
  ArrivalBoard& operator=(const ArrivalBoard&) = delete;

  /// Frees the window. Collective over the node: only just before MPI_Finalize.
  void release();

  /// One communicator's view of the board.
  class Record {
   public:
    /// A record that can say nothing, with the reason.
    explicit Record(std::string unknown = "no MPI") : unknown_(std::move(unknown)) {}
    /// Notes that this rank has started collective number `sequence`.
    void arrive(uint64_t sequence) const;
    /// Which ranks have not started collective `sequence`, or have stopped
    /// running, as the watchdog message says it: "not arrived: rank 1 (still
    /// at #0)", "rank 1 arrived but has stopped running (...)", or why that is
    /// unknown.
    std::string missing(uint64_t sequence) const;

   private:
    friend class ArrivalBoard;
    struct Member {
      int rank;                    // in the communicator
      const uint64_t* slot;        // the collective it reached
      const uint64_t* heartbeat;   // its process's last beat, in ms of the steady clock
    };
    uint64_t* own_ = nullptr;
    std::vector<Member> members_;  // on this node, not self
    int off_node_ = 0;                                       // members on other nodes
    std::string unknown_;
  };

  /// Collective over `comm` (a communicator derived from MPI_COMM_WORLD):
  /// agrees on a slot and finds the slots of the members on this node.
  /// Communicators are expected to be made from one thread at a time.
  Record record(MPI_Comm comm);

  /// Whether this process itself was stopped (no heartbeat for over kStale)
  /// and continued within the last second (or so recently that its heartbeat
  /// is still old). A wait that expires in such a process is not the other
  /// ranks' fault.
  bool resumed_recently();

 private:
  /// Writes this process's heartbeat every kBeat until release().
  void beat();

  std::mutex mutex_;
  std::mutex beat_mutex_;
  std::condition_variable beat_stop_;
  bool stop_beating_ = false;
  std::atomic<uint64_t> resumed_at_ms_{0};  // when the heartbeat thread last saw a gap
  std::thread beater_;
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win window_ = MPI_WIN_NULL;
  std::vector<uint64_t*> rows_;       // by rank on the node
  std::vector<int> node_rank_;        // by world rank: rank on this node, or -1
  int own_node_rank_ = 0;
  uint64_t next_slot_ = 0;
  std::string problem_;               // why the board is unusable; empty when usable
};

}  // namespace cohort::distributed::detail
