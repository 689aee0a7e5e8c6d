#include "cohort/data/fashion_mnist.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include "cohort/core/error.h"

namespace cohort::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int64_t kMaxElements = int64_t(1) << 32;  // far above any real IDX file; stops absurd headers
constexpr int64_t kReadChunk = int64_t(16) << 20;
constexpr int64_t kImageSide = 28;                  // Fashion-MNIST's images are 28x28
constexpr double kFashionMnistMean = 0.2860;
constexpr double kFashionMnistStd = 0.3530;

/// The uncompressed bytes of an IDX file, read in order from its raw bytes:
/// gzip (inflated as it is read) or plain. Every fault of the gzip layer (a stream
/// cut short, a checksum or length mismatch, bytes after the stream) is an
/// InputError naming the file.
class IdxBytes {
 public:
  IdxBytes(std::string_view raw, std::string name) : raw_(raw), name_(std::move(name)) {
    gzip_ = raw_.size() >= 2 && uint8_t(raw_[0]) == 0x1f && uint8_t(raw_[1]) == 0x8b;
    if (!gzip_) return;
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw_.data()));
    stream_.avail_in = static_cast<uInt>(std::min<size_t>(raw_.size(), UINT32_MAX));
    if (raw_.size() > UINT32_MAX) throw InputError(fmt::format("{}: the gzip file is over 4 GiB.", name_));
    if (inflateInit2(&stream_, 15 + 16) != Z_OK) throw std::bad_alloc();  // zlib fails only for memory here
  }
  ~IdxBytes() {
    if (gzip_) inflateEnd(&stream_);
  }
  IdxBytes(const IdxBytes&) = delete;
  IdxBytes& operator=(const IdxBytes&) = delete;

  /// Copies up to `size` bytes into `out`; fewer only where the data ends.
  int64_t read(void* out, int64_t size) {
    if (!gzip_) {
      const auto got = std::min<int64_t>(size, int64_t(raw_.size() - plain_at_));
      std::memcpy(out, raw_.data() + plain_at_, size_t(got));
      plain_at_ += size_t(got);
      return got;
    }
    int64_t done = 0;
    auto* bytes = static_cast<Bytef*>(out);
    while (done < size && !ended_) {
      stream_.next_out = bytes + done;
      stream_.avail_out = static_cast<uInt>(std::min<int64_t>(size - done, 1 << 30));
      const uInt before = stream_.avail_out;
      const int status = inflate(&stream_, Z_NO_FLUSH);
      done += before - stream_.avail_out;
      check(status);
    }
    return done;
  }

  /// Refuses bytes after the gzip stream's end (concatenated members or
  /// garbage); for a plain file there is nothing more to check.
  void expect_clean_end() const {
    if (gzip_ && stream_.avail_in > 0)
      throw InputError(fmt::format("{}: {} unexpected byte(s) follow the end of the gzip stream (at byte {}).", name_,
                                   stream_.avail_in, raw_.size() - stream_.avail_in));
  }

  bool gzip() const { return gzip_; }

 private:
  /// Turns inflate()'s status into "go on", "ended" or an InputError.
  void check(int status) {
    if (status == Z_STREAM_END) {
      ended_ = true;
      return;
    }
    if (status == Z_OK) return;
    if (status == Z_BUF_ERROR && stream_.avail_in == 0)
      throw InputError(fmt::format("{}: truncated: the gzip stream is cut short (it ends at byte {} without its "
                                   "end and checksum).",
                                   name_, raw_.size()));
    if (status == Z_BUF_ERROR) return;  // no room for output: the caller asks again
    const std::string reason = stream_.msg ? stream_.msg : "unknown zlib error";
    if (reason == "incorrect data check")
      throw InputError(fmt::format("{}: gzip checksum mismatch: the data does not match the CRC-32 stored in the "
                                   "file (the file is damaged).",
                                   name_));
    if (reason == "incorrect length check")
      throw InputError(fmt::format("{}: gzip length mismatch: the data's length does not match the one stored in "
                                   "the file (the file is damaged).",
                                   name_));
    throw InputError(fmt::format("{}: corrupt gzip stream near byte {} ({}).", name_,
                                 raw_.size() - stream_.avail_in, reason));
  }

  std::string_view raw_;
  std::string name_;
  bool gzip_ = false;
  bool ended_ = false;
  size_t plain_at_ = 0;
  z_stream stream_{};
};

