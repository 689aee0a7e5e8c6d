// The process's place in the job. MPI comes up only under a launcher (or when
// forced), so the same program runs as a plain single process; it goes down
// at exit, after every communicator still alive has freed what it holds.
//
// Shutdown order. MPI_Finalize first deletes the attributes of MPI_COMM_SELF;
// the runtime hangs one there whose delete callback drops the world
// communicators, runs the exit hooks (communicators still held elsewhere free
// their MPI communicator or NCCL communicator and stop their watchdog) and
// frees the arrival board. So this happens before MPI goes away whoever calls
// MPI_Finalize: the runtime's own std::atexit handler, or a user's main()
// that brought MPI up itself. The NCCL back-end runs the hooks once more from
// an atexit handler of its own, registered after CUDA is up, so that NCCL
// communicators go before CUDA's teardown.
#include "cohort/distributed/runtime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include "backend/local/local_communicator.h"
#include "backend/mpi/arrival_board.h"
#include "backend/mpi/mpi_communicator.h"
#include "backend/mpi/mpi_support.h"
#include "runtime_internal.h"
#include "wait_startup.h"
#ifdef COHORT_WITH_NCCL
#include "backend/nccl/nccl_communicator.h"
#endif

namespace cohort::distributed {
namespace {

struct RuntimeState {
  std::mutex mutex;  // initialisation and the world communicators
  std::atomic<bool> initialized{false};
  bool mpi = false;
  bool owns_mpi = false;  // we called MPI_Init_thread, so we call MPI_Finalize
  int thread_level = MPI_THREAD_MULTIPLE;
  std::thread::id main_thread;
  int world_rank = 0, world_size = 1, local_rank = 0, local_size = 1;
  std::unique_ptr<detail::ArrivalBoard> board;
  std::map<int, std::shared_ptr<Communicator>> worlds;  // by device type

  std::atomic<bool> in_finalize_callback{false};

