#pragma once
// The tuner's random numbers. Every draw goes through one Rng owned by the
// study, so the same seed and the same order of results give the same
// proposals, and replaying a journal rebuilds the generator's state.

#include <cmath>
#include <cstdint>
#include <random>

namespace cohort::tuner {

/// mt19937_64 with draws defined here rather than by the standard library's
/// distributions, whose algorithms differ between implementations.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}

  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  /// Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }
  /// Standard normal (Box-Muller; one value per call, so the stream is simple to reason about).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace cohort::tuner
