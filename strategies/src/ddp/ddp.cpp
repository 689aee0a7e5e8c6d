#include "cohort/strategies/ddp/ddp.h"

#include <torch/torch.h>

#include "cohort/distributed/exchange.h"
#include "cohort/distributed/runtime.h"
#include "../stats_tensor.h"

namespace cohort::strategies {

namespace {

std::shared_ptr<distributed::Communicator> default_communicator(const DdpOptions& options) {
  const auto communicator = distributed::CommunicatorOptions().timeout_s(options.timeout_s());
  const bool over_mpi = options.ranks() ? options.ranks()->backend() == "mpi" : distributed::mpi_active();
  if (options.device().is_cpu() && !options.reducer().overlap() && over_mpi)
    return distributed::make_mpi_communicator(
        distributed::CommunicatorOptions(communicator).mpi_blocking_collectives(true), options.ranks());
  return distributed::communicator_for(options.device().type(), options.ranks(), communicator);
}

}  // namespace

Ddp::Ddp(DdpOptions options)
    : LocalModel(options.device()), ddp_options_(std::move(options)) {
  communicator_ = ddp_options_.communicator() ? ddp_options_.communicator() : default_communicator(ddp_options_);
}

void Ddp::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  LocalModel::prepare(std::move(model), std::move(optimizer));
  broadcast_state(/*parameters=*/true, /*buffers=*/true);
  reducer_ = std::make_unique<ddp::GradientReducer>(model_.ptr()->parameters(), communicator_,
                                                    ddp_options_.reducer());
}

void Ddp::broadcast_state(bool parameters, bool buffers) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  if (parameters)
    for (const auto& parameter : model_.ptr()->parameters()) tensors.push_back(parameter.detach());
  if (buffers)
    for (const auto& buffer : model_.ptr()->buffers()) tensors.push_back(buffer.detach());
  if (!tensors.empty()) communicator_->broadcast(std::move(tensors), 0);
}

void Ddp::zero_grad() {
  buffers_broadcast_ = false;
  reducer_->zero_grad();
}

void Ddp::broadcast_buffers_once() {
  if (!ddp_options_.broadcast_buffers() || buffers_broadcast_) return;
  broadcast_state(false, true);
  buffers_broadcast_ = true;
}

trainer::Stats Ddp::forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) {
  const bool synchronize = micro_step.last && !no_sync_;
  // Buffers (BatchNorm statistics) follow rank 0 once per step, before the
  // forward pass of the micro-batch that synchronises.
  if (synchronize) broadcast_buffers_once();
  reducer_->set_synchronize(synchronize);
  return LocalModel::forward_backward(micro, task, micro_step);
}

void Ddp::abandon_step() {
  // The peers are in (or will reach) a synchronised backward: match it, and
  // with the buffer broadcast before it if that had not happened here yet.
  broadcast_buffers_once();
  reducer_->abandon();
}

bool Ddp::any_rank(bool local) { return distributed::any_rank(*communicator_, local, device_); }

trainer::Stats Ddp::reduce(const trainer::Stats& local) {
  auto totals = stats_tensor(local, device_);
  communicator_->allreduce(totals, distributed::ReduceOp::kSum);
  return stats_from_tensor(totals);
}

int64_t Ddp::data_parallel_size() const { return communicator_->size(); }
int64_t Ddp::data_parallel_rank() const { return communicator_->rank(); }
bool Ddp::is_writer() const { return communicator_->rank() == 0; }
int64_t Ddp::ranks() const { return communicator_->size(); }

void Ddp::load(torch::serialize::InputArchive& archive) {
  LocalModel::load(archive);
  // Every rank read the same file; the broadcast makes sure they agree even
  // if a rank's copy differed.
  broadcast_state(true, true);
  // Loading swapped the parameters' storage (Tensor::set_): the reducer is
  // built again over them, with hooks on their gradient accumulators as they are now.
  reducer_ = std::make_unique<ddp::GradientReducer>(model_.ptr()->parameters(), communicator_, ddp_options_.reducer());
}

Ddp::NoSyncGuard::NoSyncGuard(Ddp& ddp) : ddp_(ddp), previous_(ddp.no_sync_) { ddp_.no_sync_ = true; }
Ddp::NoSyncGuard::~NoSyncGuard() { ddp_.no_sync_ = previous_; }

}  // namespace cohort::strategies
