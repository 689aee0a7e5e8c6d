#include "gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace cohort::tuner::detail {
namespace {

const double kSqrt5 = std::sqrt(5.0);
const double kLog2Pi = std::log(2.0 * M_PI);

/// A bounded log-space hyperparameter with a normal prior on its log.
struct LogPrior {
  double low, high;  // bounds of the log
  double centre, width;
  double clamp(double v) const { return std::clamp(v, low, high); }
  double log_density(double v) const { return -0.5 * (v - centre) * (v - centre) / (width * width); }
  double gradient(double v) const { return -(v - centre) / (width * width); }
};

// Unit coordinates: a lengthscale from a hundredth of the range (a spike)
// to a hundred ranges (the coordinate does not matter), centred on half the
// range. The targets are standardised, so the signal variance sits near 1.
// The noise is floored at 1e-6 of the targets' variance (a deterministic
// objective still gets a factorisable matrix) and its prior leans towards a
// thousandth: the likelihood has to show the noise before it is believed.
const LogPrior kLengthscale{std::log(1e-2), std::log(1e2), std::log(0.5), 1.5};
const LogPrior kSignal{std::log(1e-2), std::log(1e2), 0.0, 1.5};
const LogPrior kNoise{std::log(1e-6), std::log(1.0), std::log(1e-3), 3.0};

// The factorisation's jitter: none first, then 1e-9 of the diagonal growing tenfold to 1e-3.
constexpr double kFirstJitter = 1e-9, kLastJitter = 1e-3;

// L-BFGS: remembered steps, the Armijo constant, and the backtracking's floor.
constexpr size_t kMemory = 6;
constexpr double kArmijo = 1e-4;
constexpr double kSmallestStep = 1e-8;
// A fit stops when an iteration improves the objective by less than this.
constexpr double kTolerance = 1e-7;

/// Squared scaled distance between row a of `x` and row b of `y`.
double squared_distance(const GpData& x, size_t a, const GpData& y, size_t b, const std::vector<double>& inv_l2) {
  double r2 = 0.0;
  const double* ua = x.units.data() + a * x.gaussian;
  const double* ub = y.units.data() + b * y.gaussian;
  for (size_t d = 0; d < x.gaussian; ++d) r2 += (ua[d] - ub[d]) * (ua[d] - ub[d]) * inv_l2[d];
  const size_t* ca = x.categories.data() + a * x.categorical;
  const size_t* cb = y.categories.data() + b * y.categorical;
  for (size_t d = 0; d < x.categorical; ++d) r2 += ca[d] != cb[d] ? inv_l2[x.gaussian + d] : 0.0;
  return r2;
}

/// Matérn 5/2 at squared distance r2, unit signal variance.
double matern52(double r2) {
  const double r = std::sqrt(r2);
  return (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}

std::vector<double> inverse_squared(const std::vector<double>& log_lengthscales) {
  std::vector<double> out;
  for (const double l : log_lengthscales) out.push_back(std::exp(-2.0 * l));
  return out;
}

/// The kernel matrix of `data` (noise on the diagonal), n x n, full.
std::vector<double> kernel_matrix(const GpData& data, const GpHyperparameters& h, const std::vector<double>& inv_l2) {
  const size_t n = data.size();
  const double signal = std::exp(h.log_signal), noise = std::exp(h.log_noise);
  std::vector<double> k(n * n);
  for (size_t i = 0; i < n; ++i) {
    k[i * n + i] = signal + noise;
    for (size_t j = 0; j < i; ++j)
      k[i * n + j] = k[j * n + i] = signal * matern52(squared_distance(data, i, data, j, inv_l2));
  }
  return k;
}

/// In-place Cholesky of the n x n matrix `a` (lower triangle); false when not positive definite.
bool cholesky(std::vector<double>& a, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double diagonal = a[j * n + j];
    for (size_t k = 0; k < j; ++k) diagonal -= a[j * n + k] * a[j * n + k];
    if (!(diagonal > 0.0)) return false;
    const double root = std::sqrt(diagonal);
    a[j * n + j] = root;
    for (size_t i = j + 1; i < n; ++i) {
      double value = a[i * n + j];
      for (size_t k = 0; k < j; ++k) value -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = value / root;
    }
  }
  return true;
}

/// The Cholesky factor of `k`, adding jitter in growing steps when needed;
/// false when even kLastJitter fails.
bool factorise(const std::vector<double>& k, size_t n, std::vector<double>& factor) {
  double scale = 0.0;
  for (size_t i = 0; i < n; ++i) scale = std::max(scale, k[i * n + i]);
  for (double jitter = 0.0; jitter <= kLastJitter * scale;
       jitter = jitter == 0.0 ? kFirstJitter * scale : jitter * 10) {
    factor = k;
    for (size_t i = 0; i < n; ++i) factor[i * n + i] += jitter;
    if (cholesky(factor, n)) return true;
  }
  return false;
}

/// Solves L x = b in place (L lower triangular).
void solve_lower(const std::vector<double>& l, size_t n, double* b) {
  for (size_t i = 0; i < n; ++i) {
    double value = b[i];
    for (size_t k = 0; k < i; ++k) value -= l[i * n + k] * b[k];
    b[i] = value / l[i * n + i];
  }
}

/// Solves L^T x = b in place.
void solve_upper(const std::vector<double>& l, size_t n, double* b) {
  for (size_t i = n; i-- > 0;) {
    double value = b[i];
    for (size_t k = i + 1; k < n; ++k) value -= l[k * n + i] * b[k];
    b[i] = value / l[i * n + i];
  }
}

/// K^-1 y from K's factor.
std::vector<double> solve(const std::vector<double>& l, size_t n, std::vector<double> y) {
  solve_lower(l, n, y.data());
  solve_upper(l, n, y.data());
  return y;
}

/// K^-1 from K's factor: L^-1 column by column, then L^-T L^-1.
std::vector<double> inverse(const std::vector<double>& l, size_t n) {
  std::vector<double> li(n * n, 0.0);  // L^-1, lower triangular
  for (size_t j = 0; j < n; ++j) {
    li[j * n + j] = 1.0 / l[j * n + j];
    for (size_t i = j + 1; i < n; ++i) {
      double value = 0.0;
      for (size_t k = j; k < i; ++k) value -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = value / l[i * n + i];
    }
  }
  std::vector<double> out(n * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j <= i; ++j) {
      double value = 0.0;
      for (size_t k = i; k < n; ++k) value += li[k * n + i] * li[k * n + j];
      out[i * n + j] = out[j * n + i] = value;
    }
  return out;
}

/// The generalised-least-squares constant mean, and alpha = K^-1 (y - mean).
double constant_mean(const std::vector<double>& l, size_t n, const std::vector<double>& y, std::vector<double>& alpha) {
  const std::vector<double> ones = solve(l, n, std::vector<double>(n, 1.0));
  alpha = solve(l, n, y);
  const double mean = std::accumulate(alpha.begin(), alpha.end(), 0.0) / std::accumulate(ones.begin(), ones.end(), 0.0);
  for (size_t i = 0; i < n; ++i) alpha[i] -= mean * ones[i];
  return mean;
}

/// The hyperparameters as one vector (lengthscales, signal, noise) and back.
std::vector<double> flatten(const GpHyperparameters& h) {
  std::vector<double> theta = h.log_lengthscales;
  theta.push_back(h.log_signal);
  theta.push_back(h.log_noise);
  return theta;
}

GpHyperparameters unflatten(const std::vector<double>& theta) {
  GpHyperparameters h;
  h.log_lengthscales.assign(theta.begin(), theta.end() - 2);
  h.log_signal = theta[theta.size() - 2];
  h.log_noise = theta.back();
  return h;
}

const LogPrior& prior_of(size_t index, size_t count) {
  return index + 2 < count ? kLengthscale : index + 2 == count ? kSignal : kNoise;
}

void clamp_to_bounds(std::vector<double>& theta) {
  for (size_t i = 0; i < theta.size(); ++i) theta[i] = prior_of(i, theta.size()).clamp(theta[i]);
}

/// The gradient of the log marginal likelihood: 0.5 tr((a a^T - K^-1) dK/dtheta).
std::vector<double> likelihood_gradient(const GpData& data, const GpHyperparameters& h,
                                        const std::vector<double>& inv_l2, const std::vector<double>& alpha,
                                        const std::vector<double>& k_inverse) {
  const size_t n = data.size(), coordinates = inv_l2.size();
  const double signal = std::exp(h.log_signal), noise = std::exp(h.log_noise);
  std::vector<double> gradient(coordinates + 2, 0.0);
  double& signal_gradient = gradient[coordinates];
  for (size_t i = 0; i < n; ++i) {
    const double w_ii = alpha[i] * alpha[i] - k_inverse[i * n + i];
    signal_gradient += 0.5 * w_ii * signal;
    gradient[coordinates + 1] += 0.5 * w_ii * noise;
    const double* ui = data.units.data() + i * data.gaussian;
    const size_t* ci = data.categories.data() + i * data.categorical;
    for (size_t j = 0; j < i; ++j) {
      // Each off-diagonal pair counts twice in the trace, which cancels the 0.5.
      const double w = alpha[i] * alpha[j] - k_inverse[i * n + j];
      const double r2 = squared_distance(data, i, data, j, inv_l2), r = std::sqrt(r2);
      const double decay = std::exp(-kSqrt5 * r);
      signal_gradient += w * signal * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * decay;
      // d k / d log l_d = signal 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (delta_d^2 / l_d^2).
      const double common = w * signal * 5.0 / 3.0 * (1.0 + kSqrt5 * r) * decay;
      const double* uj = data.units.data() + j * data.gaussian;
      const size_t* cj = data.categories.data() + j * data.categorical;
      for (size_t d = 0; d < data.gaussian; ++d) gradient[d] += common * (ui[d] - uj[d]) * (ui[d] - uj[d]) * inv_l2[d];
      for (size_t d = 0; d < data.categorical; ++d)
        if (ci[d] != cj[d]) gradient[data.gaussian + d] += common * inv_l2[data.gaussian + d];
    }
  }
  return gradient;
}

/// -log_posterior at theta and its gradient (the minimised objective).
double negative(const GpData& data, const std::vector<double>& theta, std::vector<double>& gradient) {
  const double value = log_posterior(data, unflatten(theta), &gradient);
  for (double& g : gradient) g = -g;
  return -value;
}

/// The L-BFGS direction -H g from the remembered steps s and gradient changes y.
std::vector<double> direction(const std::vector<double>& g, const std::vector<std::vector<double>>& s,
                              const std::vector<std::vector<double>>& y) {
  auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
    return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  };
  std::vector<double> q = g, rho(s.size()), a(s.size());
  for (size_t k = s.size(); k-- > 0;) {
    rho[k] = 1.0 / dot(y[k], s[k]);
    a[k] = rho[k] * dot(s[k], q);
    for (size_t i = 0; i < q.size(); ++i) q[i] -= a[k] * y[k][i];
  }
  const double gamma = s.empty() ? 1.0 : dot(s.back(), y.back()) / dot(y.back(), y.back());
  for (double& v : q) v *= gamma;
  for (size_t k = 0; k < s.size(); ++k) {
    const double b = rho[k] * dot(y[k], q);
    for (size_t i = 0; i < q.size(); ++i) q[i] += (a[k] - b) * s[k][i];
  }
  for (double& v : q) v = -v;
  return q;
}

