#include "cohort/trainer/checkpoint.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "cohort/core/crc32c.h"
#include "cohort/core/error.h"
#include "cohort/core/files.h"
#include "cohort/logging/describe_exception.h"
#include "cohort/core/run_layout.h"

namespace cohort::trainer {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "cohort-checkpoint-v1";
// The line before the archive: its CRC32C and length. LibTorch's zip reader
// checks neither, so without it a flipped bit in a tensor loads silently.
constexpr std::string_view kIntegrityMagic = "cohort-checkpoint-crc32c ";
constexpr size_t kMaxIntegrityLine = 80;
constexpr std::string_view kZipMagic("PK\x03\x04", 4);  // a checkpoint from before the integrity line
// Far above any real run; a larger counter is damage, not progress.
constexpr int64_t kMaxCounter = int64_t(1) << 48;

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

/// The refusal of a checkpoint file, in the one form every reason shares.
InputError unreadable(const std::string& path, const std::string& reason) {
  return InputError(fmt::format("{}: not a readable Cohort checkpoint ({}).", path, reason));
}

/// The archive inside `bytes` after checking its integrity line; `verified`
/// says whether there was one (false: a checkpoint from before checksums).
std::string_view verified_archive(std::string_view bytes, const std::string& path, bool& verified) {
  verified = false;
  if (bytes.substr(0, kZipMagic.size()) == kZipMagic) return bytes;
  const size_t newline = bytes.substr(0, kMaxIntegrityLine).find('\n');
  if (bytes.substr(0, kIntegrityMagic.size()) != kIntegrityMagic || newline == std::string_view::npos)
    throw unreadable(path, "it does not start with a checkpoint's integrity line or a zip archive");
  const std::string line(bytes.substr(kIntegrityMagic.size(), newline - kIntegrityMagic.size()));
  unsigned crc = 0;
  unsigned long long size = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "%8x %20llu%n", &crc, &size, &used) != 2 || size_t(used) != line.size())
    throw unreadable(path, "its integrity line is damaged");
  const auto archive = bytes.substr(newline + 1);
  if (archive.size() != size)
    throw unreadable(path, fmt::format("truncated or extended: it holds {} bytes after its integrity line, which "
                                       "says {}",
                                       archive.size(), size));
  if (crc32c(archive) != crc)
    throw unreadable(path, "checksum mismatch: its content does not match the CRC-32C it was written with, so "
                           "the file is damaged; resume from an earlier checkpoint");
  verified = true;
  return archive;
}

/// Refuses a counter no run can have reached; `key` names it.
int64_t checked_counter(int64_t value, const char* key, const std::string& path) {
  if (value < 0 || value > kMaxCounter)
    throw unreadable(path, fmt::format("{} is {}, outside 0..{}", key, value, kMaxCounter));
  return value;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw InputError(fmt::format("{}: cannot read the checkpoint.", path));
  return bytes.str();
}

}  // namespace

std::string checkpoint_name(int64_t epochs_done) { return fmt::format("epoch-{:04d}.pt", epochs_done); }

std::string checkpoint_name(int64_t epochs_done, int64_t epoch_steps_done, int64_t steps_per_epoch) {
  if (epoch_steps_done <= 0 || steps_per_epoch <= 0) return checkpoint_name(epochs_done);
  // The fraction's digits without trailing zeros: "5" for a half, "333333" for a third.
  const auto millionths = std::llround(1e6 * double(epoch_steps_done) / double(steps_per_epoch));
  auto digits = fmt::format("{:06d}", std::min<int64_t>(999999, millionths));
  digits.erase(digits.find_last_not_of('0') + 1);
  if (digits.empty()) digits = "000001";  // a fraction below a millionth still sorts after the whole epoch
  return fmt::format("epoch-{:04d}.{}.pt", epochs_done, digits);
}

