#include "cohort/trainer/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/error.h"
#include "cohort/core/files.h"

namespace cohort::trainer {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "cohort-checkpoint-v1";

std::vector<torch::Device> generator_devices() {
  std::vector<torch::Device> devices{torch::kCPU};
  if (torch::cuda::is_available())
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i)
      devices.emplace_back(torch::kCUDA, static_cast<c10::DeviceIndex>(i));
  return devices;
}

std::string generator_key(const torch::Device& device) { return "rng_" + device.str(); }

int64_t read_int(torch::serialize::InputArchive& archive, const char* key) {
  torch::Tensor value;
  archive.read(key, value);
  return value.item<int64_t>();
}

}  // namespace

std::string checkpoint_name(int64_t epochs_done) { return fmt::format("epoch-{:04d}.pt", epochs_done); }

void save_checkpoint(const std::string& path, const strategies::Strategy& strategy, const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("epochs_done", torch::tensor(state.epochs_done));
  archive.write("steps_done", torch::tensor(state.steps_done));
  archive.write("config", c10::IValue(state.config));
  for (const auto& device : generator_devices())
    archive.write(generator_key(device), at::globalContext().defaultGenerator(device).get_state());
  strategy.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

CheckpointState load_checkpoint(const std::string& path, strategies::Strategy& strategy) {
  if (!fs::is_regular_file(path)) throw InputError(fmt::format("{}: the checkpoint does not exist.", path));
  torch::serialize::InputArchive archive;
  CheckpointState state;
  try {
    archive.load_from(path);
    c10::IValue format, config;
    archive.read("format", format);
    if (!format.isString() || format.toStringRef() != kFormat) throw std::runtime_error("not a Cohort checkpoint");
    state.epochs_done = read_int(archive, "epochs_done");
    state.steps_done = read_int(archive, "steps_done");
    archive.read("config", config);
    state.config = config.toStringRef();
    strategy.load(archive);
    for (const auto& device : generator_devices()) {
      torch::Tensor rng;
      if (!archive.try_read(generator_key(device), rng)) continue;
      auto generator = at::globalContext().defaultGenerator(device);
      generator.set_state(rng);
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& error) {
    // LibTorch's reasons run to several sentences; the first says enough.
    auto reason = describe_exception(error);
    reason = reason.substr(0, reason.find(". "));
    throw InputError(fmt::format("{}: not a readable Cohort checkpoint for this model ({}).", path, reason));
  }
  return state;
}

std::vector<std::string> list_checkpoints(const std::string& directory) {
  std::vector<std::string> found;
  if (!fs::is_directory(directory)) return found;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("epoch-", 0) == 0 && entry.path().extension() == ".pt")
      found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());  // zero-padded epochs sort by name
  return found;
}

std::string resolve_checkpoint(const std::string& path) {
  if (fs::is_regular_file(path)) return path;
  if (!fs::exists(path)) throw InputError(fmt::format("{}: the checkpoint does not exist.", path));
  auto found = list_checkpoints(path);
  if (found.empty() && fs::is_directory(fs::path(path) / "checkpoints"))
    found = list_checkpoints((fs::path(path) / "checkpoints").string());
  if (found.empty()) throw InputError(fmt::format("{}: the directory holds no epoch-*.pt checkpoint.", path));
  return found.back();
}

}  // namespace cohort::trainer
