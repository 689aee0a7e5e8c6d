#include "cohort/strategies/registry.h"

#include "cohort/runtime/device.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/single.h"

namespace cohort::strategies {
namespace {

using config::Json;
using config::Range;
using config::Schema;

Schema device_schema() {
  return Schema().string("device", "auto",
                         "auto (cuda:<local rank> when there is a GPU, else cpu), cpu, cuda or cuda:N");
}

torch::Device device_of(const Json& options) {
  try {
    return runtime::parse_device(options.at("device").get<std::string>());
  } catch (const InputError& error) {
    throw InputError(std::string("\"strategy.device\": ") + error.what());
  }
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
      .number("timeout_s", 300.0, "seconds a collective may take before the job is aborted with a report",
              Range::positive());
}

ddp::Compression compression_of(const std::string& name) {
  if (name == "fp16") return ddp::Compression::kFloat16;
  if (name == "bf16") return ddp::Compression::kBFloat16;
  return ddp::Compression::kNone;
}

std::shared_ptr<Strategy> make_ddp(const Json& options) {
  const auto device = device_of(options);
  const auto overlap_name = options.at("overlap").get<std::string>();
  const bool overlap = overlap_name == "auto" ? device.is_cuda() : overlap_name == "on";
  return std::make_shared<Ddp>(
      DdpOptions()
          .device(device)
          .broadcast_buffers(options.at("broadcast_buffers").get<bool>())
          .timeout_s(options.at("timeout_s").get<double>())
          .reducer(ddp::GradientReducerOptions()
                       .bucket_cap_mb(options.at("bucket_cap_mb").get<double>())
                       .first_bucket_mb(options.at("first_bucket_mb").get<double>())
                       .overlap(overlap)
                       .find_unused_parameters(options.at("find_unused_parameters").get<bool>())
                       .compression(compression_of(options.at("compression").get<std::string>()))));
}

}  // namespace

StrategyRegistry& strategy_registry() {
  static StrategyRegistry registry = [] {
    StrategyRegistry built("strategy");
    built.add("single", device_schema(), [](const Json& options) {
      return std::shared_ptr<Strategy>(std::make_shared<Single>(SingleOptions().device(device_of(options))));
    });
    built.add("ddp", ddp_schema(), make_ddp);
    return built;
  }();
  return registry;
}

}  // namespace cohort::strategies
