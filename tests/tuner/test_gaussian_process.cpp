// The GP sampler's model (an internal of cohort_tuner): its likelihood's
// gradient, its fit and its posterior.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "../../tuner/src/samplers/gaussian_process.h"
#include "cohort/tuner/random.h"

using namespace cohort::tuner;
using namespace cohort::tuner::detail;

namespace {

/// 15 points of two unit coordinates and one three-way choice, targets from a smooth function.
GpData sample_data() {
  GpData data;
  data.gaussian = 2, data.categorical = 1;
  Rng rng(3);
  for (int i = 0; i < 15; ++i) {
    const double u[2] = {rng.uniform(), rng.uniform()};
    const size_t c = size_t(rng.below(3));
    data.add(u, &c, std::sin(4 * u[0]) + u[1] * u[1] + 0.5 * double(c));
  }
  return data;
}

}  // namespace

TEST_CASE("gaussian process: the analytic gradient matches finite differences", "[tuner][gp]") {
  const GpData data = sample_data();
  GpHyperparameters h{{-0.7, 0.2, -1.1}, 0.3, std::log(1e-2)};
  std::vector<double> gradient;
  log_posterior(data, h, &gradient);
  REQUIRE(gradient.size() == 5);
  auto at = [&](size_t i, double delta) {
    GpHyperparameters moved = h;
    if (i < 3) moved.log_lengthscales[i] += delta;
    else if (i == 3) moved.log_signal += delta;
    else moved.log_noise += delta;
    return log_posterior(data, moved, nullptr);
  };
  for (size_t i = 0; i < 5; ++i) {
    INFO("hyperparameter " << i);
    const double numeric = (at(i, 1e-5) - at(i, -1e-5)) / 2e-5;
    CHECK(gradient[i] == Approx(numeric).margin(1e-4).epsilon(1e-4));
  }
}

TEST_CASE("gaussian process: the fit raises the posterior, and predictions interpolate", "[tuner][gp]") {
  const GpData data = sample_data();
  const GpHyperparameters start = GpHyperparameters::prior_centre(3);
  const GpHyperparameters fitted = fit_hyperparameters(data, {start}, 30);
  CHECK(log_posterior(data, fitted, nullptr) > log_posterior(data, start, nullptr));
  const GaussianProcess gp(data, fitted);
  // At a training point the mean is close to its target and the variance small;
  // far from every point of another category the variance is larger.
  double mean = 0.0, variance = 0.0;
  gp.predict(data.units.data(), data.categories.data(), mean, variance);
  CHECK(mean == Approx(data.targets[0]).margin(0.05));
  double far_mean = 0.0, far_variance = 0.0;
  const double corner[2] = {1.5, -0.5};
  const size_t category = 2;
  gp.predict(corner, &category, far_mean, far_variance);
  CHECK(far_variance > 10 * variance);
}

TEST_CASE("gaussian process: duplicated points still factorise (jitter)", "[tuner][gp]") {
  GpData data;
  data.gaussian = 1, data.categorical = 0;
  const double x = 0.5;
  for (int i = 0; i < 5; ++i) data.add(&x, nullptr, double(i % 2));
  // Noise at its floor: the kernel matrix is singular but for the jitter.
  const GpHyperparameters h{{0.0}, 0.0, std::log(1e-6)};
  CHECK(std::isfinite(log_posterior(data, h, nullptr)));
  const GaussianProcess gp(data, h);
  double mean = 0.0, variance = 0.0;
  gp.predict(&x, nullptr, mean, variance);
  CHECK(std::isfinite(mean));
  CHECK(mean == Approx(0.4).margin(0.05));  // the average of 0, 1, 0, 1, 0
}
