#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <torch/torch.h>
#include <zlib.h>

#include "cohort/core/error.h"
#include "cohort/data/fashion_mnist.h"
#include "helpers.h"

using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> shape, size_t data_bytes, uint8_t dims_byte) {
  std::vector<uint8_t> bytes{0, 0, 0x08, dims_byte};
  for (uint32_t size : shape)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(uint8_t(size >> shift));
  for (size_t i = 0; i < data_bytes; ++i) bytes.push_back(uint8_t(i % 251));
  return bytes;
}

std::string write_gz(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), unsigned(bytes.size()));
  gzclose(file);
  return path.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// A gzip IDX file of 3x4x5 images whose compressed bytes `damage` changes.
template <typename Damage>
std::string damaged_gz(const std::filesystem::path& dir, Damage damage) {
  const auto path = write_gz(dir / "images.gz", idx_bytes({3, 4, 5}, 60, 3));
  auto bytes = read_bytes(path);
  damage(bytes);
  write_bytes(path, bytes);
  return path;
}

/// Fashion-MNIST's four files in a new directory, the test images replaced by
/// `test_images` (uint8 IDX bytes, gzip-compressed here).
std::filesystem::path fashion_mnist_with_test_images(const std::vector<uint8_t>& test_images) {
  const auto dir = cohort::testing::temporary_directory("idx-fmnist");
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    std::filesystem::copy_file(std::filesystem::path(cohort::data::kFashionMnistDirectory) / name, dir / name);
  write_gz(dir / "t10k-images-idx3-ubyte.gz", test_images);
  return dir;
}

}  // namespace

TEST_CASE("an IDX image file is read with the shape its header gives", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  const auto path = write_gz(dir / "images.gz", idx_bytes({3, 4, 5}, 60, 3));
  const auto tensor = cohort::data::read_idx(path, 3);
  CHECK(tensor.sizes() == torch::IntArrayRef({3, 4, 5}));
  CHECK(tensor.scalar_type() == torch::kUInt8);
  CHECK(tensor.flatten()[59].item<int>() == 59);
}

TEST_CASE("a truncated IDX file is refused with the byte counts", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  const auto path = write_gz(dir / "images.gz", idx_bytes({3, 4, 5}, 50, 3));
  CHECK_THROWS_AS(cohort::data::read_idx(path, 3), cohort::InputError);
  CHECK_THROWS_WITH(cohort::data::read_idx(path, 3),
                    Contains(path + ": truncated: the header promises 60 bytes of data after byte 16, but only 50"));
  const auto header_only = write_gz(dir / "short.gz", {0, 0, 8});
  CHECK_THROWS_WITH(cohort::data::read_idx(header_only, 3), Contains("ends inside its 4-byte IDX magic number"));
}

TEST_CASE("a wrong magic number is refused", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  // A label file (one dimension) where images (three) are expected.
  const auto path = write_gz(dir / "labels.gz", idx_bytes({10}, 10, 1));
  CHECK_THROWS_WITH(cohort::data::read_idx(path, 3),
                    Contains(path + ": wrong magic number 0x00000801 in bytes 0-3") && Contains("0x00000803"));
}

TEST_CASE("data beyond what the header promises is refused", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  const auto path = write_gz(dir / "labels.gz", idx_bytes({10}, 12, 1));
  CHECK_THROWS_WITH(cohort::data::read_idx(path, 1), Contains("longer than its header says"));
}

TEST_CASE("a missing file is named", "[data][idx]") {
  CHECK_THROWS_WITH(cohort::data::read_idx("/nonexistent/images.gz", 3),
                    Contains("/nonexistent/images.gz: the data file does not exist"));
}

TEST_CASE("the real Fashion-MNIST test split loads and is normalised", "[data][fashion_mnist]") {
  if (!std::filesystem::exists(cohort::data::kFashionMnistDirectory)) {
    WARN("dataset-fashion-mnist is not installed; skipping");
    return;
  }
  const auto test = cohort::data::load_fashion_mnist(cohort::data::kFashionMnistDirectory,
                                                     cohort::data::FashionMnistSplit::kTest);
  CHECK(test->size() == 10000);
  CHECK(test->sample_shape() == std::vector<int64_t>{1, 28, 28});
  CHECK(test->targets().min().item<int64_t>() == 0);
  CHECK(test->targets().max().item<int64_t>() == 9);
  // Normalised with the training set's statistics: the test set lands near 0 and 1.
  CHECK(std::abs(test->data().mean().item<double>()) < 0.05);
  CHECK(std::abs(test->data().std().item<double>() - 1.0) < 0.05);
}

