#include <catch2/catch.hpp>

#include <filesystem>
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