  std::mutex hooks_mutex;
  std::map<uint64_t, std::function<void()>> hooks;
  uint64_t next_hook = 1;
};

/// Never destroyed: it is used from exit handlers and MPI callbacks that may
/// run after static destructors.
RuntimeState& state() {
  static auto* runtime = new RuntimeState;
  return *runtime;
}

/// Whether an MPI launcher started this process (Open MPI, MPICH's Hydra, PMI,
/// PMIx, a Slurm job step), or COHORT_MPI=1 asks for MPI anyway.
bool launched_by_mpi() {
  if (const char* forced = std::getenv("COHORT_MPI")) return std::string(forced) == "1";
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MPI_LOCALNRANKS",
                           "SLURM_STEP_NUM_TASKS"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

/// The thread level to ask MPI for: MPI_THREAD_MULTIPLE, or what
/// COHORT_MPI_THREAD_LEVEL says (single, funneled, serialized, multiple), to
/// try the lower levels or measure what MULTIPLE costs.
int requested_thread_level() {
  const char* text = std::getenv("COHORT_MPI_THREAD_LEVEL");
  if (!text) return MPI_THREAD_MULTIPLE;
  const std::string level = text;
  if (level == "single") return MPI_THREAD_SINGLE;
  if (level == "funneled") return MPI_THREAD_FUNNELED;
  if (level == "serialized") return MPI_THREAD_SERIALIZED;
  return MPI_THREAD_MULTIPLE;
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    default: return "MPI_THREAD_MULTIPLE";
  }
}

void warn_about_thread_level(int level) {
  if (level >= MPI_THREAD_MULTIPLE || state().world_rank != 0) return;
  if (level == MPI_THREAD_SERIALIZED)
    spdlog::warn("MPI gave {} rather than MPI_THREAD_MULTIPLE: Cohort serialises its MPI calls behind one lock, so "
                 "operations started from several threads work but do not overlap.",
                 thread_level_name(level));
  else
    spdlog::warn("MPI gave {} rather than MPI_THREAD_MULTIPLE: MPI operations must be started and waited on from "
                 "the main thread; other threads get an error.",
                 thread_level_name(level));
}

/// Drops the worlds, runs the exit hooks and frees the board: the last things
/// done with MPI still up.
void shut_down() {
  detail::run_exit_hooks();
  auto& runtime = state();
  std::unique_ptr<detail::ArrivalBoard> board;
  {
    std::lock_guard<std::mutex> lock(runtime.mutex);
    board = std::move(runtime.board);
  }
  if (board) board->release();
}

/// MPI_COMM_SELF's attribute delete callback: MPI_Finalize calls it first.
int on_mpi_finalize(MPI_Comm, int, void*, void*) {
  state().in_finalize_callback = true;
  shut_down();
  state().in_finalize_callback = false;
  return MPI_SUCCESS;
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::atomic<double> startup_timeout_s{kDefaultTimeoutSeconds};

/// The launcher's name for this process, known before MPI_Init: "rank 1 of 2".
std::string rank_from_launcher() {
  for (const auto& [rank, size] : {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                   std::pair{"PMI_RANK", "PMI_SIZE"}, std::pair{"PMIX_RANK", "PMI_SIZE"}})
    if (const char* r = std::getenv(rank)) {
      const char* n = std::getenv(size);
      return n ? fmt::format("rank {} of {}", r, n) : fmt::format("rank {}", r);
    }
  return "this rank";
}

/// Watches MPI start-up from a thread of its own: MPI_Init waits for every
/// rank with no deadline of its own that a user can see, and nothing else is
/// watching yet. Past the deadline the process ends with one line.
class StartupDeadline {
 public:
  explicit StartupDeadline(double seconds)
      : thread_([this, seconds] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (done_cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; })) return;
          std::fprintf(stderr,
                       "cohort: %s: MPI start-up did not finish within %g s: a rank of the job has not joined it "
                       "(stopped, crashed or not started); ending this one.\n",
                       rank_from_launcher().c_str(), seconds);
          std::fflush(stderr);
          std::_Exit(1);  // MPI is not up: no MPI_Abort, and no exit hooks that would call into it
        }) {}
  ~StartupDeadline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }
  StartupDeadline(const StartupDeadline&) = delete;
  StartupDeadline& operator=(const StartupDeadline&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

void start_mpi(int* argc, char*** argv, RuntimeState& runtime) {
  const StartupDeadline deadline(startup_timeout_s.load());
  int already = 0;
  MPI_Initialized(&already);
  if (already) {
    MPI_Query_thread(&runtime.thread_level);
  } else {
    detail::prepare_wait_mode_before_mpi();  // Open MPI reads whether to yield in MPI_Init
    MPI_Init_thread(argc, argv, requested_thread_level(), &runtime.thread_level);
    runtime.owns_mpi = true;
    std::atexit(finalize_at_exit);
  }
  runtime.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &runtime.world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &runtime.world_size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, runtime.world_rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &runtime.local_rank);
  MPI_Comm_size(node, &runtime.local_size);
  MPI_Comm_free(&node);
  detail::decide_wait_mode(runtime.local_rank, runtime.local_size);
  runtime.board = std::make_unique<detail::ArrivalBoard>();

  int keyval = MPI_KEYVAL_INVALID;
  MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_mpi_finalize, &keyval, nullptr);
  MPI_Comm_set_attr(MPI_COMM_SELF, keyval, nullptr);
}

std::shared_ptr<Communicator> make_world(torch::DeviceType device, const CommunicatorOptions& options) {
  const auto& runtime = state();
  if (device == torch::kCPU)
    return runtime.mpi ? detail::make_mpi_world(options) : make_local_communicator(options, torch::kCPU);
  if (device == torch::kCUDA) {
    if (!runtime.mpi) return make_local_communicator(options, torch::kCUDA);
#ifdef COHORT_WITH_NCCL
    return make_nccl_communicator(options);
#else
    if (runtime.world_size == 1) return make_local_communicator(options, torch::kCUDA);
    throw std::runtime_error("no communicator for CUDA tensors: this build of Cohort has no NCCL.");
#endif
  }
  throw std::invalid_argument(
      fmt::format("no communicator carries {} tensors (use cpu or cuda).", c10::DeviceTypeName(device, true)));
}

}  // namespace

