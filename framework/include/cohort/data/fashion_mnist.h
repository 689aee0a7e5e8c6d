#pragma once
// Fashion-MNIST from its gzip IDX files (Debian's dataset-fashion-mnist).

#include <memory>
#include <string>
#include <string_view>

#include <torch/types.h>

#include "cohort/data/dataset.h"

namespace cohort::data {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

/// Reads an IDX file of unsigned bytes (gzip-compressed or plain) with
/// `expected_dims` dimensions (3 for images, 1 for labels) into a uint8
/// tensor of the shape its header gives. A missing file, a wrong magic number,
/// an implausible header, or data shorter or longer than the header says
/// raises cohort::InputError naming the file and what is wrong; so does a
/// damaged gzip layer: a stream cut short (even in its trailer), a CRC-32 or
/// length mismatch, or bytes after the stream.
torch::Tensor read_idx(const std::string& path, int expected_dims);

/// read_idx() on the file's bytes already in memory, `name` standing for the
/// file in messages (the fuzz target calls this).
torch::Tensor parse_idx(std::string_view raw, int expected_dims, const std::string& name);

enum class FashionMnistSplit { kTrain, kTest };

/// The train (60,000 images) or test (10,000) split from `directory`: images
/// as float32 {N, 1, 28, 28} scaled to [0, 1] and normalised with the training
/// set's mean and standard deviation, labels as int64 in 0..9. Images of
/// another size than 28x28 are refused (cohort::InputError naming the file):
/// the model is built for 28x28.
std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& directory, FashionMnistSplit split);

}  // namespace cohort::data
