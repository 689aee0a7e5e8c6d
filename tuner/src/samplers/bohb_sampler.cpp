#include "cohort/tuner/samplers/bohb_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoding.h"

namespace cohort::tuner {
namespace {

using detail::Dimension;
using detail::Layout;
using detail::layout_of;
using detail::level_unit;
using detail::Point;
using detail::Points;
using detail::unit_level;
using Type = Dimension::Type;

// Truncated-normal draws before giving up and clamping. A bandwidth is at most
// 1.06 * 0.5 (the largest std on [0, 1]), so at the default factor of 3 each
// draw lands in [0, 1] with probability above 0.2: the clamp guards against
// absurd factors and is not a shape of the density.
constexpr int kTruncationTries = 100;
// The densities are floored here so that a candidate far from every bad point
// cannot win on a ratio of two underflows.
const double kLogDensityFloor = std::log(1e-32);
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);

/// Scratch space for scoring, reused across candidates to avoid allocations.
struct Scratch {
  std::vector<double> scaled;
  std::vector<double> exponents;
};

/// One kernel density (the good or the bad set), stored the way scoring wants
/// it: the Gaussian coordinates divided by their bandwidth, and every factor
/// that does not depend on the candidate (the normalisers of the truncated
/// and discretised kernels) folded into one log weight per point. A
/// candidate's log density is then a log-sum-exp with one exp per point.
struct Density {
  size_t n = 0;
  std::vector<double> bandwidth;   // per Gaussian coordinate, unit scale
  std::vector<double> units;       // n x gaussian, as observed (candidates are drawn from these)
  std::vector<double> scaled;      // n x gaussian, divided by the bandwidth
  std::vector<size_t> categories;  // n x categorical
  std::vector<double> lambda;      // per categorical coordinate (Aitchison-Aitken)
  std::vector<double> log_same;    // log(1 - lambda)
  std::vector<double> log_other;   // log(lambda / (c - 1))
  std::vector<double> log_weight;  // n

  double log_density(const Point& x, Scratch& scratch) const;
};

double Density::log_density(const Point& x, Scratch& scratch) const {
  const size_t g = bandwidth.size(), k = lambda.size();
  scratch.scaled.resize(g);
  for (size_t c = 0; c < g; ++c) scratch.scaled[c] = x.units[c] / bandwidth[c];
  scratch.exponents.resize(n);
  double top = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const double* row = scaled.data() + i * g;
    double squares = 0.0;
    for (size_t c = 0; c < g; ++c) {
      const double t = scratch.scaled[c] - row[c];
      squares += t * t;
    }
    double exponent = log_weight[i] - 0.5 * squares;
    for (size_t c = 0; c < k; ++c)
      exponent += categories[i * k + c] == x.categories[c] ? log_same[c] : log_other[c];
    scratch.exponents[i] = exponent;
    top = std::max(top, exponent);
  }
  double sum = 0.0;  // log-sum-exp: no underflow however far the candidate is
  for (size_t i = 0; i < n; ++i) sum += std::exp(scratch.exponents[i] - top);
  return top + std::log(sum) - std::log(double(n));
}

double std_dev(const std::vector<double>& values, size_t n, size_t stride, size_t column) {
  double mean = 0.0;
  for (size_t i = 0; i < n; ++i) mean += values[i * stride + column];
  mean /= double(n);
  double variance = 0.0;  // two passes: no cancellation when the points are close together
  for (size_t i = 0; i < n; ++i) {
    const double deviation = values[i * stride + column] - mean;
    variance += deviation * deviation;
  }
  return std::sqrt(variance / double(n));
}

/// The mass of a standard normal above t >= 0. Past t = 6 sqrt(2) it is below
/// 1.1e-17, which cannot change a mass of at least 1/2 in double precision:
/// skipping erfc there makes rebuilds cheaper once the good density is narrow.
double upper_tail(double t) { return t > 6.0 * M_SQRT2 ? 0.0 : 0.5 * std::erfc(t / M_SQRT2); }

/// log of the mass a Gaussian at `unit` in [0, 1] with bandwidth h puts on
/// [0, 1] (at least 1/2): the truncated kernel's normaliser, less its constant
/// log(h sqrt(2 pi)).
double log_truncated_mass(double unit, double h) {
  const double outside = upper_tail(unit / h) + upper_tail((1.0 - unit) / h);
  return outside == 0.0 ? 0.0 : std::log(1.0 - outside);  // outside <= 1/2: log1p would buy nothing
}

/// log of sum_j exp(-(u_j - u_i)^2 / 2h^2) for every level i: the normalisers
/// of the discretised kernel (L^2 exps, L <= kMaxLevels).
std::vector<double> log_level_normalisers(size_t levels, double h) {
  std::vector<double> out(levels);
  for (size_t i = 0; i < levels; ++i) {
    double sum = 0.0;  // the j = i term is 1, so the sum never underflows
    for (size_t j = 0; j < levels; ++j) {
      const double t = (level_unit(j, levels) - level_unit(i, levels)) / h;
      sum += std::exp(-0.5 * t * t);
    }
    out[i] = std::log(sum);
  }
  return out;
}

