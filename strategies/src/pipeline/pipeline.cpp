#include "cohort/strategies/pipeline/pipeline.h"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/distributed/exchange.h"
#include "cohort/distributed/runtime.h"
#include "cohort/models/shape_error.h"
#include "cohort/models/staged.h"
#include "cohort/precision/autocast.h"
#include "cohort/strategies/stages.h"
#include "cohort/task/invalid_example.h"
#include "cohort/trainer/step_runner.h"
#include "../stats_tensor.h"

namespace cohort::strategies {
namespace {

std::shared_ptr<distributed::Communicator> job_communicator(const PipelineOptions& options) {
  if (options.communicator()) return options.communicator();
  return distributed::communicator_for(options.device().type(), options.ranks(),
                                      distributed::CommunicatorOptions().timeout_s(options.timeout_s()));
}

/// Stages of each pipeline, checked against the ranks there are.
int64_t stage_count(const PipelineOptions& options, int64_t ranks) {
  const int64_t copies = options.data_parallel();
  if (copies < 1)
    throw InputError(fmt::format("\"strategy.data_parallel\" is {}; it must be at least 1.", copies));
  if (options.micro_batches() < 1)
    throw InputError(fmt::format("\"strategy.micro_batches\" is {}; it must be at least 1.", options.micro_batches()));
  const int64_t stages = options.stages() > 0 ? options.stages() : ranks / copies;
  if (stages < 1 || stages * copies != ranks)
    throw InputError(fmt::format(
        "\"strategy.data_parallel\" is {}: the pipeline needs stages x data_parallel ranks, but the job has {} "
        "ranks{}; start as many ranks as stages x data_parallel.",
        copies, ranks, options.stages() > 0 ? fmt::format(" for {} stages", options.stages()) : std::string()));
  return stages;
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options)
    : LocalModel(options.device()), pipeline_options_(std::move(options)) {
  world_ = job_communicator(pipeline_options_);
  stages_ = stage_count(pipeline_options_, world_->size());
  replica_ = world_->rank() / stages_;
  const int position = int(world_->rank() % stages_);
  pipeline_ = world_->split(int(replica_), position);
  if (pipeline_options_.data_parallel() > 1) replicas_ = world_->split(position, int(replica_));
  link_ = std::make_unique<pipeline::StageLink>(pipeline_, pipeline_options_.device());
}

int64_t Pipeline::stage() const { return pipeline_->rank(); }

void Pipeline::prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) {
  model_ = std::move(model);
  optimizer_ = std::move(optimizer);
  const auto layers = models::layers_of(model_);
  all_stages_ = split_stages(layers, balance_stages(layers, stages_, pipeline_options_.balance()));
  stage_ = all_stages_.at(size_t(stage()));
  place_model();
  if (!replicas_) return;
  // The copies of a stage start alike even if their ranks built different models.
  std::vector<torch::Tensor> state;
  {
    torch::NoGradGuard no_grad;
    for (const auto& parameter : stage_->parameters()) state.push_back(parameter.detach());
    for (const auto& buffer : stage_->buffers()) state.push_back(buffer.detach());
  }
  if (!state.empty()) replicas_->broadcast(std::move(state), 0);
  build_reducer();
}

void Pipeline::place_model() {
  // Only this rank's stage moves to the device; the rest of the model stays
  // where it was built and is never trained here. Module::to() swaps the data
  // in place, so the optimizer's references stay valid.
  stage_->to(pipeline_options_.device());
}

void Pipeline::build_reducer() {
  if (!replicas_ || stage_->parameters().empty()) return;
  reducer_ = std::make_unique<ddp::GradientReducer>(stage_->parameters(), replicas_, pipeline_options_.reducer());
}

void Pipeline::zero_grad() {
  live_.clear();
  if (reducer_)
    reducer_->zero_grad();
  else
    optimizer_->zero_grad();
}

trainer::Stats Pipeline::forward_micro_batch(const std::vector<data::Batch>& micros, int64_t index, const task::Task& task,
                                 double weight, const strategy::MicroStep& micro_step, bool keep) {
  const auto& micro = micros[size_t(index)];
  const auto& device = pipeline_options_.device();
  torch::Tensor input;
  if (link_->first()) {
    input = single_input(micro, task, "pipeline").to(device, /*non_blocking=*/true);
  } else {
    input = link_->recv_activation(micro.size(), /*with_header=*/index == 0);
    if (keep) input.requires_grad_(true);  // its gradient goes back to the previous stage
  }
  const int64_t unknown_classes = -1;
  torch::Tensor output = task::explain_invalid_examples(*model_.ptr(), micro, task, unknown_classes,
                                                        [&] { return run_stage(input, micro_step); });
  auto stats = task.new_stats();
  if (!link_->last()) {
    if (output.dim() < 1 || output.size(0) != micro.size())
      throw std::invalid_argument(fmt::format(
          "pipeline: stage {}'s output has shape {} for a micro-batch of {} examples; a stage's output must keep "
          "the micro-batch as its first dimension.",
          stage(), c10::str(output.sizes()), micro.size()));
    link_->send_activation(output, /*with_header=*/index == 0);
  } else {
    // A label outside the model's outputs names its example.
    const auto classes = task::output_classes(output);
    task::explain_invalid_examples(*model_.ptr(), micro, task, classes, [&] {
      const auto value = task.loss(output, micro);
      stats = task.measure(output.detach(), micro, value.detach());
      output = weight == 1.0 ? value : value * weight;
    });
  }
  if (keep) {
    live_[index] = Activations{input, output};
    peak_live_ = std::max<int64_t>(peak_live_, int64_t(live_.size()));
  }
  return stats;
}

torch::Tensor Pipeline::run_stage(const torch::Tensor& input, const strategy::MicroStep& micro_step) {
  const auto& device = pipeline_options_.device();
  // A size mismatch names the layer by its path in the whole model, as under
  // single; the sentence is built only then, not on every micro-batch.
  return models::explain_shape_errors_with(
      [&] {
        precision::AutocastGuard autocast(device.type(), micro_step.autocast);
        return stage_->forward(input);
      },
      [&](const std::string& message) {
        const auto input_name =
            link_->first() ? std::string("the model's input") : fmt::format("stage {}'s input", stage());
        const auto sentence = models::describe_layers_error(*model_.ptr(), stage_, input, input_name);
        return sentence.empty() ? message : sentence;
      });
}

void Pipeline::backward_micro_batch(int64_t index, bool synchronize) {
  auto found = live_.find(index);
  auto activations = std::move(found->second);
  live_.erase(found);
  if (reducer_) reducer_->set_synchronize(synchronize);
  if (link_->last()) {
    activations.output.backward();
  } else {
    const auto gradient = link_->recv_gradient(activations.output);
    // A stage without parameters on stage 0 (e.g. only Flatten) has nothing to differentiate.
    if (activations.output.requires_grad()) activations.output.backward(gradient);
  }
  if (link_->first()) return;
  const auto& input_gradient = activations.input.grad();
  link_->send_gradient(input_gradient.defined() ? input_gradient : torch::zeros_like(activations.input));
}

trainer::Stats Pipeline::forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) {
  const int64_t parts = pipeline_options_.micro_batches(), size = micro.size();
  if (size < parts)
    throw InputError(fmt::format(
        "\"strategy.micro_batches\" is {}, but a training step has only {} examples to cut into micro-batches; "
        "lower micro_batches or raise loader.batch_size (and set loader.drop_last for a short last batch).",
        parts, size));
  const auto micros = trainer::split_evenly(micro, parts);
  live_.clear();
  peak_live_ = 0;
  auto stats = task.new_stats();
  for (const auto& action : pipeline::actions(pipeline_options_.schedule(), stages_, stage(), parts)) {
    const auto index = action.micro_batch;
    if (action.kind == pipeline::Action::Kind::kForward) {
      // Each micro-batch's loss counts by its share of the step, so the gradients are the whole batch's.
      const double weight = double(micros[size_t(index)].size()) / double(size) * micro_step.loss_weight;
      stats += forward_micro_batch(micros, index, task, weight, micro_step, /*keep=*/true);
    } else {
      backward_micro_batch(index, /*synchronize=*/micro_step.last && index == parts - 1);
    }
  }
  link_->flush();
  return share_last_stage(stats);
}

