#include "nccl_work.h"

#include <thread>

#include <c10/cuda/CUDAGuard.h>

#include "../mpi/mpi_communicator.h"
#include "cohort/distributed/runtime.h"

namespace cohort::distributed::detail {

std::string NcclContext::missing(uint64_t sequence) const {
  if (!bootstrap) return "which ranks have not arrived is unknown (no MPI)";
  return bootstrap->missing(sequence);
}

void NcclContext::abort(const std::string& message) {
  if (aborting.exchange(true)) {
    // Another thread (the watchdog or a host wait) is already ending the job.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (comm) ncclCommAbort(comm);
  abort_job(message);
}

NcclWork::NcclWork(std::shared_ptr<NcclContext> context, const OperationInfo& operation, bool host_waits)
    : context_(std::move(context)),
      operation_(operation),
      deadline_(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(context_->where.timeout_s))),
      host_waits_(host_waits) {}

void NcclWork::wait() {
  if (host_waits_) poll_until([this] { return end_.query(); }, deadline_, [this] { expire(); });
  c10::cuda::CUDAGuard guard(context_->device);
  end_.block(c10::cuda::getCurrentCUDAStream(context_->device));
}

void NcclWork::expire() {
  const std::string arrivals = operation_.sequence > 0 ? context_->missing(operation_.sequence)
                                                       : point_to_point_arrivals(operation_);
  context_->abort(timeout_message(operation_, context_->where, arrivals));
}

}  // namespace cohort::distributed::detail