/// The dimension sizes after the magic number, checked one by one so that
/// their product can neither overflow nor exceed kMaxElements.
std::vector<int64_t> read_shape(IdxBytes& bytes, int expected_dims, const std::string& name, int64_t& elements) {
  std::vector<int64_t> shape;
  elements = 1;
  for (int d = 0; d < expected_dims; ++d) {
    std::array<uint8_t, 4> be{};
    if (bytes.read(be.data(), 4) != 4)
      throw InputError(fmt::format("{}: truncated: the file ends inside the size of dimension {} (byte {}).", name,
                                   d, 4 + 4 * d));
    const int64_t size = (int64_t(be[0]) << 24) | (int64_t(be[1]) << 16) | (int64_t(be[2]) << 8) | be[3];
    // size < 2^32 and elements <= 2^32 before: the check by division never overflows.
    if (size == 0 || elements > kMaxElements / size)
      throw InputError(fmt::format("{}: implausible size {} for dimension {} (bytes {}-{}).", name, size, d,
                                   4 + 4 * d, 7 + 4 * d));
    elements *= size;
    shape.push_back(size);
  }
  return shape;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the data file.", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw InputError(fmt::format("{}: reading the data file failed.", path));
  return content.str();
}

std::string shape_text(const torch::Tensor& images) {
  return fmt::format("{}x{}", images.size(1), images.size(2));
}

}  // namespace

torch::Tensor parse_idx(std::string_view raw, int expected_dims, const std::string& name) {
  IdxBytes bytes(raw, name);
  std::array<uint8_t, 4> magic{};
  if (bytes.read(magic.data(), 4) != 4)
    throw InputError(fmt::format("{}: truncated: the file ends inside its 4-byte IDX magic number.", name));
  const uint32_t expected_magic = (uint32_t(kUnsignedByteType) << 8) | uint32_t(expected_dims);
  const uint32_t found_magic = (uint32_t(magic[0]) << 24) | (uint32_t(magic[1]) << 16) |
                               (uint32_t(magic[2]) << 8) | uint32_t(magic[3]);
  if (found_magic != expected_magic)
    throw InputError(fmt::format("{}: wrong magic number 0x{:08x} in bytes 0-3 (an IDX file of unsigned bytes "
                                 "with {} dimension(s) starts with 0x{:08x}).",
                                 name, found_magic, expected_dims, expected_magic));
  int64_t elements = 0;
  const auto shape = read_shape(bytes, expected_dims, name, elements);
  const int64_t header = 4 + 4 * int64_t(expected_dims);
  // The data is read in chunks before the tensor is made: a header that
  // promises gigabytes the file does not hold allocates only what is there.
  std::string data;
  int64_t got = 0;
  while (got < elements) {
    data.resize(size_t(std::min(elements, got + kReadChunk)));
    const int64_t want = int64_t(data.size()) - got;
    const int64_t read = bytes.read(data.data() + got, want);
    got += read;
    if (read < want) break;
  }
  if (got != elements)
    throw InputError(fmt::format("{}: truncated: the header promises {} bytes of data after byte {}, but only {} "
                                 "are there.",
                                 name, elements, header, got));
  uint8_t extra = 0;
  if (bytes.read(&extra, 1) != 0)
    throw InputError(fmt::format("{}: longer than its header says: data goes on past byte {}.", name,
                                 header + elements));
  bytes.expect_clean_end();
  auto tensor = torch::empty(shape, torch::kUInt8);
  std::memcpy(tensor.data_ptr(), data.data(), data.size());
  return tensor;
}

torch::Tensor read_idx(const std::string& path, int expected_dims) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError(fmt::format("{}: the data file does not exist.", path));
  return parse_idx(read_file(path), expected_dims, path);
}

std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& directory, FashionMnistSplit split) {
  const std::string prefix = split == FashionMnistSplit::kTrain ? "train" : "t10k";
  const auto images_path = (std::filesystem::path(directory) / (prefix + "-images-idx3-ubyte.gz")).string();
  const auto labels_path = (std::filesystem::path(directory) / (prefix + "-labels-idx1-ubyte.gz")).string();
  auto images = read_idx(images_path, 3);
  // Every model is built for the images' shape; another one (14x56, or a test
  // split of 10x10 beside 28x28 training images) would fail inside the model.
  if (images.size(1) != kImageSide || images.size(2) != kImageSide)
    throw InputError(fmt::format("{}: holds {} images, but Fashion-MNIST's are {}x{} (bytes 8-15 of the header).",
                                 images_path, shape_text(images), kImageSide, kImageSide));
  auto labels = read_idx(labels_path, 1);
  if (images.size(0) != labels.size(0))
    throw InputError(fmt::format("{}: holds {} labels but {} holds {} images.", labels_path, labels.size(0),
                                 images_path, images.size(0)));
  check_class_targets(labels, 10, labels_path);
  auto data = images.to(torch::kFloat32).div_(255.0).sub_(kFashionMnistMean).div_(kFashionMnistStd).unsqueeze(1);
  return std::make_shared<TensorDataset>(data.contiguous(), labels.to(torch::kInt64), 10);
}

}  // namespace cohort::data