void initialize(int* argc, char*** argv, bool force) {
  auto& runtime = state();
  if (runtime.initialized.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(runtime.mutex);
  if (runtime.initialized.load(std::memory_order_relaxed)) return;
  runtime.main_thread = std::this_thread::get_id();
  int finalized = 0;
  MPI_Finalized(&finalized);
  int already = 0;
  MPI_Initialized(&already);
  if (!finalized && (already || force || launched_by_mpi())) start_mpi(argc, argv, runtime);
  runtime.initialized.store(true, std::memory_order_release);
  if (runtime.mpi) warn_about_thread_level(runtime.thread_level);
}

void set_startup_timeout(double seconds) {
  if (seconds > 0) startup_timeout_s.store(seconds);
}

bool is_initialized() { return state().initialized.load(std::memory_order_acquire); }

bool mpi_active() {
  initialize();
  return state().mpi;
}

int world_rank() {
  initialize();
  return state().world_rank;
}

int world_size() {
  initialize();
  return state().world_size;
}

int local_rank() {
  initialize();
  return state().local_rank;
}

int local_size() {
  initialize();
  return state().local_size;
}

std::shared_ptr<Communicator> world(torch::DeviceType device, CommunicatorOptions options) {
  initialize();
  auto& runtime = state();
  std::lock_guard<std::mutex> lock(runtime.mutex);
  auto& slot = runtime.worlds[static_cast<int>(device)];
  if (!slot) slot = make_world(device, options);
  return slot;
}

std::shared_ptr<Communicator> make_mpi_group_communicator(const std::vector<int>& world_ranks, int tag,
                                                         CommunicatorOptions options) {
  if (!mpi_active())
    throw std::runtime_error("an MPI communicator was asked for, but MPI is not active (no launcher started this job).");
  return detail::make_mpi_group(world_ranks, tag, std::move(options));
}

std::shared_ptr<Communicator> make_mpi_communicator(CommunicatorOptions options,
                                                   const std::shared_ptr<Communicator>& ranks) {
  if (!mpi_active())
    throw std::runtime_error("an MPI communicator was asked for, but MPI is not active (no launcher started this job).");
  if (!ranks) return detail::make_mpi_world(std::move(options));
  const auto mpi = std::dynamic_pointer_cast<detail::MpiCommunicator>(ranks);
  if (!mpi)
    throw std::runtime_error(
        fmt::format("an MPI communicator is duplicated from an MPI one, not a {} one.", ranks->backend()));
  return mpi->duplicate(std::move(options));
}

#ifdef COHORT_WITH_NCCL
namespace {

/// An NCCL communicator on this rank's GPU (cuda:<local rank modulo the GPU
/// count), bootstrapped over the ranks of `bootstrap` (null: one process).
std::shared_ptr<Communicator> nccl_over(std::shared_ptr<detail::MpiCommunicator> bootstrap,
                                        CommunicatorOptions options) {
  if (!torch::cuda::is_available())
    throw std::runtime_error("an NCCL communicator needs a CUDA GPU, and this machine has none.");
  const auto device = static_cast<c10::DeviceIndex>(state().local_rank % torch::cuda::device_count());
  return std::make_shared<detail::NcclCommunicator>(std::move(bootstrap), device, std::move(options));
}

}  // namespace
#endif

std::shared_ptr<Communicator> make_nccl_communicator(CommunicatorOptions options) {
#ifdef COHORT_WITH_NCCL
  initialize();
  std::shared_ptr<detail::MpiCommunicator> bootstrap;
  if (state().mpi)
    bootstrap = std::static_pointer_cast<detail::MpiCommunicator>(detail::make_mpi_world(options));
  return nccl_over(std::move(bootstrap), std::move(options));
#else
  throw std::runtime_error("an NCCL communicator was asked for, but this build of Cohort has no NCCL.");
#endif
}

std::shared_ptr<Communicator> communicator_for(torch::DeviceType device, const std::shared_ptr<Communicator>& ranks,
                                               CommunicatorOptions options) {
  if (!ranks) return world(device, std::move(options));
  if (device == torch::kCPU) return ranks;
  if (device != torch::kCUDA || ranks->size() == 1) return make_local_communicator(std::move(options), device);
#ifdef COHORT_WITH_NCCL
  auto bootstrap = std::dynamic_pointer_cast<detail::MpiCommunicator>(ranks);
  if (!bootstrap)
    throw std::runtime_error(fmt::format(
        "an NCCL communicator is bootstrapped over an MPI communicator of the same ranks, not a {} one.",
        ranks->backend()));
  return nccl_over(std::move(bootstrap), std::move(options));
#else
  throw std::runtime_error("no communicator for CUDA tensors over several ranks: this build of Cohort has no NCCL.");
#endif
}

void abort_job(const std::string& message, int status) {
  auto& runtime = state();
  if (auto logger = spdlog::get("cohort")) {
    logger->error(message);
    logger->flush();
  } else {
    std::fprintf(stderr, "[rank %d] %s\n", runtime.world_rank, message.c_str());
  }
  std::fflush(nullptr);
  if (runtime.mpi && !detail::mpi_finalized()) MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);
}