TEST_CASE("a gzip file cut by 1 to 8 bytes (no CRC or length) is refused as cut short", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  for (size_t cut = 1; cut <= 8; ++cut) {
    const auto path = damaged_gz(dir, [&](std::string& bytes) { bytes.resize(bytes.size() - cut); });
    CHECK_THROWS_AS(cohort::data::read_idx(path, 3), cohort::InputError);
    CHECK_THROWS_WITH(cohort::data::read_idx(path, 3), Contains(path + ": truncated: the gzip stream is cut short"));
  }
}

TEST_CASE("bytes after the gzip stream are refused", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  const auto path = damaged_gz(dir, [](std::string& bytes) { bytes += "garbage"; });
  CHECK_THROWS_WITH(cohort::data::read_idx(path, 3),
                    Contains(path + ": 7 unexpected byte(s) follow the end of the gzip stream"));
}

TEST_CASE("a flipped CRC or length byte is a checksum mismatch, not a truncation", "[data][idx]") {
  const auto dir = cohort::testing::temporary_directory("idx");
  // The gzip trailer: CRC-32 in the last 8 to 5 bytes, the length in the last 4.
  const auto crc = damaged_gz(dir, [](std::string& bytes) { bytes[bytes.size() - 8] ^= 0x01; });
  CHECK_THROWS_WITH(cohort::data::read_idx(crc, 3), Contains(crc + ": gzip checksum mismatch"));
  const auto length = damaged_gz(dir, [](std::string& bytes) { bytes[bytes.size() - 2] ^= 0x40; });
  CHECK_THROWS_WITH(cohort::data::read_idx(length, 3), Contains(length + ": gzip length mismatch"));
}

TEST_CASE("sizes whose product overflows are refused before anything is allocated", "[data][idx]") {
  // 65536 x 65536 x 2^31 wrapped a 64-bit product to a negative count.
  const auto bytes = idx_bytes({65536, 65536, 0x80000000u}, 0, 3);
  const std::string raw(bytes.begin(), bytes.end());
  CHECK_THROWS_WITH(cohort::data::parse_idx(raw, 3, "huge.idx"),
                    Contains("huge.idx: implausible size 2147483648 for dimension 2"));
}

TEST_CASE("a plain (uncompressed) IDX file reads the same as a gzip one", "[data][idx]") {
  const auto bytes = idx_bytes({3, 4, 5}, 60, 3);
  const auto tensor = cohort::data::parse_idx(std::string(bytes.begin(), bytes.end()), 3, "plain.idx");
  CHECK(tensor.sizes() == torch::IntArrayRef({3, 4, 5}));
  CHECK_THROWS_WITH(cohort::data::parse_idx(std::string(bytes.begin(), bytes.end() - 1), 3, "plain.idx"),
                    Contains("plain.idx: truncated: the header promises 60 bytes of data after byte 16, but only 59"));
}

TEST_CASE("Fashion-MNIST images of another size than 28x28 are refused naming the file", "[data][fashion_mnist]") {
  if (!std::filesystem::exists(cohort::data::kFashionMnistDirectory)) {
    WARN("dataset-fashion-mnist is not installed; skipping");
    return;
  }
  // The same 10,000 x 784 bytes re-declared 14x56, then 10x10 test images
  // (which reached the model and failed there with "mat1 and mat2 shapes").
  for (const auto& [rows, cols] : {std::pair<uint32_t, uint32_t>{14, 56}, {10, 10}}) {
    const auto dir = fashion_mnist_with_test_images(idx_bytes({10000, rows, cols}, size_t(10000) * rows * cols, 3));
    const auto images = (dir / "t10k-images-idx3-ubyte.gz").string();
    CHECK_THROWS_WITH(
        cohort::data::load_fashion_mnist(dir.string(), cohort::data::FashionMnistSplit::kTest),
        Contains(images + ": holds " + std::to_string(rows) + "x" + std::to_string(cols) + " images, but Fashion-MNIST's are 28x28"));
  }
}