/// Copies the chosen rows of `points` into `density`.
void gather(const Points& points, const size_t* rows, size_t n, const Layout& layout, Density& density) {
  const size_t g = layout.gaussian, k = layout.categorical;
  density.n = n;
  density.units.resize(n * g);
  density.categories.resize(n * k);
  for (size_t i = 0; i < n; ++i) {
    // data() + offset: either array may be empty (no continuous or no categorical dimension).
    std::copy_n(points.units.data() + rows[i] * g, g, density.units.data() + i * g);
    std::copy_n(points.categories.data() + rows[i] * k, k, density.categories.data() + i * k);
  }
}

void set_bandwidths(const Layout& layout, double shrink, double min_bandwidth, Density& density) {
  density.bandwidth.resize(layout.gaussian);
  for (size_t c = 0; c < layout.gaussian; ++c) {  // Scott's rule, as statsmodels' normal_reference
    const double spread = std_dev(density.units, density.n, layout.gaussian, c);
    density.bandwidth[c] = std::max(min_bandwidth, 1.06 * spread * shrink);
  }
  for (const auto& dim : layout.dimensions) {
    if (dim.type != Type::kCategorical) continue;
    const double c = double(dim.levels), most = (c - 1.0) / c;  // most: every category equally likely
    const double lambda = std::min(std::max(most * shrink, min_bandwidth), most);
    density.lambda.push_back(lambda);
    density.log_same.push_back(std::log(1.0 - lambda));
    density.log_other.push_back(std::log(lambda / (c - 1.0)));
  }
}

void set_weights(const Layout& layout, Density& density) {
  const size_t g = layout.gaussian;
  density.scaled.resize(density.n * g);
  density.log_weight.assign(density.n, 0.0);
  for (const auto& dim : layout.dimensions) {
    if (dim.type == Type::kCategorical) continue;
    const double h = density.bandwidth[dim.slot];
    const bool levels = dim.type == Type::kLevels;
    const auto level_normalisers = levels ? log_level_normalisers(dim.levels, h) : std::vector<double>();
    const double constant = std::log(h) + kLogSqrt2Pi;  // a continuous kernel's 1 / (h sqrt(2 pi))
    for (size_t i = 0; i < density.n; ++i) {
      const double unit = density.units[i * g + dim.slot];
      density.scaled[i * g + dim.slot] = unit / h;
      density.log_weight[i] -= levels ? level_normalisers[unit_level(unit, dim.levels)]
                                      : constant + log_truncated_mass(unit, h);
    }
  }
}

Density density_of(const Points& points, const size_t* rows, size_t n, const Layout& layout, double min_bandwidth) {
  Density density;
  gather(points, rows, n, layout, density);
  const double shrink = std::pow(double(n), -1.0 / (4.0 + double(layout.dimensions.size())));
  set_bandwidths(layout, shrink, min_bandwidth, density);
  set_weights(layout, density);
  return density;
}

/// A Gaussian at `unit` truncated to [0, 1], by rejection.
double draw_truncated(double unit, double h, Rng& rng) {
  double x = unit;
  for (int attempt = 0; attempt < kTruncationTries; ++attempt) {
    x = unit + h * rng.normal();
    if (x >= 0.0 && x <= 1.0) return x;
  }
  return std::clamp(x, 0.0, 1.0);
}

/// A level from the discretised Gaussian at level `at`, by inverse CDF with one uniform.
size_t draw_level(size_t at, size_t levels, double h, Rng& rng) {
  std::vector<double> weights(levels);
  double total = 0.0;
  for (size_t j = 0; j < levels; ++j) {
    const double t = (level_unit(j, levels) - level_unit(at, levels)) / h;
    total += weights[j] = std::exp(-0.5 * t * t);
  }
  const double target = rng.uniform() * total;
  double cumulative = 0.0;
  for (size_t j = 0; j < levels; ++j) {
    cumulative += weights[j];
    if (target < cumulative) return j;
  }
  return at;  // uniform() * total rounded up to total: the datum's own level, the likeliest
}

/// A category from the Aitchison-Aitken kernel at `at`: kept with probability
/// 1 - lambda, else one of the others, uniformly.
size_t draw_category(size_t at, size_t count, double lambda, Rng& rng) {
  if (rng.uniform() < 1.0 - lambda) return at;
  const size_t other = rng.below(count - 1);
  return other < at ? other : other + 1;
}

/// The densities at one budget (model_budget() says which).
struct Model {
  Density good;
  Density bad;
};