namespace detail {

int mpi_thread_level() { return state().thread_level; }

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized && !state().in_finalize_callback;
}

bool on_main_thread() { return std::this_thread::get_id() == state().main_thread; }

ArrivalBoard* arrival_board() { return state().board.get(); }

uint64_t add_exit_hook(std::function<void()> release) {
  auto& runtime = state();
  std::lock_guard<std::mutex> lock(runtime.hooks_mutex);
  const uint64_t token = runtime.next_hook++;
  runtime.hooks.emplace(token, std::move(release));
  return token;
}

void cancel_exit_hook(uint64_t token) {
  auto& runtime = state();
  std::lock_guard<std::mutex> lock(runtime.hooks_mutex);
  runtime.hooks.erase(token);
}

void run_exit_hooks() {
  auto& runtime = state();
  std::map<int, std::shared_ptr<Communicator>> worlds;
  {
    std::lock_guard<std::mutex> lock(runtime.mutex);
    worlds.swap(runtime.worlds);
  }
  worlds.clear();  // their destructors free what they hold, and cancel their hooks
  std::map<uint64_t, std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> lock(runtime.hooks_mutex);
    hooks.swap(runtime.hooks);
  }
  // Newest first: a sub-communicator goes before the one it was split from.
  for (auto hook = hooks.rbegin(); hook != hooks.rend(); ++hook) hook->second();
}

std::shared_ptr<Communicator> make_mpi_group(const std::vector<int>& world_ranks, int tag,
                                             CommunicatorOptions options) {
  MPI_Comm comm = MPI_COMM_NULL;
  {
    MpiCallGuard guard;
    MPI_Group world_group = MPI_GROUP_NULL, group = MPI_GROUP_NULL;
    check_mpi(MPI_Comm_group(MPI_COMM_WORLD, &world_group), "MPI_Comm_group");
    const int status = MPI_Group_incl(world_group, int(world_ranks.size()), world_ranks.data(), &group);
    MPI_Group_free(&world_group);
    check_mpi(status, "MPI_Group_incl");
    const int created = MPI_Comm_create_group(MPI_COMM_WORLD, group, tag, &comm);
    MPI_Group_free(&group);
    check_mpi(created, "MPI_Comm_create_group");
  }
  return std::make_shared<MpiCommunicator>(comm, std::move(options));
}

std::shared_ptr<Communicator> make_mpi_world(CommunicatorOptions options) {
  MPI_Comm comm = MPI_COMM_NULL;
  {
    MpiCallGuard guard;
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
  }
  return std::make_shared<MpiCommunicator>(comm, std::move(options));
}

}  // namespace detail
}  // namespace cohort::distributed
