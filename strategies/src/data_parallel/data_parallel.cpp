#include "cohort/strategies/data_parallel/data_parallel.h"

#include <exception>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/thread_pool.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/trainer/step_runner.h"

namespace cohort::strategies {
namespace {

/// Restores the CPU generator when it goes: Cloneable::clone() re-runs the
/// model's reset(), which draws fresh initial values before overwriting them
/// with the original's. Without this, making replicas would shift the run's
/// random stream (shuffling, dropout) away from the `single` strategy's.
class GeneratorStateGuard {
 public:
  GeneratorStateGuard() : state_(at::globalContext().defaultGenerator(torch::kCPU).get_state()) {}
  ~GeneratorStateGuard() {
    auto generator = at::globalContext().defaultGenerator(torch::kCPU);  // a handle on the shared generator
    generator.set_state(state_);
  }

 private:
  torch::Tensor state_;
};

torch::nn::AnyModule clone_onto(const torch::nn::AnyModule& model, const torch::Device& device) {
  GeneratorStateGuard keep_random_stream;
  try {
    return model.clone(device);
  } catch (const c10::Error& error) {
    if (std::string(error.what()).find("clone() has not been implemented") == std::string::npos) throw;
    throw InputError(fmt::format("data_parallel needs a model derived from torch::nn::Cloneable to make its "
                                 "replicas, and \"{}\" is not one.",
                                 model.ptr()->name()));
  }
}


}  // namespace

DataParallel::DataParallel(DataParallelOptions options)
    : LocalModel(options.devices().empty() ? torch::Device(torch::kCPU) : options.devices()[0], options.writer()),
      data_parallel_options_(std::move(options)) {
  if (devices().empty()) throw InputError("data_parallel needs at least one device in \"devices\".");
}

DataParallel::~DataParallel() = default;

void DataParallel::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  LocalModel::prepare(std::move(model), std::move(optimizer));
  replica_models_ = {model_};
  for (size_t i = 1; i < devices().size(); ++i) replica_models_.push_back(clone_onto(model_, devices()[i]));
  replicas_.clear();
  for (size_t i = 0; i < devices().size(); ++i) {
    replicas_.push_back(std::make_unique<Single>(SingleOptions().device(devices()[i])));
    replicas_.back()->prepare(replica_models_[i], /*optimizer=*/nullptr);  // only the primary steps
  }
  // Each worker starts with the process's intra-op thread count
  // (runtime.threads), as LibTorch's own autograd threads do: OpenMP keeps
  // the count per thread, and a new thread would otherwise use every core.
  if (devices().size() > 1)
    workers_ = std::make_unique<c10::ThreadPool>(static_cast<int>(devices().size() - 1), /*numa_node_id=*/-1,
                                                 [] { at::init_num_threads(); });
}

void DataParallel::place_model() {
  LocalModel::place_model();
  if (replica_models_.size() > 1) copy_primary_to_replicas();
}

void DataParallel::zero_grad() {
  LocalModel::zero_grad();
  clear_replica_gradients();
}

trainer::Stats DataParallel::forward_backward(const data::Batch& micro, const task::Task& task,
                                              const strategy::MicroStep& micro_step) {
  const auto stats = run_chunks(micro, [&](Single& replica, const data::Batch& chunk, double share) {
    // Each chunk's mean loss weighted by its share: the weighted sum is the
    // micro-batch's mean, so the summed gradients are `single`'s.
    strategy::MicroStep chunk_step = micro_step;
    chunk_step.loss_weight = micro_step.loss_weight * share;
    return replica.forward_backward(chunk, task, chunk_step);
  });
  if (micro_step.last) reduce_gradients();
  return stats;
}

void DataParallel::step() {
  LocalModel::step();
  copy_primary_to_replicas();
}

trainer::Stats DataParallel::eval_step(const data::Batch& batch, const task::Task& task) {
  return run_chunks(batch, [&](Single& replica, const data::Batch& chunk, double) {
    return replica.eval_step(chunk, task);
  });
}

trainer::Stats DataParallel::run_chunks(const data::Batch& batch, const ChunkWork& work) {
  follow_primary_mode();
  const auto parts = static_cast<int64_t>(replicas_.size());
  const int64_t size = batch.size();
  const auto chunks = trainer::split_evenly(batch, parts);
  std::vector<trainer::Stats> stats(parts);
  std::vector<std::exception_ptr> errors(parts);
  // Grad mode is per thread: the workers take the caller's (NoGradGuard in evaluation).
  const bool grad_enabled = torch::GradMode::is_enabled();
  auto run = [&](int64_t index) {
    try {
      torch::AutoGradMode grad_mode(grad_enabled);
      c10::OptionalDeviceGuard device_guard;
      if (devices()[index].is_cuda()) device_guard.reset_device(devices()[index]);
      const auto& chunk = chunks[size_t(index)];
      stats[index] = work(*replicas_[index], chunk, double(chunk.size()) / double(size));
    } catch (...) {
      errors[index] = std::current_exception();
    }
  };
  // A batch smaller than the number of replicas leaves the last ones idle.
  const int64_t busy = std::min(parts, size);
  for (int64_t index = 1; index < busy; ++index) workers_->run([&run, index] { run(index); });
  if (busy > 0) run(0);
  if (busy > 1) workers_->waitWorkComplete();
  trainer::Stats total;
  for (int64_t index = 0; index < parts; ++index) {
    if (errors[index]) std::rethrow_exception(errors[index]);
    total += stats[index];
  }
  return total;
}

void DataParallel::reduce_gradients() {
  torch::NoGradGuard no_grad;
  auto primary = model_.ptr()->parameters();
  for (size_t replica = 1; replica < replica_models_.size(); ++replica) {
    const auto parameters = replica_models_[replica].ptr()->parameters();
    for (size_t i = 0; i < primary.size(); ++i) {
      const auto& gradient = parameters[i].grad();
      if (!gradient.defined()) continue;  // unused in this step on this replica
      auto& total = primary[i].mutable_grad();
      // The replica lets go of its gradient below, so the primary may keep it as it is.
      const auto moved = gradient.to(primary[i].device());
      if (total.defined())
        total.add_(moved);
      else
        total = moved;
    }
  }
  clear_replica_gradients();
}

void DataParallel::clear_replica_gradients() {
  for (size_t replica = 1; replica < replica_models_.size(); ++replica)
    for (auto& parameter : replica_models_[replica].ptr()->parameters()) parameter.mutable_grad().reset();
}

void DataParallel::copy_primary_to_replicas() {
  torch::NoGradGuard no_grad;
  const auto parameters = model_.ptr()->parameters();
  const auto buffers = model_.ptr()->buffers();
  for (size_t replica = 1; replica < replica_models_.size(); ++replica) {
    // In place: the replicas' autograd leaves stay the same tensors.
    auto replica_parameters = replica_models_[replica].ptr()->parameters();
    auto replica_buffers = replica_models_[replica].ptr()->buffers();
    const bool non_blocking = devices()[replica].is_cuda();
    for (size_t i = 0; i < parameters.size(); ++i) replica_parameters[i].copy_(parameters[i], non_blocking);
    for (size_t i = 0; i < buffers.size(); ++i) replica_buffers[i].copy_(buffers[i], non_blocking);
  }
}

void DataParallel::follow_primary_mode() {
  const bool training = model_.ptr()->is_training();
  for (size_t replica = 1; replica < replica_models_.size(); ++replica)
    if (replica_models_[replica].ptr()->is_training() != training) replica_models_[replica].ptr()->train(training);
}

}  // namespace cohort::strategies
