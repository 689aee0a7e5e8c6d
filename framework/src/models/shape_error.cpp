#include "cohort/models/shape_error.h"

#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "cohort/models/staged.h"

namespace cohort::models {
namespace {

std::string first_line(const std::string& message) {
  const auto end = message.find('\n');
  return end == std::string::npos ? message : message.substr(0, end);
}

/// What a layer needs of its input: `size` along dimension `dim` (-1: the
/// last), set by its option `option`, e.g. {"in_features", -1, 1024}.
struct Expectation {
  const char* option;
  int64_t dim;
  int64_t size;
};

template <typename Conv>
std::optional<Expectation> conv_expectation(const torch::nn::Module& layer) {
  if (const auto* conv = dynamic_cast<const Conv*>(&layer))
    return Expectation{"in_channels", 1, conv->options.in_channels()};
  return std::nullopt;
}

/// Nothing for layers whose needs are not one size.
std::optional<Expectation> expectation(const torch::nn::Module& layer) {
  if (const auto* linear = dynamic_cast<const torch::nn::LinearImpl*>(&layer))
    return Expectation{"in_features", -1, linear->options.in_features()};
  if (auto conv = conv_expectation<torch::nn::Conv1dImpl>(layer)) return conv;
  if (auto conv = conv_expectation<torch::nn::Conv2dImpl>(layer)) return conv;
  return conv_expectation<torch::nn::Conv3dImpl>(layer);
}

std::string layer_name(const std::map<const torch::nn::Module*, std::string>& paths, const torch::nn::Module& layer,
                       size_t index) {
  const auto it = paths.find(&layer);
  const auto path = it != paths.end() ? "\"" + it->second + "\"" : fmt::format("{}", index);
  return fmt::format("layer {} ({})", path, short_type_name(layer));
}

/// The sentence for layer `index` of `layers` failing on `input`.
std::string describe_layer(const torch::nn::Module& model, const torch::nn::Sequential& layers, size_t index,
                           const torch::Tensor& input, const std::string& message, const std::string& input_name) {
  const auto named = module_paths(model);
  const auto& layer = *layers->ptr(index);
  const auto where = layer_name(named, layer, index);
  const auto before = index == 0 ? input_name
                                 : layer_name(named, *layers->ptr(index - 1), index - 1) + "'s output";
  const auto needs = expectation(layer);
  if (!needs)
    return fmt::format("the model's {} fails on {} of shape {}: {}", where, before, shape_string(input),
                       first_line(message));
  std::string fix;
  if (input.dim() > 0) {
    const auto dim = needs->dim < 0 ? input.dim() - 1 : needs->dim;
    if (dim < input.dim() && input.size(dim) != needs->size)
      fix = fmt::format("; build it with {} {} or change the layers before it", needs->option, input.size(dim));
  }
  return fmt::format("the model's {} expects {} {} but gets {} from {}{}.", where, needs->option, needs->size,
                     shape_string(input), before, fix);
}

}  // namespace

std::string short_type_name(const torch::nn::Module& module) {
  auto name = module.name();
  if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) name.resize(name.size() - 4);
  return name;
}

std::map<const torch::nn::Module*, std::string> module_paths(const torch::nn::Module& model) {
  std::map<const torch::nn::Module*, std::string> found;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) found[item.value().get()] = item.key();
  return found;
}

bool looks_like_shape_error(const std::string& message) {
  for (const char* words : {"shape", "size", "Expected", "expected input"})
    if (message.find(words) != std::string::npos) return true;
  return false;
}

std::string shape_string(const torch::Tensor& tensor) { return fmt::format("[{}]", fmt::join(tensor.sizes(), ", ")); }

std::string describe_forward_error(const torch::nn::AnyModule& model, const torch::Tensor& input,
                                   const std::string& message) {
  const auto module = model.ptr();
  const auto fallback = fmt::format("the model ({}) fails on an input of shape {}: {}", short_type_name(*module),
                                    shape_string(input), first_line(message));
  torch::nn::Sequential layers;
  try {
    layers = layers_of(model);
  } catch (const std::exception&) {
    return fallback;  // its layers are unknown: LibTorch's words are all there is
  }
  const auto sentence = describe_layers_error(*module, layers, input);
  return sentence.empty() ? fallback : sentence;
}

std::string describe_layers_error(const torch::nn::Module& model, const torch::nn::Sequential& layers,
                                  const torch::Tensor& input, const std::string& input_name) {
  // Run again layer by layer to find the one that fails; eval mode and no
  // gradients, so nothing (running statistics, RNG, autograd) changes.
  auto& module = const_cast<torch::nn::Module&>(model);
  const bool training = module.is_training();
  module.eval();
  torch::NoGradGuard no_grad;
  std::string sentence;
  auto x = input.detach();
  size_t index = 0;
  auto sequence = layers;  // a holder: the same modules, callable
  for (auto& layer : *sequence) {
    try {
      const auto parameters = layer.ptr()->parameters();
      if (!parameters.empty()) x = x.to(parameters.front().device());
      x = layer.forward(x);
    } catch (const c10::Error& error) {
      sentence = describe_layer(model, layers, index, x, error.what_without_backtrace(), input_name);
      break;
    }
    ++index;
  }
  module.train(training);
  return sentence;
}

}  // namespace cohort::models
