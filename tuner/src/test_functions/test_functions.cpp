#include "cohort/tuner/test_functions/test_functions.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "cohort/core/error.h"
#include "common.h"

namespace cohort::tuner {
namespace detail {

double number_at(const Json& config, const std::string& path, const std::string& objective) {
  const auto it = config.find(path);
  if (it == config.end() || !it->is_number())
    throw InputError(fmt::format("{}: the configuration has no number at \"{}\".", objective, path));
  return it->get<double>();
}

void Fnv1a::add(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash_ ^= bytes[i];
    hash_ *= 0x100000001b3ULL;
  }
}

void Fnv1a::add(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  std::array<unsigned char, 8> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(bits >> (8 * i));
  add(bytes.data(), bytes.size());
}

uint64_t evaluation_seed(const Json& config, double budget) {
  Fnv1a hash;
  const std::string text = config.dump();
  hash.add(text.data(), text.size());
  hash.add(budget);
  return hash.value();
}

SearchSpace uniform_box(int dims, double low, double high, const std::string& prefix) {
  SearchSpace space;
  for (int i = 1; i <= dims; ++i) space.add(Parameter::uniform(prefix + std::to_string(i), low, high));
  return space;
}

double branin_value(double x1, double x2, const BraninConstants& k) {
  const double q = x2 - k.b * x1 * x1 + k.c * x1 - 6.0;
  return q * q + 10.0 * (1.0 - k.t) * std::cos(x1) + 10.0;
}

double hartmann6_value(const std::array<double, 6>& x, const std::array<double, 4>& alpha) {
  static constexpr double kA[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                      {0.05, 10, 17, 0.1, 8, 14},
                                      {3, 3.5, 1.7, 10, 17, 8},
                                      {17, 8, 0.05, 10, 0.1, 14}};
  static constexpr double kP[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                      {2329, 4135, 8307, 3736, 1004, 9991},
                                      {2348, 1451, 3522, 2883, 3047, 6650},
                                      {4047, 8828, 8732, 5743, 1091, 381}};
  double sum = 0.0;
  for (int i = 0; i < 4; ++i) {
    double exponent = 0.0;
    for (int j = 0; j < 6; ++j) {
      const double d = x[j] - kP[i][j] * 1e-4;
      exponent += kA[i][j] * d * d;
    }
    sum += alpha[i] * std::exp(-exponent);
  }
  return -sum;
}

std::array<double, 6> hartmann6_point(const Json& config, const std::string& objective) {
  std::array<double, 6> x{};
  for (size_t j = 0; j < x.size(); ++j) x[j] = number_at(config, "x" + std::to_string(j + 1), objective);
  return x;
}

}  // namespace detail

namespace {

using detail::number_at;
using detail::uniform_box;

/// The mean of `samples` Bernoulli(p) draws.
double bernoulli_mean(Rng& rng, double p, int64_t samples) {
  int64_t ones = 0;
  for (int64_t i = 0; i < samples; ++i) ones += rng.bernoulli(p) ? 1 : 0;
  return double(ones) / double(samples);
}

}  // namespace

TestObjective branin() {
  TestObjective objective;
  objective.name = "branin";
  objective.space.add(Parameter::uniform("x1", -5.0, 10.0)).add(Parameter::uniform("x2", 0.0, 15.0));
  objective.optimum = 0.397887357729739;
  objective.min_budget = 1.0;
  objective.max_budget = 243.0;
  objective.evaluate = [](const Json& config, double /*budget*/) {
    return detail::branin_value(number_at(config, "x1", "branin"), number_at(config, "x2", "branin"));
  };
  return objective;
}

TestObjective hartmann6() {
  TestObjective objective;
  objective.name = "hartmann6";
  objective.space = uniform_box(6, 0.0, 1.0);
  objective.optimum = -3.32236801141551;
  objective.min_budget = 1.0;
  objective.max_budget = 243.0;
  objective.evaluate = [](const Json& config, double /*budget*/) {
    return detail::hartmann6_value(detail::hartmann6_point(config, "hartmann6"));
  };
  return objective;
}

TestObjective counting_ones(int categorical, int continuous) {
  if (categorical < 0 || continuous < 0 || categorical + continuous == 0)
    throw std::invalid_argument(
        fmt::format("counting_ones needs at least one parameter, not {} categorical and {} continuous", categorical,
                    continuous));
  TestObjective objective;
  objective.name = fmt::format("counting_ones_{}_{}", categorical, continuous);
  for (int i = 1; i <= categorical; ++i) objective.space.add(Parameter::choice("c" + std::to_string(i), {0, 1}));
  const SearchSpace box = uniform_box(continuous, 0.0, 1.0);
  for (const auto& parameter : box.parameters()) objective.space.add(parameter);
  objective.optimum = -double(categorical + continuous);
  objective.min_budget = 9.0;
  objective.max_budget = 729.0;
  const std::string name = objective.name;
  objective.evaluate = [categorical, continuous, name](const Json& config, double budget) {
    if (!std::isfinite(budget)) throw std::invalid_argument(fmt::format("{}: the budget must be finite", name));
    // Seeded by what is evaluated, so repeating an evaluation repeats its noise.
    Rng rng(detail::evaluation_seed(config, budget));
    const auto samples = std::max<int64_t>(1, std::llround(budget));
    double total = 0.0;
    for (int i = 1; i <= categorical; ++i) total += number_at(config, "c" + std::to_string(i), name);
    for (int j = 1; j <= continuous; ++j)
      total += bernoulli_mean(rng, number_at(config, "x" + std::to_string(j), name), samples);
    return -total;
  };
  return objective;
}

}  // namespace cohort::tuner