/// Minimises `negative` from theta (projected onto the bounds) for at most
/// `iterations` L-BFGS steps; returns the value reached, theta updated.
double minimise(const GpData& data, std::vector<double>& theta, size_t iterations) {
  clamp_to_bounds(theta);
  std::vector<double> gradient;
  double value = negative(data, theta, gradient);
  if (!std::isfinite(value)) return value;
  std::vector<std::vector<double>> s, y;
  for (size_t it = 0; it < iterations; ++it) {
    std::vector<double> p = direction(gradient, s, y);
    double slope = std::inner_product(p.begin(), p.end(), gradient.begin(), 0.0);
    if (!(slope < 0.0)) {  // not a descent direction: restart from steepest descent
      s.clear(), y.clear();
      p = gradient;
      for (double& v : p) v = -v;
      slope = -std::inner_product(p.begin(), p.end(), p.begin(), 0.0);
      if (slope == 0.0) break;
    }
    // The first step of a fresh memory is at most 1 in log space.
    double step = s.empty() ? std::min(1.0, 1.0 / std::sqrt(-slope)) : 1.0;
    std::vector<double> next, next_gradient;
    double next_value = std::numeric_limits<double>::infinity();
    for (; step >= kSmallestStep; step *= 0.5) {
      next = theta;
      for (size_t i = 0; i < next.size(); ++i) next[i] += step * p[i];
      clamp_to_bounds(next);
      next_value = negative(data, next, next_gradient);
      if (std::isfinite(next_value) && next_value <= value + kArmijo * step * slope) break;
    }
    if (step < kSmallestStep) break;
    std::vector<double> ds(theta.size()), dy(theta.size());
    for (size_t i = 0; i < theta.size(); ++i) ds[i] = next[i] - theta[i], dy[i] = next_gradient[i] - gradient[i];
    const bool improved_enough = value - next_value > kTolerance;
    theta = next, gradient = next_gradient, value = next_value;
    if (!improved_enough) break;
    // Only curvature pairs that keep the inverse Hessian positive definite (a clamp can break that).
    if (std::inner_product(ds.begin(), ds.end(), dy.begin(), 0.0) > 1e-12) {
      s.push_back(ds), y.push_back(dy);
      if (s.size() > kMemory) s.erase(s.begin()), y.erase(y.begin());
    }
  }
  return value;
}

}  // namespace

