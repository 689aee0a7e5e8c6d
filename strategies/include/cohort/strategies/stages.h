#pragma once
// Cutting a model's layers (models::layers_of) into consecutive stages, one
// per device (model_parallel) or per rank (pipeline).

#include <cstdint>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

namespace cohort::strategies {

/// How many layers each of `stages` stages gets, first stage first.
/// With `balance` given, it is checked (one entry per stage, each >= 1, adding
/// up to the number of layers; otherwise cohort::InputError naming "balance")
/// and returned. Without it, consecutive layers are grouped so that the
/// largest stage's parameter count is as small as possible (layers without
/// parameters count as one element, so they spread too); every stage gets at
/// least one layer. Throws InputError when there are fewer layers than stages.
std::vector<int64_t> balance_stages(const torch::nn::Sequential& layers, int64_t stages,
                                    const std::vector<int64_t>& balance = {});

/// The stages themselves: Sequentials over the same layer modules (shared,
/// not copied), `balance[i]` layers in stage i.
std::vector<torch::nn::Sequential> split_stages(const torch::nn::Sequential& layers,
                                                const std::vector<int64_t>& balance);

}  // namespace cohort::strategies