/// One candidate, drawn from the good density widened by `factor`.
void draw_candidate(const Density& good, const Layout& layout, double factor, Rng& rng, Point& candidate) {
  // Draws: below(n_good) for the good point, then per dimension in the space's
  // order: normal() until inside [0, 1] (continuous), one uniform() (levels),
  // one uniform() and, when the category changes, one below(c - 1) (categorical).
  const size_t i = rng.below(good.n);
  const double* units = good.units.data() + i * layout.gaussian;
  const size_t* categories = good.categories.data() + i * layout.categorical;
  for (const auto& dim : layout.dimensions) {
    switch (dim.type) {
      case Type::kContinuous:
        candidate.units[dim.slot] = draw_truncated(units[dim.slot], good.bandwidth[dim.slot] * factor, rng);
        break;
      case Type::kLevels: {
        const size_t at = unit_level(units[dim.slot], dim.levels);
        const size_t level = draw_level(at, dim.levels, good.bandwidth[dim.slot] * factor, rng);
        candidate.units[dim.slot] = level_unit(level, dim.levels);
        break;
      }
      case Type::kCategorical: {
        const double c = double(dim.levels);
        const double lambda = std::min((c - 1.0) / c, good.lambda[dim.slot] * factor);
        candidate.categories[dim.slot] = draw_category(categories[dim.slot], dim.levels, lambda, rng);
        break;
      }
    }
  }
}

/// The candidate with the highest l(x) / g(x) among `options.num_candidates()`.
Proposal best_candidate(const Model& model, const Layout& layout, const SearchSpace& space,
                        const BohbOptions& options, Rng& rng) {
  Point candidate = detail::empty_point(layout);
  Point best;
  double best_score = -std::numeric_limits<double>::infinity();
  Scratch scratch;
  for (size_t c = 0; c < options.num_candidates(); ++c) {
    draw_candidate(model.good, layout, options.bandwidth_factor(), rng, candidate);
    // l(x) / g(x) in logs, each density floored (see kLogDensityFloor).
    const double score = std::max(model.good.log_density(candidate, scratch), kLogDensityFloor) -
                         std::max(model.bad.log_density(candidate, scratch), kLogDensityFloor);
    if (c == 0 || score > best_score) {  // strictly greater: the first of equal ratios wins
      best_score = score;
      best = candidate;
    }
  }
  return Proposal{detail::decode(layout, space, best), true};
}

}  // namespace

/// The observations by budget, and the model built from them on demand.
struct BohbSampler::State {
  Layout layout;
  std::map<double, Points> points;
  std::optional<Model> model;
  bool stale = true;  // observations arrived since `model` was built
};

BohbSampler::BohbSampler(SearchSpace space, BohbOptions options)
    : Sampler(std::move(space)), options_(std::move(options)), state_(std::make_unique<State>()) {
  check_options();
  state_->layout = layout_of(space_);
}

BohbSampler::~BohbSampler() = default;

void BohbSampler::check_options() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("BohbOptions: " + what);
  };
  require(options_.top_fraction() > 0.0 && options_.top_fraction() <= 1.0, "top_fraction must be in (0, 1].");
  require(options_.random_fraction() >= 0.0 && options_.random_fraction() <= 1.0,
          "random_fraction must be in [0, 1].");
  require(options_.num_candidates() > 0, "num_candidates must be at least 1.");
  require(options_.bandwidth_factor() > 0.0, "bandwidth_factor must be above 0.");
  require(options_.min_bandwidth() > 0.0, "min_bandwidth must be above 0.");
}

size_t BohbSampler::min_points() const {
  return detail::min_points_or_default(options_.min_points(), state_->layout);
}

size_t BohbSampler::good_count(size_t n) const {
  return std::max(min_points(), size_t(std::floor(options_.top_fraction() * double(n))));
}

void BohbSampler::observe(const Observation& observation) {
  // Throws before anything changes.
  const Point point = detail::encode(state_->layout, space_, observation.config, "BohbSampler");
  state_->points[observation.budget].add(point, observation.loss);
  state_->stale = true;
}

std::optional<double> BohbSampler::model_budget() const {
  if (state_->layout.dimensions.empty()) return std::nullopt;  // nothing to model
  for (auto it = state_->points.rbegin(); it != state_->points.rend(); ++it) {
    const size_t n = it->second.size(), good = good_count(n);
    if (good <= n && n - good >= min_points()) return it->first;
  }
  return std::nullopt;
}

size_t BohbSampler::observations_at(double budget) const {
  const auto found = state_->points.find(budget);
  return found == state_->points.end() ? 0 : found->second.size();
}

void BohbSampler::rebuild() {
  state_->stale = false;
  state_->model.reset();
  const auto budget = model_budget();
  if (!budget) return;
  const Points& points = state_->points.at(*budget);
  const size_t* order = points.ranked.data();
  const size_t good = good_count(points.size());
  const auto& layout = state_->layout;
  const double min_bandwidth = options_.min_bandwidth();
  state_->model = Model{density_of(points, order, good, layout, min_bandwidth),
                        density_of(points, order + good, points.size() - good, layout, min_bandwidth)};
}

std::optional<Proposal> BohbSampler::propose(double /*budget*/, Rng& rng) {
  // Draws, in this order: with no model, the prior's draws only; with one,
  // one uniform (the random_fraction coin), then either the prior's draws or
  // those of num_candidates candidates (see draw_candidate).
  if (state_->stale) rebuild();
  if (!state_->model || rng.bernoulli(options_.random_fraction())) return Proposal{space_.sample(rng), false};
  return best_candidate(*state_->model, state_->layout, space_, options_, rng);
}

}  // namespace cohort::tuner