void Pipeline::abandon_step() {
  live_.clear();
  if (reducer_) reducer_->set_synchronize(false);
}

bool Pipeline::any_rank(bool local) { return distributed::any_rank(*world_, local, pipeline_options_.device()); }

void Pipeline::step() {
  LocalModel::step();
  ++steps_;
}

trainer::Stats Pipeline::eval_step(const data::Batch& batch, const task::Task& task) {
  const auto micros = trainer::split_evenly(batch, std::min(pipeline_options_.micro_batches(), batch.size()));
  auto stats = task.new_stats();
  for (int64_t index = 0; index < int64_t(micros.size()); ++index)
    stats += forward_micro_batch(micros, index, task, 1.0, strategy::MicroStep{}, /*keep=*/false);
  link_->flush();
  return share_last_stage(stats);
}

trainer::Stats Pipeline::share_last_stage(const trainer::Stats& stats) {
  if (stages_ == 1) return stats;
  auto totals = stats_tensor(stats, pipeline_options_.device());
  pipeline_->broadcast(totals, int(stages_ - 1));
  return stats_from_tensor(totals);
}

trainer::Stats Pipeline::reduce(const trainer::Stats& local) {
  if (!replicas_) return local;
  auto totals = stats_tensor(local, pipeline_options_.device());
  replicas_->allreduce(totals, distributed::ReduceOp::kSum);
  return stats_from_tensor(totals);
}