void GpData::add(const double* row_units, const size_t* row_categories, double target) {
  units.insert(units.end(), row_units, row_units + gaussian);
  categories.insert(categories.end(), row_categories, row_categories + categorical);
  targets.push_back(target);
}

GpHyperparameters GpHyperparameters::prior_centre(size_t coordinates) {
  return {std::vector<double>(coordinates, kLengthscale.centre), kSignal.centre, kNoise.centre};
}

double log_posterior(const GpData& data, const GpHyperparameters& h, std::vector<double>* gradient) {
  const size_t n = data.size();
  const auto inv_l2 = inverse_squared(h.log_lengthscales);
  std::vector<double> factor;
  if (!factorise(kernel_matrix(data, h, inv_l2), n, factor)) return -std::numeric_limits<double>::infinity();
  std::vector<double> alpha;
  const double mean = constant_mean(factor, n, data.targets, alpha);
  double value = -0.5 * double(n) * kLog2Pi;
  for (size_t i = 0; i < n; ++i) value += -0.5 * (data.targets[i] - mean) * alpha[i] - std::log(factor[i * n + i]);
  const std::vector<double> theta = flatten(h);
  for (size_t i = 0; i < theta.size(); ++i) value += prior_of(i, theta.size()).log_density(theta[i]);
  if (gradient) {
    // The mean is the likelihood's maximiser for these hyperparameters, so
    // its own dependence on them drops out of the gradient.
    *gradient = likelihood_gradient(data, h, inv_l2, alpha, inverse(factor, n));
    for (size_t i = 0; i < theta.size(); ++i) (*gradient)[i] += prior_of(i, theta.size()).gradient(theta[i]);
  }
  return value;
}

