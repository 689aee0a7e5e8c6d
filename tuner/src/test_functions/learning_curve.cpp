#include "cohort/tuner/test_functions/learning_curve.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "common.h"

namespace cohort::tuner {
namespace {

constexpr size_t kFeatures = 8, kTrain = 256, kValidation = 1024;
constexpr double kDivergedLoss = 10.0;
constexpr uint64_t kDataSeed = 20261206, kInitSeed = 7, kShuffleSeed = 11;
const char* const kName = "learning_curve";

/// Features and 0/1 labels, one row per example.
struct Data {
  std::vector<double> x;  // n x kFeatures
  std::vector<double> y;  // n
  size_t size() const { return y.size(); }
};

/// A fixed task: the label is the sign of a nonlinear function of the first
/// four features plus noise (the other four are distractors), so a model
/// needs hidden units and can overfit the noise.
Data make_data(size_t n, Rng& rng) {
  Data data;
  for (size_t i = 0; i < n; ++i) {
    double f[kFeatures];
    for (double& v : f) v = rng.normal();
    data.x.insert(data.x.end(), f, f + kFeatures);
    const double score = std::sin(2.0 * f[0]) + f[1] * f[2] - 0.5 * f[3] * f[3] + 0.5 + 0.6 * rng.normal();
    data.y.push_back(score > 0.0 ? 1.0 : 0.0);
  }
  return data;
}

/// The task, drawn once.
struct Task {
  Data train, validation;
};
const Task& task() {
  static const Task instance = [] {
    Rng rng(kDataSeed);
    Task t;
    t.train = make_data(kTrain, rng);
    t.validation = make_data(kValidation, rng);
    return t;
  }();
  return instance;
}

/// The MLP's parameters and their momentum buffers, all in one vector:
/// W1 (width x features), b1 (width), w2 (width), b2.
class Mlp {
 public:
  explicit Mlp(size_t width) : width_(width), params_(size(width)), velocity_(size(width)), grad_(size(width)) {
    Rng rng(kInitSeed + width);
    const double scale1 = 1.0 / std::sqrt(double(kFeatures)), scale2 = 1.0 / std::sqrt(double(width));
    for (size_t i = 0; i < width * kFeatures; ++i) params_[i] = scale1 * rng.normal();
    for (size_t j = 0; j < width; ++j) params_[w2() + j] = scale2 * rng.normal();
  }

  /// One SGD step with momentum and (L2) weight decay on the examples `rows`.
  void step(const Data& data, const size_t* rows, size_t count, double lr, double momentum, double decay) {
    std::fill(grad_.begin(), grad_.end(), 0.0);
    for (size_t r = 0; r < count; ++r) accumulate(data, rows[r], 1.0 / double(count));
    for (size_t i = 0; i < params_.size(); ++i) {
      velocity_[i] = momentum * velocity_[i] + grad_[i] + decay * params_[i];
      params_[i] -= lr * velocity_[i];
    }
  }

  /// The mean cross-entropy on `data`.
  double loss(const Data& data) {
    double total = 0.0;
    for (size_t i = 0; i < data.size(); ++i) {
      const double logit = forward(data.x.data() + i * kFeatures);
      // log(1 + exp(-s)) with s = +-logit, stable for large |logit|.
      const double s = data.y[i] > 0.5 ? logit : -logit;
      total += std::max(-s, 0.0) + std::log1p(std::exp(-std::abs(s)));
    }
    return total / double(data.size());
  }

 private:
  static size_t size(size_t width) { return width * kFeatures + 2 * width + 1; }
  size_t b1() const { return width_ * kFeatures; }
  size_t w2() const { return b1() + width_; }
  size_t b2() const { return w2() + width_; }

  /// The output logit; keeps the hidden activations for accumulate().
  double forward(const double* x) {
    hidden_.resize(width_);
    double logit = params_[b2()];
    for (size_t j = 0; j < width_; ++j) {
      const double* w = params_.data() + j * kFeatures;
      double a = params_[b1() + j];
      for (size_t k = 0; k < kFeatures; ++k) a += w[k] * x[k];
      hidden_[j] = std::tanh(a);
      logit += params_[w2() + j] * hidden_[j];
    }
    return logit;
  }

  /// Adds scale times the gradient of example i's cross-entropy to grad_.
  void accumulate(const Data& data, size_t i, double scale) {
    const double* x = data.x.data() + i * kFeatures;
    const double p = 1.0 / (1.0 + std::exp(-forward(x)));
    const double d_logit = scale * (p - data.y[i]);
    grad_[b2()] += d_logit;
    for (size_t j = 0; j < width_; ++j) {
      grad_[w2() + j] += d_logit * hidden_[j];
      const double d_a = d_logit * params_[w2() + j] * (1.0 - hidden_[j] * hidden_[j]);
      grad_[b1() + j] += d_a;
      double* g = grad_.data() + j * kFeatures;
      for (size_t k = 0; k < kFeatures; ++k) g[k] += d_a * x[k];
    }
  }

  size_t width_;
  std::vector<double> params_, velocity_, grad_, hidden_;
};

/// The training examples in epoch `epoch`'s order: a Fisher-Yates shuffle seeded by the epoch alone.
std::vector<size_t> epoch_order(size_t epoch) {
  std::vector<size_t> order(kTrain);
  std::iota(order.begin(), order.end(), size_t(0));
  Rng rng(kShuffleSeed + epoch);
  for (size_t i = kTrain - 1; i > 0; --i) std::swap(order[i], order[size_t(rng.below(i + 1))]);
  return order;
}

double train(const Json& config, double budget) {
  using detail::number_at;
  const double lr = number_at(config, "lr", kName), decay = number_at(config, "weight_decay", kName);
  const double momentum = number_at(config, "momentum", kName);
  const auto width = size_t(std::max(1.0, number_at(config, "width", kName)));
  const auto batch = size_t(std::max(1.0, number_at(config, "batch_size", kName)));
  const auto epochs = size_t(std::max<long long>(1, std::llround(budget)));
  const Task& data = task();
  Mlp model(width);
  for (size_t epoch = 0; epoch < epochs; ++epoch) {
    const auto order = epoch_order(epoch);
    for (size_t start = 0; start < kTrain; start += batch)
      model.step(data.train, order.data() + start, std::min(batch, kTrain - start), lr, momentum, decay);
  }
  const double loss = model.loss(data.validation);
  return std::isfinite(loss) ? std::min(loss, kDivergedLoss) : kDivergedLoss;
}

}  // namespace

TestObjective learning_curve() {
  TestObjective objective;
  objective.name = kName;
  objective.space.add(Parameter::log_uniform("lr", 1e-3, 1.0))
      .add(Parameter::log_uniform("weight_decay", 1e-6, 1e-1))
      .add(Parameter::integer("width", 2, 64, true))
      .add(Parameter::uniform("momentum", 0.0, 0.95))
      .add(Parameter::choice("batch_size", {8, 16, 32, 64}));
  objective.optimum = 0.0;
  objective.min_budget = 1.0;
  objective.max_budget = 81.0;
  objective.evaluate = [](const Json& config, double budget) {
    if (!std::isfinite(budget)) throw std::invalid_argument("learning_curve: the budget must be finite");
    return train(config, budget);
  };
  return objective;
}

}  // namespace cohort::tuner
