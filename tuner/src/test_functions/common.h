#pragma once
// Pieces the test functions share (internal to cohort_tuner): reading a
// configuration, portable seeds for noisy evaluations, and the Branin and
// Hartmann6 formulas with their constants as arguments, so the budget-aware
// variants bend the same functions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "cohort/tuner/space/search_space.h"

namespace cohort::tuner::detail {

/// The number at `path`; cohort::InputError naming `objective` and the path
/// when it is missing or not a number.
double number_at(const Json& config, const std::string& path, const std::string& objective);

/// FNV-1a, 64 bits: defined byte by byte, unlike std::hash, so seeds (and so
/// every noisy loss) are the same on every platform.
class Fnv1a {
 public:
  void add(const void* data, size_t size);
  /// The value's bit pattern, least significant byte first whatever the host's byte order.
  void add(double value);
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

/// A seed for the noise of one evaluation: the hash of `config.dump()` and
/// the budget's bits, so repeating an evaluation repeats its noise and two
/// configurations or budgets get independent noise.
uint64_t evaluation_seed(const Json& config, double budget);

/// "x1".."xN" uniform on [low, high].
SearchSpace uniform_box(int dims, double low, double high, const std::string& prefix = "x");

/// Branin's b, c and t (a = 1, r = 6, s = 10 are fixed); the defaults are the standard function's.
struct BraninConstants {
  double b = 5.1 / (4.0 * M_PI * M_PI);
  double c = 5.0 / M_PI;
  double t = 1.0 / (8.0 * M_PI);
};
double branin_value(double x1, double x2, const BraninConstants& constants = {});

/// Hartmann6 with weights `alpha` (standard: 1, 1.2, 3, 3.2) for its four wells.
double hartmann6_value(const std::array<double, 6>& x, const std::array<double, 4>& alpha = {1.0, 1.2, 3.0, 3.2});
/// x1..x6 of a configuration.
std::array<double, 6> hartmann6_point(const Json& config, const std::string& objective);

}  // namespace cohort::tuner::detail
