#include "cohort/models/summary.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "cohort/memory/memory_report.h"
#include "cohort/models/shape_error.h"
#include "cohort/models/staged.h"

namespace cohort::models {
namespace {

void count_parameters(const torch::nn::Module& module, LayerSummary& row) {
  for (const auto& parameter : module.parameters())
    (parameter.requires_grad() ? row.trainable : row.frozen) += parameter.numel();
}

/// Rows of the layers run one after another on `input`.
std::vector<LayerSummary> layer_rows(const torch::nn::Module& model, torch::nn::Sequential layers,
                                     torch::Tensor input) {
  const auto paths = module_paths(model);
  std::vector<LayerSummary> rows;
  for (auto& layer : *layers) {
    input = layer.forward(input);
    LayerSummary row;
    const auto found = paths.find(layer.ptr().get());
    row.path = found != paths.end() ? found->second : std::to_string(rows.size());
    row.type = short_type_name(*layer.ptr());
    row.output_shape = input.sizes().vec();
    row.activation_bytes = input.numel() * static_cast<int64_t>(input.element_size());
    count_parameters(*layer.ptr(), row);
    rows.push_back(std::move(row));
  }
  return rows;
}

/// Rows of the model's direct submodules, for a model whose forward is unknown.
std::vector<LayerSummary> submodule_rows(const torch::nn::Module& model) {
  std::vector<LayerSummary> rows;
  for (const auto& child : model.named_children()) {
    LayerSummary row;
    row.path = child.key();
    row.type = short_type_name(*child.value());
    count_parameters(*child.value(), row);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string thousands(int64_t n) {
  auto digits = std::to_string(n);
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(size_t(i), ",");
  return digits;
}

}  // namespace

int64_t ModelSummary::step_bytes(int64_t optimizer_states) const {
  return parameter_bytes + trainable_bytes * (1 + optimizer_states) + activation_bytes;
}

ModelSummary summary(const torch::nn::AnyModule& module, const torch::Tensor& example_batch) {
  const auto model = module.ptr();
  ModelSummary result;
  result.type = short_type_name(*model);
  result.input_shape = example_batch.sizes().vec();
  for (const auto& parameter : model->parameters()) {
    const auto bytes = parameter.numel() * static_cast<int64_t>(parameter.element_size());
    (parameter.requires_grad() ? result.trainable : result.frozen) += parameter.numel();
    result.parameter_bytes += bytes;
    if (parameter.requires_grad()) result.trainable_bytes += bytes;
  }
  torch::nn::Sequential layers{nullptr};
  try {
    layers = layers_of(module);
  } catch (const std::exception&) {
    result.rows = submodule_rows(*model);  // its forward cannot be followed layer by layer
    return result;
  }
  // Eval mode, no gradients, the generator restored: nothing the run that
  // follows sees is changed (running statistics, RNG, autograd).
  auto generator = at::globalContext().defaultGenerator(torch::kCPU);
  const auto rng = generator.get_state();
  const bool training = model->is_training();
  model->eval();
  try {
    torch::NoGradGuard no_grad;
    result.rows = layer_rows(*model, layers, example_batch);
  } catch (...) {
    model->train(training);
    generator.set_state(rng);
    throw;
  }
  model->train(training);
  generator.set_state(rng);
  result.by_layer = true;
  for (const auto& row : result.rows) result.activation_bytes += row.activation_bytes;
  return result;
}

std::string ModelSummary::format(const SummaryOptions& options) const {
  std::string text = fmt::format("{} on input [{}]\n", type, fmt::join(input_shape, ", "));
  text += fmt::format("{:<24} {:<12} {:<20} {:>12} {:>10} {:>12}\n", by_layer ? "layer" : "submodule", "type",
                      by_layer ? "output shape" : "", "trainable", "frozen", by_layer ? "activations" : "");
  for (const auto& row : rows)
    text += fmt::format("{:<24} {:<12} {:<20} {:>12} {:>10} {:>12}\n", row.path, row.type,
                        by_layer ? fmt::format("[{}]", fmt::join(row.output_shape, ", ")) : "",
                        thousands(row.trainable), thousands(row.frozen),
                        by_layer ? memory::format_bytes(double(row.activation_bytes)) : "");
  text += fmt::format("parameters: {} trainable, {} frozen; model size {}\n", thousands(trainable),
                      thousands(frozen), memory::format_bytes(double(parameter_bytes)));
  const auto step = step_bytes(options.optimizer_states());
  text += fmt::format("a training step needs about {}: weights {}, gradients {}, optimizer state {} ({} per "
                      "parameter), activations {}",
                      memory::format_bytes(double(step)), memory::format_bytes(double(parameter_bytes)),
                      memory::format_bytes(double(trainable_bytes)),
                      memory::format_bytes(double(trainable_bytes * options.optimizer_states())),
                      options.optimizer_states(),
                      by_layer ? memory::format_bytes(double(activation_bytes)) : "unknown (layers not known)");
  if (options.device_bytes() > 0)
    text += fmt::format("\n{} has {}: the step needs {:.1f}% of it", options.device(),
                        memory::format_bytes(options.device_bytes()), 100.0 * double(step) / options.device_bytes());
  return text + "\n";
}

}  // namespace cohort::models
