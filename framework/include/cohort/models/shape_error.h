#pragma once
// Shape errors that say where. LibTorch reports a wrong layer size as e.g.
// "mat1 and mat2 shapes cannot be multiplied (64x3136 and 1024x10)", with no
// layer named; this turns it into a sentence naming the layer, what it
// expects, what it got and from which layer.

#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include <c10/util/Exception.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

namespace cohort::models {

/// One sentence on why `model` failed on `input` with LibTorch's `message`.
/// A model whose layers are known (models::layers_of) is run again layer by
/// layer, without gradients and in eval mode, to find the failing one; any
/// other model gets the message's first line after the model's type. Only for
/// the path of an error: it runs the model again.
std::string describe_forward_error(const torch::nn::AnyModule& model, const torch::Tensor& input,
                                   const std::string& message);

/// Whether LibTorch's `message` reads like a size mismatch (and not, say, a
/// CUDA error, after which running the model again is no use).
bool looks_like_shape_error(const std::string& message);

/// describe_forward_error for a part of a model: `layers` (a stage of it, say)
/// run on `input`, each layer named by its path in `model`; `input_name` says
/// where the input came from ("the model's input", "stage 1's input"). Each
/// layer gets the input on the device of its parameters, so layers spread over
/// several devices are run where they live. "" when no layer fails alone.
std::string describe_layers_error(const torch::nn::Module& model, const torch::nn::Sequential& layers,
                                  const torch::Tensor& input, const std::string& input_name = "the model's input");

/// Runs `forward`; a size mismatch in it is thrown again as a
/// std::runtime_error with the sentence `describe(LibTorch's message)` gives
/// (called only then). Free on the path without an error; out-of-memory
/// errors and other LibTorch errors pass unchanged.
template <typename Forward, typename Describe>
torch::Tensor explain_shape_errors_with(Forward&& forward, Describe&& describe) {
  try {
    return forward();
  } catch (const c10::OutOfMemoryError&) {
    throw;
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    if (!looks_like_shape_error(message)) throw;
    throw std::runtime_error(describe(message));
  }
}

/// explain_shape_errors_with describe_forward_error on the tensor `input()`
/// returns (called only on a size mismatch).
template <typename Forward, typename Input>
torch::Tensor explain_shape_errors(const torch::nn::AnyModule& model, Input&& input, Forward&& forward) {
  return explain_shape_errors_with(std::forward<Forward>(forward), [&](const std::string& message) {
    return describe_forward_error(model, input(), message);
  });
}

/// "Linear" for torch::nn::LinearImpl, "Cnn" for cohort::models::CnnImpl.
std::string short_type_name(const torch::nn::Module& module);

/// Each submodule's dotted path in `model` ("classifier.0"); layers a Staged
/// model adds of its own (the Flatten of mlp and cnn) have none.
std::map<const torch::nn::Module*, std::string> module_paths(const torch::nn::Module& model);

/// "[64, 3136]".
std::string shape_string(const torch::Tensor& tensor);

}  // namespace cohort::models
