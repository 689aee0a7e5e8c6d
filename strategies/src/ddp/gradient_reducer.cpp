#include "cohort/strategies/ddp/gradient_reducer.h"
#include "cohort/memory/memory_report.h"

#include <fmt/format.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/torch.h>

namespace cohort::strategies::ddp {
namespace {


torch::ScalarType wire_type(Compression compression, torch::ScalarType gradient) {
  switch (compression) {
    case Compression::kFloat16: return torch::kHalf;
    case Compression::kBFloat16: return torch::kBFloat16;
    case Compression::kNone: break;
  }
  return gradient;
}

}  // namespace

/// A flat buffer holding the gradients of a few parameters while they travel.
struct GradientReducer::Bucket {
  std::vector<size_t> parameters;
  std::vector<int64_t> offsets;  // of each parameter's slice in `buffer`
  torch::Tensor buffer;  // the gradients themselves: each .grad is a view into it
  torch::Tensor wire;    // what travels when compressed (undefined otherwise)
  size_t waiting = 0;  // parameters not yet ready in this backward
  distributed::WorkHandle work;

  torch::Tensor slice(size_t slot, const torch::Tensor& like) const {
    return buffer.slice(0, offsets[slot], offsets[slot] + like.numel());
  }
};

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters,
                                 std::shared_ptr<distributed::Communicator> communicator,
                                 GradientReducerOptions options)
    : communicator_(std::move(communicator)), options_(std::move(options)) {
  for (auto& parameter : parameters)
    if (parameter.requires_grad()) parameters_.push_back(parameter);
  build_buckets();
  install_hooks();
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void GradientReducer::build_buckets() {
  // Reverse registration order approximates the order in which backward
  // produces gradients: the last layers first.
  std::vector<size_t> current;
  double current_bytes = 0.0;
  auto close = [&] {
    if (current.empty()) return;
    layout_.push_back(current);
    current.clear();
    current_bytes = 0.0;
  };
  for (size_t i = parameters_.size(); i-- > 0;) {
    const auto& parameter = parameters_[i];
    const double cap = (layout_.empty() ? options_.first_bucket_mb() : options_.bucket_cap_mb()) * memory::kMiB;
    const bool type_changes = !current.empty() && parameters_[current.front()].scalar_type() != parameter.scalar_type();
    if (type_changes) close();
    current.push_back(i);
    current_bytes += double(parameter.numel() * parameter.element_size());
    if (current_bytes >= cap) close();
  }
  close();
  allocate_buckets();
}

void GradientReducer::allocate_buckets() {
  bucket_of_.assign(parameters_.size(), 0);
  slot_of_.assign(parameters_.size(), 0);
  ready_.assign(parameters_.size(), false);
  for (size_t b = 0; b < layout_.size(); ++b) {
    auto bucket = std::make_unique<Bucket>();
    bucket->parameters = layout_[b];
    int64_t size = 0;
    for (size_t slot = 0; slot < bucket->parameters.size(); ++slot) {
      const size_t p = bucket->parameters[slot];
      bucket_of_[p] = b;
      slot_of_[p] = slot;
      bucket->offsets.push_back(size);
      size += parameters_[p].numel();
    }
    const auto& first = parameters_[bucket->parameters.front()];
    bucket->buffer = torch::zeros({size}, first.options());
    const auto wire = wire_type(options_.compression(), first.scalar_type());
    if (wire != first.scalar_type()) bucket->wire = torch::empty({size}, first.options().dtype(wire));
    bucket->waiting = bucket->parameters.size();
    buckets_.push_back(std::move(bucket));
  }
}

void GradientReducer::install_hooks() {
  // A post hook on the gradient accumulator runs once the gradient has been
  // added to .grad. The accumulators are kept alive here: autograd holds them
  // only weakly between backward passes.
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[i]);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          mark_ready(i);
          return outputs;
        })));
    accumulators_.push_back(std::move(accumulator));
  }
}

void GradientReducer::mark_ready(size_t parameter) {
  if (!synchronize_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_) {
    pending_ = true;
    // Runs when this backward pass ends, on the thread that called backward().
    torch::autograd::Engine::get_default_engine().queue_callback([this] { finalize(); });
  }
  if (ready_[parameter]) return;  // the parameter is used twice in the graph; its accumulator fires once
  ready_[parameter] = true;
  auto& bucket = *buckets_[bucket_of_[parameter]];
  gather(parameter);
  if (--bucket.waiting == 0 && options_.overlap()) launch_ready_buckets();
  drive_progress();
}

void GradientReducer::drive_progress() {
  // MPI moves a non-blocking collective forward only inside MPI calls; asking
  // whether the buckets in flight are done is such a call, made here between
  // gradients so their allreduces advance while backward computes.
  while (first_in_flight_ < next_to_launch_ && buckets_[first_in_flight_]->work->is_completed()) ++first_in_flight_;
}

