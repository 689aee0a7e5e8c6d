#pragma once
// A Gaussian process for the GP sampler (internal to cohort_tuner): a
// Matérn-5/2 kernel with one lengthscale per coordinate (ARD), a constant
// mean, and Gaussian noise. Unit coordinates enter the kernel's distance as
// (x - y)^2 / l^2; a categorical coordinate as 1 / l^2 when the categories
// differ and 0 when they agree (an overlap, or Hamming, term), so a choice
// needs no one-hot columns. The hyperparameters are the MAP estimate: the log
// marginal likelihood plus weak log-normal priors, maximised by L-BFGS with
// analytic gradients inside bounds that keep the Cholesky stable.

#include <cstddef>
#include <vector>

namespace cohort::tuner::detail {

/// Training inputs and targets: row i is units[i * gaussian ...] and
/// categories[i * categorical ...], with target targets[i].
struct GpData {
  size_t gaussian = 0;
  size_t categorical = 0;
  std::vector<double> units;
  std::vector<size_t> categories;
  std::vector<double> targets;

  size_t size() const { return targets.size(); }
  /// Appends one row.
  void add(const double* row_units, const size_t* row_categories, double target);
};

/// The kernel's hyperparameters, all in log space: one lengthscale per
/// coordinate (the gaussian ones, then the categorical ones), the signal
/// variance and the noise variance.
struct GpHyperparameters {
  std::vector<double> log_lengthscales;
  double log_signal = 0.0;
  double log_noise = 0.0;

  /// The starting point of a fit for `coordinates` coordinates: every prior's centre.
  static GpHyperparameters prior_centre(size_t coordinates);
};

/// The log marginal likelihood plus the log priors at `h` (-infinity when the
/// kernel matrix cannot be factorised), and its gradient in `gradient` (one
/// entry per lengthscale, then the signal's, then the noise's). The constant
/// mean is the generalised-least-squares estimate for `h`.
double log_posterior(const GpData& data, const GpHyperparameters& h, std::vector<double>* gradient);

/// The MAP hyperparameters: L-BFGS from each of `starts` for at most
/// `iterations` steps, the best end point kept. Deterministic.
GpHyperparameters fit_hyperparameters(const GpData& data, const std::vector<GpHyperparameters>& starts,
                                      size_t iterations);

/// A posterior: the data conditioned on, through a Cholesky factor of the
/// kernel matrix (jitter added in growing steps when the factorisation fails).
class GaussianProcess {
 public:
  /// Conditions on `data` with hyperparameters `h`. Throws std::runtime_error
  /// when even the largest jitter leaves the matrix unfactorisable.
  GaussianProcess(GpData data, GpHyperparameters h);

  /// The posterior mean and variance of the latent function (noise excluded)
  /// at one point. The variance is floored just above 0.
  void predict(const double* units, const size_t* categories, double& mean, double& variance) const;

  const GpData& data() const { return data_; }
  const GpHyperparameters& hyperparameters() const { return h_; }

 private:
  GpData data_;
  GpHyperparameters h_;
  std::vector<double> inverse_squared_lengthscales_;
  std::vector<double> cholesky_;  // n x n, lower triangle
  std::vector<double> alpha_;     // K^-1 (y - mean)
  double mean_ = 0.0;
};

}  // namespace cohort::tuner::detail
