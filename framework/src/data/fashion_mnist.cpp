#include "cohort/data/fashion_mnist.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include "cohort/core/error.h"

namespace cohort::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int64_t kMaxElements = int64_t(1) << 32;  // far above any real IDX file; stops absurd headers
constexpr double kFashionMnistMean = 0.2860;
constexpr double kFashionMnistStd = 0.3530;

using GzFile = std::unique_ptr<gzFile_s, decltype(&gzclose)>;

/// Reads exactly `size` bytes or reports how many there were.
int64_t read_fully(gzFile file, void* buffer, int64_t size) {
  int64_t done = 0;
  auto* bytes = static_cast<unsigned char*>(buffer);
  while (done < size) {
    const auto chunk = static_cast<unsigned>(std::min<int64_t>(size - done, 1 << 30));
    const int got = gzread(file, bytes + done, chunk);
    if (got <= 0) break;
    done += got;
  }
  return done;
}

}  // namespace

torch::Tensor read_idx(const std::string& path, int expected_dims) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError(fmt::format("{}: the data file does not exist.", path));
  GzFile file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw InputError(fmt::format("{}: cannot open the data file.", path));

  std::array<uint8_t, 4> magic{};
  if (read_fully(file.get(), magic.data(), 4) != 4)
    throw InputError(fmt::format("{}: truncated: the file ends inside its 4-byte IDX magic number.", path));
  const uint32_t expected_magic = (uint32_t(kUnsignedByteType) << 8) | uint32_t(expected_dims);
  const uint32_t found_magic = (uint32_t(magic[0]) << 24) | (uint32_t(magic[1]) << 16) |
                               (uint32_t(magic[2]) << 8) | uint32_t(magic[3]);
  if (found_magic != expected_magic)
    throw InputError(fmt::format("{}: wrong magic number 0x{:08x} in bytes 0-3 (an IDX file of unsigned bytes "
                                 "with {} dimension(s) starts with 0x{:08x}).",
                                 path, found_magic, expected_dims, expected_magic));

  std::vector<int64_t> shape;
  int64_t elements = 1;
  for (int d = 0; d < expected_dims; ++d) {
    std::array<uint8_t, 4> be{};
    if (read_fully(file.get(), be.data(), 4) != 4)
      throw InputError(fmt::format("{}: truncated: the file ends inside the size of dimension {} (byte {}).",
                                   path, d, 4 + 4 * d));
    const int64_t size = (int64_t(be[0]) << 24) | (int64_t(be[1]) << 16) | (int64_t(be[2]) << 8) | be[3];
    elements *= std::max<int64_t>(size, 1);
    if (size == 0 || elements > kMaxElements)
      throw InputError(fmt::format("{}: implausible size {} for dimension {} (bytes {}-{}).", path, size, d,
                                   4 + 4 * d, 7 + 4 * d));
    shape.push_back(size);
  }

  auto tensor = torch::empty(shape, torch::kUInt8);
  const int64_t header = 4 + 4 * int64_t(expected_dims);
  const int64_t got = read_fully(file.get(), tensor.data_ptr(), elements);
  if (got != elements)
    throw InputError(fmt::format("{}: truncated: the header promises {} bytes of data after byte {}, but only {} "
                                 "are there.",
                                 path, elements, header, got));
  uint8_t extra = 0;
  if (read_fully(file.get(), &extra, 1) != 0)
    throw InputError(fmt::format("{}: longer than its header says: data goes on past byte {}.", path,
                                 header + elements));
  int gz_status = Z_OK;
  gzerror(file.get(), &gz_status);
  if (gz_status != Z_OK && gz_status != Z_STREAM_END)
    throw InputError(fmt::format("{}: corrupt gzip stream.", path));
  return tensor;
}

std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& directory, FashionMnistSplit split) {
  const std::string prefix = split == FashionMnistSplit::kTrain ? "train" : "t10k";
  const auto images_path = (std::filesystem::path(directory) / (prefix + "-images-idx3-ubyte.gz")).string();
  const auto labels_path = (std::filesystem::path(directory) / (prefix + "-labels-idx1-ubyte.gz")).string();
  auto images = read_idx(images_path, 3);
  auto labels = read_idx(labels_path, 1);
  if (images.size(0) != labels.size(0))
    throw InputError(fmt::format("{}: holds {} labels but {} holds {} images.", labels_path, labels.size(0),
                                 images_path, images.size(0)));
  check_class_targets(labels, 10, labels_path);
  auto data = images.to(torch::kFloat32).div_(255.0).sub_(kFashionMnistMean).div_(kFashionMnistStd).unsqueeze(1);
  return std::make_shared<TensorDataset>(data.contiguous(), labels.to(torch::kInt64), 10);
}

}  // namespace cohort::data