double Pipeline::sum_over_model(double local) {
  if (stages_ == 1) return local;
  auto total = torch::tensor({local}, torch::kFloat64).to(pipeline_options_.device());
  pipeline_->allreduce(total, distributed::ReduceOp::kSum);
  return total.item<double>();
}

bool Pipeline::is_writer() const { return world_->rank() == 0; }

std::vector<torch::Tensor> Pipeline::parameters() const { return stage_->parameters(); }

std::string Pipeline::serialize_stage() const {
  torch::serialize::OutputArchive archive, stage_archive, optimizer_archive;
  stage_->save(stage_archive);
  optimizer_->save(optimizer_archive);
  archive.write("stage", stage_archive);
  archive.write("optimizer", optimizer_archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void Pipeline::absorb_stage(int64_t stage, const std::string& bytes) {
  torch::serialize::InputArchive archive, stage_archive, optimizer_archive;
  archive.load_from(bytes.data(), bytes.size(), torch::Device(torch::kCPU));
  archive.read("stage", stage_archive);
  archive.read("optimizer", optimizer_archive);
  all_stages_.at(size_t(stage))->load(stage_archive);
  // Loading adds the state of the parameters the archive has state for (that
  // stage's) and keeps the rest: the writer's optimizer ends with every stage's.
  optimizer_->load(optimizer_archive);
}

void Pipeline::gather_state() {
  // The copies of a stage are identical; the first copy's stages are gathered.
  if (replica_ != 0 || stages_ == 1) return;
  if (stage() != 0) {
    distributed::send_bytes(*pipeline_, serialize_stage(), 0, pipeline_options_.device());
    return;
  }
  for (int source = 1; source < stages_; ++source) absorb_stage(source, distributed::recv_bytes(*pipeline_, source, pipeline_options_.device()));
  gathered_at_step_ = steps_;
}

void Pipeline::save(torch::serialize::OutputArchive& archive) const {
  if (stages_ > 1 && (!is_writer() || gathered_at_step_ != steps_))
    throw std::logic_error(
        "Pipeline::save(): the writer saves the whole model after gather_state() has run on every rank since the "
        "last step.");
  LocalModel::save(archive);
}

void Pipeline::load(torch::serialize::InputArchive& archive) {
  LocalModel::load(archive);  // the whole model and optimizer, as single wrote them
  drop_other_stages_state();
  // Loading swapped the parameters' storage (Tensor::set_): the reducer is
  // built again, hooked to their gradient accumulators as they are now (as ddp does).
  build_reducer();
}

void Pipeline::drop_other_stages_state() {
  std::unordered_set<void*> mine;
  for (const auto& parameter : stage_->parameters()) mine.insert(parameter.unsafeGetTensorImpl());
  auto& state = optimizer_->state();
  for (auto entry = state.begin(); entry != state.end();) {
    if (mine.count(entry->first))
      ++entry;
    else
      entry = state.erase(entry);
  }
}

}  // namespace cohort::strategies