GpHyperparameters fit_hyperparameters(const GpData& data, const std::vector<GpHyperparameters>& starts,
                                      size_t iterations) {
  GpHyperparameters best = starts.front();
  double best_value = std::numeric_limits<double>::infinity();
  for (const auto& start : starts) {
    std::vector<double> theta = flatten(start);
    const double value = minimise(data, theta, iterations);
    if (value < best_value) best_value = value, best = unflatten(theta);
  }
  return best;
}

GaussianProcess::GaussianProcess(GpData data, GpHyperparameters h)
    : data_(std::move(data)), h_(std::move(h)), inverse_squared_lengthscales_(inverse_squared(h_.log_lengthscales)) {
  const size_t n = data_.size();
  if (!factorise(kernel_matrix(data_, h_, inverse_squared_lengthscales_), n, cholesky_))
    throw std::runtime_error("GaussianProcess: the kernel matrix is not positive definite even with jitter.");
  mean_ = constant_mean(cholesky_, n, data_.targets, alpha_);
}

void GaussianProcess::predict(const double* units, const size_t* categories, double& mean, double& variance) const {
  const size_t n = data_.size();
  GpData point;
  point.gaussian = data_.gaussian, point.categorical = data_.categorical;
  point.units.assign(units, units + data_.gaussian);
  point.categories.assign(categories, categories + data_.categorical);
  const double signal = std::exp(h_.log_signal);
  std::vector<double> k(n);
  for (size_t i = 0; i < n; ++i)
    k[i] = signal * matern52(squared_distance(data_, i, point, 0, inverse_squared_lengthscales_));
  mean = mean_ + std::inner_product(k.begin(), k.end(), alpha_.begin(), 0.0);
  solve_lower(cholesky_, n, k.data());
  variance = std::max(signal - std::inner_product(k.begin(), k.end(), k.begin(), 0.0), 1e-12 * signal);
}

}  // namespace cohort::tuner::detail
