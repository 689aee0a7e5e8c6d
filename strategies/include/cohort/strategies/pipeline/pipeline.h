#pragma once
// The `pipeline` strategy: the model's layers cut into consecutive stages,
// one stage per rank. A step's batch is cut into micro-batches; stage 0 takes
// their inputs, each stage sends its activations to the next, the last stage
// computes the loss, and the gradients come back stage by stage, all through
// the communicator's send and receive, in the order of a schedule (GPipe or
// 1F1B, see pipeline/schedule.h). Gradients equal those of `single` on the
// whole batch, so one step is the same step.
//
// With data_parallel = D > 1, D copies of the pipeline each take their own
// shard of the data, and each stage's gradients are averaged over its D
// copies (ddp's GradientReducer over a stage communicator) during the last
// backward: stages x data_parallel ranks in all. World rank r is stage
// r % stages of replica r / stages, so a pipeline's stages are neighbours.
//
// Every rank builds the whole model (from the same seed, as a training job
// does) and trains only its stage: only the stage moves to the device, and
// only its parameters get gradients, so the optimizer, built over the whole
// model, skips the others (torch's optimizers skip undefined gradients and
// create no state for them). Checkpoints hold the whole model and every
// stage's optimizer state under `single`'s keys: gather_state() brings the
// stages to the writer, and every rank of a resumed run takes its stage from
// the file.

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>

#include "cohort/distributed/communicator.h"
#include "cohort/strategies/ddp/gradient_reducer.h"
#include "cohort/strategies/pipeline/schedule.h"
#include "cohort/strategies/pipeline/stage_link.h"
#include "cohort/strategies/local_model.h"

namespace cohort::strategies {

struct PipelineOptions {
  /// This rank's device: its stage lives there.
  TORCH_ARG(torch::Device, device) = torch::Device(torch::kCPU);
  /// Stages of each pipeline; 0 = the communicator's ranks / data_parallel.
  TORCH_ARG(int64_t, stages) = 0;
  /// Micro-batches each batch is cut into (at least 1; at most the batch size).
  TORCH_ARG(int64_t, micro_batches) = 4;
  TORCH_ARG(pipeline::Schedule, schedule) = pipeline::Schedule::k1F1B;
  /// Layers per stage, first stage first; empty = balanced by parameter count.
  TORCH_ARG(std::vector<int64_t>, balance) = {};
  /// Copies of the pipeline, each with its own shard of the data.
  TORCH_ARG(int64_t, data_parallel) = 1;
  /// How each stage's gradients are averaged over its copies (data_parallel > 1).
  TORCH_ARG(ddp::GradientReducerOptions, reducer) = {};
  /// Seconds a send, receive or collective may take before the job is aborted with a report.
  TORCH_ARG(double, timeout_s) = distributed::kDefaultTimeoutSeconds;
  /// The ranks of the job; null = the world communicator of the device's type.
  TORCH_ARG(std::shared_ptr<distributed::Communicator>, communicator) = nullptr;
  /// When `communicator` is null: the ranks of the job to build it over (a CPU
  /// communicator, e.g. a sweep trial's group); null = every rank of the job.
  TORCH_ARG(std::shared_ptr<distributed::Communicator>, ranks) = nullptr;
};

class Pipeline : public LocalModel {
 public:
  /// Splits the communicator into the pipeline and data-parallel groups
  /// (collective). Throws cohort::InputError when stages x data_parallel is
  /// not the number of ranks.
  explicit Pipeline(PipelineOptions options = {});

