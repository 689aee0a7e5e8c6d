#include "cohort/strategies/registry.h"

#include <torch/cuda.h>

#include "cohort/config/durations.h"
#include "cohort/device/device.h"
#include "cohort/strategies/data_parallel/data_parallel.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/model_parallel/model_parallel.h"
#include "cohort/strategies/pipeline/pipeline.h"
#include "cohort/strategies/single.h"

namespace cohort::strategies {
namespace {

using config::Json;
using config::Range;
using config::Schema;

/// Under mpirun a one-process strategy runs the whole job on every rank; only
/// the first of the job's ranks writes, so they do not all write one output_dir.
bool first_of(const Ranks& ranks) { return !ranks || ranks->rank() == 0; }

Schema device_schema() {
  return Schema().string("device", "auto",
                         "auto (cuda:<local rank> when there is a GPU, else cpu), cpu, cuda or cuda:N");
}

/// `text` as a device; an error names the key it came from.
torch::Device parse_device_at(const std::string& key, const std::string& text) {
  try {
    return device::parse_device(text);
  } catch (const InputError& error) {
    throw InputError("\"strategy." + key + "\": " + error.what());
  }
}

torch::Device device_of(const Json& options) {
  return parse_device_at("device", options.at("device").get<std::string>());
}

/// The "devices" of the one-process strategies (data_parallel, model_parallel);
/// empty means every GPU of this machine, or two on the CPU where there is none
/// (so a config runs, and is tested, anywhere).
Schema devices_schema(const std::string& what) {
  return Schema().string_list("devices", {},
                              what + ", e.g. [\"cuda:0\", \"cuda:1\"] or [\"cpu\", \"cpu\"]; empty: every GPU of "
                                     "the machine, or [\"cpu\", \"cpu\"] without one");
}

std::vector<torch::Device> devices_of(const Json& options) {
  std::vector<torch::Device> devices;
  for (const auto& text : options.at("devices").get<std::vector<std::string>>())
    devices.push_back(parse_device_at("devices", text));
  if (!devices.empty()) return devices;
  for (int index = 0; index < static_cast<int>(torch::cuda::device_count()); ++index)
    devices.emplace_back(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  if (devices.empty()) devices.assign(2, torch::Device(torch::kCPU));
  return devices;
}

std::shared_ptr<strategy::Strategy> make_data_parallel(const Json& options, const Ranks& ranks) {
  return std::make_shared<DataParallel>(DataParallelOptions().devices(devices_of(options)).writer(first_of(ranks)));
}

Schema model_parallel_schema() {
  return devices_schema("one stage per device, the input side first")
      .integer_list("balance", {},
                    "layers per stage, one entry per device, adding up to the model's layers; empty: balanced by "
                    "parameter count",
                    Range::at_least(1));
}

std::shared_ptr<strategy::Strategy> make_model_parallel(const Json& options, const Ranks& ranks) {
  return std::make_shared<ModelParallel>(ModelParallelOptions()
                                             .devices(devices_of(options))
                                             .balance(options.at("balance").get<std::vector<int64_t>>())
                                             .writer(first_of(ranks)));
}

Schema ddp_schema() {
  const ddp::GradientReducerOptions reducer;
  const DdpOptions ddp;
  return device_schema()
      .number("bucket_cap_mb", reducer.bucket_cap_mb(), "largest gradient bucket, MiB", Range::positive())
      .number("first_bucket_mb", reducer.first_bucket_mb(),
              "the first bucket (last layers, ready first), MiB; small so communication starts early",
              Range::positive())
      .choice("overlap", "auto", {"auto", "on", "off"},
              "start each bucket's allreduce while backward still runs (on), or all after it with blocking calls "
              "(off); auto is on for CUDA (NCCL) and off for the CPU, where Open MPI's non-blocking allreduce is "
              "slower than its blocking one and no core is free to overlap with")
      .boolean("find_unused_parameters", reducer.find_unused_parameters(),
               "allow parameters that get no gradient in some steps")
      .boolean("broadcast_buffers", ddp.broadcast_buffers(),
               "copy buffers (BatchNorm statistics) from rank 0 every step")
      .choice("compression", "none", {"none", "fp16", "bf16"}, "the type gradients travel in")
      .number("timeout_s", ddp.timeout_s(), "seconds a collective may take before the job is aborted with a report",
              config::positive_seconds());
}

ddp::Compression compression_of(const std::string& name) {
  if (name == "fp16") return ddp::Compression::kFloat16;
  if (name == "bf16") return ddp::Compression::kBFloat16;
  return ddp::Compression::kNone;
}

std::shared_ptr<strategy::Strategy> make_ddp(const Json& options, const Ranks& ranks) {
  const auto device = device_of(options);
  const auto overlap_name = options.at("overlap").get<std::string>();
  const bool overlap = overlap_name == "auto" ? device.is_cuda() : overlap_name == "on";
  return std::make_shared<Ddp>(
      DdpOptions()
          .device(device)
          .ranks(ranks)
          .broadcast_buffers(options.at("broadcast_buffers").get<bool>())
          .timeout_s(options.at("timeout_s").get<double>())
          .reducer(ddp::GradientReducerOptions()
                       .bucket_cap_mb(options.at("bucket_cap_mb").get<double>())
                       .first_bucket_mb(options.at("first_bucket_mb").get<double>())
                       .overlap(overlap)
                       .find_unused_parameters(options.at("find_unused_parameters").get<bool>())
                       .compression(compression_of(options.at("compression").get<std::string>()))));
}

Schema pipeline_schema() {
  const PipelineOptions defaults;
  return device_schema()
      .integer("micro_batches", defaults.micro_batches(),
               "micro-batches each batch is cut into; more shrink the pipeline's idle bubble, (stages - 1) / "
               "(micro_batches + stages - 1) of a step, and need a batch of at least this many examples",
               Range::at_least(1))
      .choice("schedule", pipeline::to_string(defaults.schedule()), {"gpipe", "1f1b"},
              "gpipe: all forwards, then all backwards (every micro-batch's activations alive at once); 1f1b: "
              "one forward, one backward, at most as many micro-batches alive as there are stages")
      .integer_list("balance", {},
                    "layers per stage, one entry per stage, adding up to the model's layers; empty: balanced by "
                    "parameter count",
                    Range::at_least(1))
      .integer("data_parallel", defaults.data_parallel(),
               "copies of the pipeline, each on its own shard of the data, the stages' gradients averaged over "
               "them; the job needs stages x data_parallel ranks (stages = ranks / data_parallel)",
               Range::at_least(1))
      .number("timeout_s", defaults.timeout_s(),
              "seconds a send, receive or collective may take before the job is aborted with a report",
              config::positive_seconds());
}

std::shared_ptr<strategy::Strategy> make_pipeline(const Json& options, const Ranks& ranks) {
  const auto device = device_of(options);
  return std::make_shared<Pipeline>(
      PipelineOptions()
          .device(device)
          .ranks(ranks)
          .micro_batches(options.at("micro_batches").get<int64_t>())
          .schedule(pipeline::parse_schedule(options.at("schedule").get<std::string>()))
          .balance(options.at("balance").get<std::vector<int64_t>>())
          .data_parallel(options.at("data_parallel").get<int64_t>())
          .timeout_s(options.at("timeout_s").get<double>())
          // As ddp's "overlap": "auto": blocking MPI calls gain nothing from overlap on the CPU.
          .reducer(ddp::GradientReducerOptions().overlap(device.is_cuda())));
}

}  // namespace

StrategyRegistry& strategy_registry() {
  static StrategyRegistry registry = [] {
    StrategyRegistry built("strategy");
    built.add("single", device_schema(), [](const Json& options, const Ranks& ranks) {
      return std::shared_ptr<strategy::Strategy>(
          std::make_shared<Single>(SingleOptions().device(device_of(options)).writer(first_of(ranks))));
    });
    built.add("ddp", ddp_schema(), make_ddp);
    built.add("data_parallel", devices_schema("one replica per device, the first holding the optimizer"),
              make_data_parallel);
    built.add("model_parallel", model_parallel_schema(), make_model_parallel);
    built.add("pipeline", pipeline_schema(), make_pipeline);
    return built;
  }();
  return registry;
}

}  // namespace cohort::strategies