void GradientReducer::launch_ready_buckets() {
  // Buckets start in a fixed order so every rank issues the same sequence of
  // allreduces, whatever order backward made them ready in.
  while (next_to_launch_ < buckets_.size() && buckets_[next_to_launch_]->waiting == 0)
    launch(*buckets_[next_to_launch_++]);
}

void GradientReducer::gather(size_t parameter) {
  // Usually backward has accumulated straight into the bucket, through the
  // view zero_grad() installed as .grad. If something replaced .grad (an
  // optimizer's zero_grad setting it to none, create_graph), copy it in.
  const auto& gradient = parameters_[parameter].grad();
  auto slice = buckets_[bucket_of_[parameter]]->slice(slot_of_[parameter], parameters_[parameter]);
  if (!gradient.defined())
    slice.zero_();
  else if (gradient.data_ptr() != slice.data_ptr())
    slice.copy_(gradient.reshape({-1}));
}

void GradientReducer::launch(Bucket& bucket) {
  // Averaging: scaled once per bucket, so the allreduce's sum is the mean.
  if (communicator_->size() > 1) bucket.buffer.mul_(1.0 / double(communicator_->size()));
  if (bucket.wire.defined()) bucket.wire.copy_(bucket.buffer);
  auto& travelling = bucket.wire.defined() ? bucket.wire : bucket.buffer;
  bucket.work = communicator_->allreduce_async({travelling}, distributed::ReduceOp::kSum);
}

void GradientReducer::zero_grad() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& bucket : buckets_) bucket->buffer.zero_();
  for (size_t p = 0; p < parameters_.size(); ++p) bind_gradient(p);
}

void GradientReducer::bind_gradient(size_t parameter) {
  auto& gradient = parameters_[parameter].mutable_grad();
  auto slice = buckets_[bucket_of_[parameter]]->slice(slot_of_[parameter], parameters_[parameter]);
  if (!gradient.defined() || gradient.data_ptr() != slice.data_ptr()) gradient = slice.view_as(parameters_[parameter]);
}

std::vector<size_t> GradientReducer::fill_unready() {
  std::vector<size_t> unready;
  for (size_t p = 0; p < parameters_.size(); ++p) {
    if (ready_[p]) continue;
    unready.push_back(p);
    ready_[p] = true;
    gather(p);  // what earlier micro-batches accumulated, or zeros
    --buckets_[bucket_of_[p]]->waiting;
  }
  return unready;
}

void GradientReducer::complete_round() {
  for (auto& bucket : buckets_) bucket->waiting = 0;
  launch_ready_buckets();
  for (auto& bucket : buckets_) {
    bucket->work->wait();
    bucket->work.reset();
    if (bucket->wire.defined()) bucket->buffer.copy_(bucket->wire);
  }
}

std::vector<int32_t> GradientReducer::exchange_usage(const std::vector<size_t>& unused) {
  // Which parameters got a gradient on at least one rank: those that got none
  // anywhere keep an undefined .grad, as in one process, so the optimizer
  // leaves them alone.
  std::vector<int32_t> used(parameters_.size(), 1);
  for (size_t p : unused) used[p] = 0;
  auto on_device = torch::tensor(used, torch::kInt32).to(parameters_.front().device());
  communicator_->allreduce(on_device, distributed::ReduceOp::kMax);
  const auto back = on_device.cpu();
  std::copy(back.data_ptr<int32_t>(), back.data_ptr<int32_t>() + back.numel(), used.begin());
  return used;
}

void GradientReducer::reset_round() {
  std::fill(ready_.begin(), ready_.end(), false);
  for (auto& bucket : buckets_) bucket->waiting = bucket->parameters.size();
  next_to_launch_ = 0;
  first_in_flight_ = 0;
  pending_ = false;
}

void GradientReducer::finalize() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_) return;
  const auto unused = fill_unready();
  complete_round();
  const auto used = options_.find_unused_parameters() ? exchange_usage(unused) : std::vector<int32_t>();
  for (size_t p = 0; p < parameters_.size(); ++p) {
    if (!used.empty() && used[p] == 0)
      parameters_[p].mutable_grad() = torch::Tensor();
    else
      bind_gradient(p);  // .grad is the bucket's averaged slice
  }
  reset_round();
  if (!unused.empty() && !options_.find_unused_parameters()) {
    throw std::runtime_error(fmt::format(
        "{} parameter(s) got no gradient in this step (the first is number {}, of shape [{}]); set the "
        "ddp strategy's find_unused_parameters to true for models that leave parameters out of some steps.",
        unused.size(), unused.front(), fmt::join(parameters_[unused.front()].sizes(), ", ")));
  }
}

void GradientReducer::abandon() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (parameters_.empty()) return;
  const auto unused = fill_unready();
  complete_round();
  if (options_.find_unused_parameters()) exchange_usage(unused);
  reset_round();
}

}  // namespace cohort::strategies::ddp