  std::string name() const override { return "pipeline"; }
  /// Cuts the model (models::layers_of) into the stages and keeps this
  /// rank's; InputError when it cannot be cut into that many stages.
  void prepare(torch::nn::AnyModule model, std::shared_ptr<torch::optim::Optimizer> optimizer) override;
  void zero_grad() override;
  /// Runs the schedule over `micro` cut into micro_batches parts. Every stage
  /// returns the last stage's statistics. InputError when the batch has fewer
  /// examples than micro_batches.
  trainer::Stats forward_backward(const data::Batch& micro, const task::Task& task, const strategy::MicroStep& micro_step) override;
  /// Drops the step's activations. The neighbours of a stage that failed
  /// part-way wait for its messages, so the watchdog ends the job after
  /// timeout_s: a pipeline cannot retry a step that ran out of memory.
  void abandon_step() override;
  bool any_rank(bool local) override;
  void step() override;
  /// Forward only, through all stages, in min(micro_batches, batch size) parts.
  trainer::Stats eval_step(const data::Batch& batch, const task::Task& task) override;
  /// Sums over the data-parallel copies (every stage already has its pipeline's statistics).
  trainer::Stats reduce(const trainer::Stats& local) override;
  /// Sums over this pipeline's stages (each holds part of the model).
  double sum_over_model(double local) override;
  int64_t data_parallel_size() const override { return pipeline_options_.data_parallel(); }
  int64_t data_parallel_rank() const override { return replica_; }
  /// Rank 0 of the communicator (stage 0 of the first copy).
  bool is_writer() const override;
  int64_t ranks() const override { return world_->size(); }
  /// This stage's parameters.
  std::vector<torch::Tensor> parameters() const override;
  /// Collective over the whole job: brings every stage's parameters, buffers
  /// and optimizer state to the writer's copy of the model, for save().
  void gather_state() override;
  /// On the writer, after gather_state(): the whole model and optimizer, under
  /// `single`'s keys ("model", "optimizer"), so `single` loads it too.
  void save(torch::serialize::OutputArchive& archive) const override;
  /// Every rank reads the whole model and optimizer and keeps its stage's.
  void load(torch::serialize::InputArchive& archive) override;

  int64_t stages() const { return stages_; }
  int64_t stage() const;
  /// This rank's stage of the model (after prepare()).
  const torch::nn::Sequential& stage_module() const { return stage_; }
  /// The most micro-batches whose activations this stage held at once in the
  /// last forward_backward(): measured, for the schedules' memory claims.
  int64_t peak_live_activations() const { return peak_live_; }
  /// Seconds this stage waited for its neighbours since it was built.
  double wait_seconds() const { return link_->wait_seconds(); }

 protected:
  /// Moves only this rank's stage to the device (prepare() and load()).
  void place_model() override;

 private:
  /// A micro-batch between its forward and its backward: the stage's input
  /// (whose gradient goes back) and its output (the weighted loss on the last stage).
  struct Activations {
    torch::Tensor input;
    torch::Tensor output;
  };

  /// Forward of micro-batch `index`: receive or take the input, run the
  /// stage, send the output or compute the loss (weighted by `weight` for
  /// backward). Keeps the activations for backward when `keep`.
  trainer::Stats forward_micro_batch(const std::vector<data::Batch>& micros, int64_t index, const task::Task& task,
                                     double weight, const strategy::MicroStep& micro_step, bool keep);
  /// This rank's stage on `input`; a size mismatch is explained as under single.
  torch::Tensor run_stage(const torch::Tensor& input, const strategy::MicroStep& micro_step);
  /// Backward of micro-batch `index`; `synchronize`: reduce over the data-parallel copies.
  void backward_micro_batch(int64_t index, bool synchronize);
  /// The last stage's statistics, on every stage of the pipeline.
  trainer::Stats share_last_stage(const trainer::Stats& stats);
  /// The reducer of this stage's gradients over its copies (data_parallel > 1).
  void build_reducer();
  /// Keeps only this stage's entries in the optimizer's state.
  void drop_other_stages_state();
  /// The stage's parameters, buffers and optimizer state, as bytes.
  std::string serialize_stage() const;
  /// Loads another stage's bytes into this rank's copy of that stage.
  void absorb_stage(int64_t stage, const std::string& bytes);

  PipelineOptions pipeline_options_;
  std::shared_ptr<distributed::Communicator> world_;     // every rank of the job
  std::shared_ptr<distributed::Communicator> pipeline_;  // the stages of this copy
  std::shared_ptr<distributed::Communicator> replicas_;  // this stage in every copy (data_parallel > 1)
  int64_t stages_ = 1;
  int64_t replica_ = 0;
  std::unique_ptr<pipeline::StageLink> link_;
  std::vector<torch::nn::Sequential> all_stages_;  // this rank's copy of every stage
  torch::nn::Sequential stage_{nullptr};
  std::unique_ptr<ddp::GradientReducer> reducer_;
  std::map<int64_t, Activations> live_;  // by micro-batch
  int64_t peak_live_ = 0;
  int64_t steps_ = 0;
  int64_t gathered_at_step_ = -1;
};

}  // namespace cohort::strategies
