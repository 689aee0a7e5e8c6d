#pragma once
// Fashion-MNIST from its gzip IDX files (Debian's dataset-fashion-mnist).

#include <memory>
#include <string>

#include <torch/types.h>

#include "cohort/data/dataset.h"

namespace cohort::data {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

/// Reads an IDX file of unsigned bytes (gzip-compressed or plain) with
/// `expected_dims` dimensions (3 for images, 1 for labels) into a uint8
/// tensor of the shape its header gives. A missing file, a wrong magic number,
/// an implausible header, or data shorter or longer than the header says
/// raises cohort::InputError naming the file and what is wrong.
torch::Tensor read_idx(const std::string& path, int expected_dims);

enum class FashionMnistSplit { kTrain, kTest };

/// The train (60,000 images) or test (10,000) split from `directory`: images
/// as float32 {N, 1, 28, 28} scaled to [0, 1] and normalised with the training
/// set's mean and standard deviation, labels as int64 in 0..9.
std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& directory, FashionMnistSplit split);

}  // namespace cohort::data