std::optional<double> checkpoint_epochs(const std::string& path) {
  const auto name = fs::path(path).filename().string();
  constexpr size_t kPrefix = 6, kSuffix = 3;  // "epoch-", ".pt"
  if (name.size() <= kPrefix + kSuffix || name.rfind("epoch-", 0) != 0 || fs::path(name).extension() != ".pt")
    return std::nullopt;
  const auto number = name.substr(kPrefix, name.size() - kPrefix - kSuffix);
  if (number.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
  try {
    size_t used = 0;
    const double epochs = std::stod(number, &used);
    return used == number.size() ? std::optional<double>(epochs) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void save_checkpoint(const std::string& path, const strategy::Strategy& strategy, const CheckpointState& state,
                     const precision::LossScaler* scaler) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("epochs_done", torch::tensor(state.epochs_done));
  archive.write("steps_done", torch::tensor(state.steps_done));
  archive.write("epoch_steps_done", torch::tensor(state.epoch_steps_done));
  archive.write("config", c10::IValue(state.config));
  archive.write("callbacks", c10::IValue(state.callbacks));
  for (const auto& device : generator_devices())
    archive.write(generator_key(device), at::globalContext().defaultGenerator(device).get_state());
  strategy.save(archive);
  if (scaler) scaler->save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string content = bytes.str();
  write_file_atomically(path, fmt::format("{}{:08x} {}\n", kIntegrityMagic, crc32c(content), content.size()) + content);
}

CheckpointState load_checkpoint(const std::string& path, strategy::Strategy& strategy,
                                precision::LossScaler* scaler) {
  if (!fs::is_regular_file(path)) throw InputError(fmt::format("{}: the checkpoint does not exist.", path));
  return restore_checkpoint(read_file(path), path, strategy, scaler);
}

CheckpointState restore_checkpoint(const std::string& bytes, const std::string& path, strategy::Strategy& strategy,
                                   precision::LossScaler* scaler) {
  torch::serialize::InputArchive archive;
  CheckpointState state;
  const auto content = verified_archive(bytes, path, state.verified);
  try {
    archive.load_from(content.data(), content.size());
    c10::IValue format, config;
    archive.read("format", format);
    if (!format.isString() || format.toStringRef() != kFormat) throw std::runtime_error("not a Cohort checkpoint");
    state.epochs_done = checked_counter(read_int(archive, "epochs_done"), "epochs_done", path);
    state.steps_done = checked_counter(read_int(archive, "steps_done"), "steps_done", path);
    // Absent from checkpoints written before fractional budgets: those were all at an epoch's end.
    torch::Tensor epoch_steps;
    if (archive.try_read("epoch_steps_done", epoch_steps))
      state.epoch_steps_done = checked_counter(epoch_steps.item<int64_t>(), "epoch_steps_done", path);
    if (state.epoch_steps_done > state.steps_done)
      throw unreadable(path, fmt::format("epoch_steps_done ({}) exceeds steps_done ({})", state.epoch_steps_done,
                                         state.steps_done));
    archive.read("config", config);
    state.config = config.toStringRef();
    c10::IValue callbacks;  // absent from checkpoints written before callbacks existed
    if (archive.try_read("callbacks", callbacks) && callbacks.isString()) state.callbacks = callbacks.toStringRef();
    strategy.load(archive);
    if (scaler) scaler->load(archive);
    for (const auto& device : generator_devices()) {
      torch::Tensor rng;
      if (!archive.try_read(generator_key(device), rng)) continue;
      auto generator = at::globalContext().defaultGenerator(device);
      generator.set_state(rng);
    }
  } catch (const InputError& error) {
    const std::string message = error.what();
    if (message.rfind(path, 0) == 0) throw;
    throw InputError(fmt::format("{}: {}", path, message));
  } catch (const std::exception& error) {
    // LibTorch's reasons run to several sentences; the first says enough.
    auto reason = describe_exception(error);
    reason = reason.substr(0, reason.find(". "));
    throw InputError(fmt::format("{}: not a readable Cohort checkpoint for this model ({}).", path, reason));
  }
  return state;
}

namespace {

void check_state(const torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& prefix) {
  auto refuse = [](const std::string& detail) {
    throw InputError(fmt::format("the checkpoint's model does not match this one: {}; build the model as it was when "
                                 "the checkpoint was written",
                                 detail));
  };
  std::set<std::string> known{"training"};  // the flag Module::save writes beside the tensors
  auto compare = [&](const std::string& name, const torch::Tensor& mine, bool buffer) {
    known.insert(name);
    torch::Tensor saved;
    if (!archive.try_read(name, saved, buffer))
      refuse(fmt::format("\"{}{}\" of this model is not in the checkpoint", prefix, name));
    if (saved.sizes() != mine.sizes())
      refuse(fmt::format("\"{}{}\" has shape {} here but {} in the checkpoint", prefix, name,
                         c10::str(mine.sizes()), c10::str(saved.sizes())));
  };
  for (const auto& item : module.named_parameters(/*recurse=*/false)) compare(item.key(), item.value(), false);
  for (const auto& item : module.named_buffers(/*recurse=*/false)) compare(item.key(), item.value(), true);
  for (const auto& item : module.named_children()) {
    known.insert(item.key());
    torch::serialize::InputArchive child;
    if (!archive.try_read(item.key(), child))
      refuse(fmt::format("\"{}{}\" of this model is not in the checkpoint", prefix, item.key()));
    check_state(*item.value(), child, prefix + item.key() + ".");
  }
  for (const auto& key : archive.keys())
    if (!known.count(key)) refuse(fmt::format("the checkpoint has \"{}{}\", which this model has not", prefix, key));
}

}  // namespace

void check_state_matches(const torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  check_state(module, archive, "");
}

std::vector<std::string> list_checkpoints(const std::string& directory) {
  std::vector<std::pair<double, std::string>> found;
  if (!fs::is_directory(directory)) return {};
  for (const auto& entry : fs::directory_iterator(directory)) {
    const auto epochs = checkpoint_epochs(entry.path().string());
    if (entry.is_regular_file() && epochs) found.emplace_back(*epochs, entry.path().string());
  }
  // By epochs, not by name: "epoch-0001.5.pt" comes after "epoch-0001.pt".
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& item : found) paths.push_back(std::move(item.second));
  return paths;
}

std::string resolve_checkpoint(const std::string& path) {
  if (fs::is_regular_file(path)) return path;
  if (!fs::exists(path)) throw InputError(fmt::format("{}: the checkpoint does not exist.", path));
  auto found = list_checkpoints(path);
  if (found.empty() && fs::is_directory(run_layout::in(path, run_layout::kCheckpoints)))
    found = list_checkpoints(run_layout::in(path, run_layout::kCheckpoints));
  if (found.empty()) throw InputError(fmt::format("{}: the directory holds no epoch-*.pt checkpoint.", path));
  return found.back();
}

}  // namespace cohort::trainer
