#include "cohort/tuner/samplers/gp_sampler.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "encoding.h"
#include "gaussian_process.h"

namespace cohort::tuner {
namespace {

using detail::Dimension;
using detail::GaussianProcess;
using detail::GpData;
using detail::GpHyperparameters;
using detail::Layout;
using detail::Point;
using detail::Points;
using Type = Dimension::Type;

// The best observed points that candidates are drawn around, and the
// perturbations' widths on the unit scale (cycled): wide to hop between
// nearby basins, narrow to polish one.
constexpr size_t kIncumbents = 5;
const double kPerturbations[] = {0.2, 0.05, 0.01};
// The hill climb: from the best few candidates, steps that grow on success
// and shrink on failure.
constexpr size_t kClimbs = 3, kClimbSteps = 20;
constexpr double kFirstStep = 0.05, kLargestStep = 0.3;
// Up to this many observations a fit also starts from the priors' centre
// (besides the last fit), which guards against a warm start stuck in a poor
// local optimum while a fit is cheap.
constexpr size_t kTwoStartsUpTo = 64;
// Losses above q75 + kClipIqr * IQR are clipped there.
constexpr double kClipIqr = 3.0;
// A running trial is believed at its predicted mean or at this standardised
// target, the observations' average, whichever is worse (a constant liar at the
// mean, Ginsbourger et al. 2010): a lie at the incumbent's value barely dents
// a confident model, and the next ask would land a hair away.
constexpr double kLie = 0.0;
// The most configurations observed only below the model's budget that are
// believed like running ones (the most recent): Hyperband's and ASHA's
// low-rung trials, which the model at the top budget would otherwise
// propose again and again while its data stays the same.
constexpr size_t kMaxUnresolved = 32;
// Below this z, log EI uses its asymptotic expansion: the direct formula cancels.
constexpr double kAsymptoticZ = -5.0;

/// The q-quantile of sorted values, linearly interpolated.
double quantile(const std::vector<double>& sorted, double q) {
  const double at = q * double(sorted.size() - 1);
  const size_t low = size_t(std::floor(at)), high = std::min(low + 1, sorted.size() - 1);
  return sorted[low] + (at - double(low)) * (sorted[high] - sorted[low]);
}

/// The losses as the GP's targets: non-finite ones (a NaN, a diverged run)
/// as the worst finite loss, everything clipped at q75 + 3 IQR, then
/// standardised. The ranking is kept, except that clipped losses tie.
std::vector<double> standardised_targets(std::vector<double> losses) {
  std::vector<double> finite;
  for (const double l : losses)
    if (std::isfinite(l)) finite.push_back(l);
  if (finite.empty()) return std::vector<double>(losses.size(), 0.0);
  std::sort(finite.begin(), finite.end());
  const double q25 = quantile(finite, 0.25), q75 = quantile(finite, 0.75);
  const double ceiling = q75 > q25 ? q75 + kClipIqr * (q75 - q25) : finite.back();
  for (double& l : losses) {
    if (!std::isfinite(l)) l = l < 0.0 ? finite.front() : finite.back();  // NaN and +inf rank as the worst
    l = std::min(l, ceiling);
  }
  const double mean = std::accumulate(losses.begin(), losses.end(), 0.0) / double(losses.size());
  double squares = 0.0;
  for (const double l : losses) squares += (l - mean) * (l - mean);
  const double sd = std::sqrt(squares / double(losses.size()));
  for (double& l : losses) l = (l - mean) / (sd > 0.0 ? sd : 1.0);
  return losses;
}

/// log(phi(z) + z Phi(z)): the expected improvement of a unit-variance
/// Gaussian z standard deviations ahead of the incumbent.
double log_h(double z) {
  if (z > kAsymptoticZ) {
    const double phi = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    return std::log(phi + z * 0.5 * std::erfc(-z / M_SQRT2));
  }
  // phi(z) / z^2 (1 - 3 / z^2 + 15 / z^4), from Phi's asymptotic series.
  const double z2 = z * z;
  return -0.5 * z2 - 0.5 * std::log(2.0 * M_PI) - std::log(z2) + std::log1p(-3.0 / z2 + 15.0 / (z2 * z2));
}

/// log EI of a point with posterior (mean, variance) over `best` (minimising).
double log_expected_improvement(double mean, double variance, double best) {
  const double sigma = std::sqrt(variance);
  return std::log(sigma) + log_h((best - mean) / sigma);
}

/// Rows of `points` one fit uses: all up to `limit`, else the best half by
/// loss and the most recent of the rest; in the order observed.
std::vector<size_t> rows_to_fit(const Points& points, size_t limit) {
  const size_t n = points.size();
  std::vector<size_t> rows;
  if (n <= limit) {
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), size_t(0));
    return rows;
  }
  std::vector<bool> taken(n, false);
  for (size_t r = 0; r < limit / 2; ++r) taken[points.ranked[r]] = true;
  size_t count = limit / 2;
  for (size_t row = n; row-- > 0 && count < limit;)
    if (!taken[row]) taken[row] = true, ++count;
  for (size_t row = 0; row < n; ++row)
    if (taken[row]) rows.push_back(row);
  return rows;
}

/// Clamps x's unit coordinates to [0, 1] and moves levels onto their nearest level.
void snap(const Layout& layout, Point& x) {
  for (const auto& dim : layout.dimensions) {
    if (dim.type == Type::kCategorical) continue;
    double& u = x.units[dim.slot];
    u = std::clamp(u, 0.0, 1.0);
    if (dim.type == Type::kLevels) u = detail::level_unit(detail::unit_level(u, dim.levels), dim.levels);
  }
}

/// A draw from the prior in the model's coordinates (uniform on the unit scale).
Point prior_point(const Layout& layout, Rng& rng) {
  Point x = detail::empty_point(layout);
  for (const auto& dim : layout.dimensions) {
    if (dim.type == Type::kCategorical) x.categories[dim.slot] = size_t(rng.below(dim.levels));
    else x.units[dim.slot] = rng.uniform();
  }
  snap(layout, x);
  return x;
}

/// `centre` moved by N(0, width) on every unit coordinate, each choice
/// redrawn with probability 1 / dimensions.
Point perturbed(const Layout& layout, const Point& centre, double width, Rng& rng) {
  Point x = centre;
  const double flip = 1.0 / double(layout.dimensions.size());
  for (const auto& dim : layout.dimensions) {
    if (dim.type == Type::kCategorical) {
      if (rng.bernoulli(flip)) x.categories[dim.slot] = size_t(rng.below(dim.levels));
    } else {
      x.units[dim.slot] += width * rng.normal();
    }
  }
  snap(layout, x);
  return x;
}

/// A candidate and its log EI.
struct Scored {
  Point x;
  double score;
};

}  // namespace

/// The observations by budget, the running trials, and the current posterior.
struct GpSampler::State {
  Layout layout;
  std::map<double, Points> points;
  /// config.dump() -> the largest budget it was observed at.
  std::unordered_map<std::string, double> highest;
  /// Every observed configuration, in the order first observed.
  std::vector<std::pair<std::string, Point>> configs;
  std::vector<detail::RunningTrial> running;
  size_t total = 0;
  std::optional<GpHyperparameters> last_fit;  // warm start of the next fit
  std::optional<GpData> fitted;               // the standardised data of the last fit
  double fitted_budget = 0.0;                 // ...its budget
  size_t fitted_count = 0;                    // ...and how many observations that budget had then
  std::vector<Point> incumbents;              // the best observed points at the model's budget
  std::optional<GaussianProcess> posterior;   // fitted data plus believed running trials
  double best_mean = 0.0;                     // the incumbent: lowest posterior mean among the fitted points
  bool stale_fit = true, stale_pending = true;
};

GpSampler::GpSampler(SearchSpace space, GpOptions options)
    : Sampler(std::move(space)), options_(std::move(options)), state_(std::make_unique<State>()) {
  check_options();
  state_->layout = detail::layout_of(space_);
}

GpSampler::~GpSampler() = default;

void GpSampler::check_options() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("GpOptions: " + what);
  };
  require(options_.num_candidates() > 0, "num_candidates must be at least 1.");
  require(options_.max_points() >= 2, "max_points must be at least 2.");
  require(options_.fit_iterations() > 0, "fit_iterations must be at least 1.");
}

size_t GpSampler::min_points() const {
  return detail::min_points_or_default(options_.min_points(), state_->layout);
}

void GpSampler::observe(const Observation& observation) {
  // Throws before anything changes.
  const Point point = detail::encode(state_->layout, space_, observation.config, "GpSampler");
  state_->points[observation.budget].add(point, observation.loss);
  const auto [found, first] = state_->highest.emplace(observation.config.dump(), observation.budget);
  if (first) state_->configs.emplace_back(found->first, point);
  else found->second = std::max(found->second, observation.budget);
  ++state_->total;
  state_->stale_fit = true;
}

void GpSampler::trial_started(const Json& config, double budget) {
  if (detail::start_running(state_->running, state_->layout, space_, config, budget)) state_->stale_pending = true;
}

void GpSampler::trial_ended(const Json& config, double budget) {
  if (detail::end_running(state_->running, config, budget)) state_->stale_pending = true;
}

size_t GpSampler::observations() const { return state_->total; }

size_t GpSampler::pending() const {
  return detail::count_unobserved(state_->running, state_->highest);
}

std::optional<double> GpSampler::model_budget() const { return detail::reference_budget(state_->points, min_points()); }

void GpSampler::refit() {
  auto& s = *state_;
  s.stale_fit = false;
  const auto budget = model_budget();
  const bool unchanged =
      s.fitted && budget && *budget == s.fitted_budget && s.points.at(*budget).size() == s.fitted_count;
  // An observation at another budget changes only which configurations are unresolved (condition()).
  if (unchanged) return condition();
  s.fitted.reset();
  s.incumbents.clear();
  if (s.layout.dimensions.empty() || s.total < options_.startup_trials() || !budget) return condition();
  const Points& points = s.points.at(*budget);
  if (points.size() < 2) return condition();
  s.fitted_budget = *budget, s.fitted_count = points.size();
  const auto rows = rows_to_fit(points, options_.max_points());
  std::vector<double> losses;
  for (const size_t row : rows) losses.push_back(points.losses[row]);
  const auto targets = standardised_targets(losses);
  GpData data;
  data.gaussian = s.layout.gaussian, data.categorical = s.layout.categorical;
  for (size_t i = 0; i < rows.size(); ++i)
    data.add(points.units.data() + rows[i] * s.layout.gaussian,
             points.categories.data() + rows[i] * s.layout.categorical, targets[i]);
  const size_t coordinates = s.layout.gaussian + s.layout.categorical;
  std::vector<GpHyperparameters> starts;
  if (s.last_fit) starts.push_back(*s.last_fit);
  if (!s.last_fit || data.size() <= kTwoStartsUpTo) starts.push_back(GpHyperparameters::prior_centre(coordinates));
  s.last_fit = detail::fit_hyperparameters(data, starts, options_.fit_iterations());
  s.fitted = std::move(data);
  for (size_t r = 0; r < std::min(kIncumbents, points.size()); ++r) {
    const size_t row = points.ranked[r];
    Point x = detail::empty_point(s.layout);
    std::copy_n(points.units.data() + row * s.layout.gaussian, s.layout.gaussian, x.units.begin());
    std::copy_n(points.categories.data() + row * s.layout.categorical, s.layout.categorical, x.categories.begin());
    s.incumbents.push_back(std::move(x));
  }
  condition();
}

std::vector<const Point*> GpSampler::unresolved() const {
  const auto& s = *state_;
  std::vector<const Point*> out;
  std::unordered_set<std::string> seen;
  auto resolved = [&](const std::string& key) {
    const auto found = s.highest.find(key);
    return found != s.highest.end() && found->second >= s.fitted_budget;
  };
  for (const auto& r : s.running)
    if (!resolved(r.key) && seen.insert(r.key).second) out.push_back(&r.point);
  for (auto it = s.configs.rbegin(); it != s.configs.rend() && out.size() < kMaxUnresolved; ++it)
    if (!resolved(it->first) && seen.insert(it->first).second) out.push_back(&it->second);
  return out;
}

void GpSampler::condition() {
  auto& s = *state_;
  s.stale_pending = false;
  s.posterior.reset();
  if (!s.fitted) return;
  try {
    GaussianProcess observed(*s.fitted, *s.last_fit);
    const GpData& data = *s.fitted;
    s.best_mean = std::numeric_limits<double>::infinity();
    double mean = 0.0, variance = 0.0;
    for (size_t i = 0; i < data.size(); ++i) {
      observed.predict(data.units.data() + i * data.gaussian, data.categories.data() + i * data.categorical, mean,
                       variance);
      s.best_mean = std::min(s.best_mean, mean);
    }
    GpData believed = data;
    if (options_.believe_pending())
      for (const Point* x : unresolved()) {
        observed.predict(x->units.data(), x->categories.data(), mean, variance);
        believed.add(x->units.data(), x->categories.data(), std::max(mean, kLie));
      }
    if (believed.size() == data.size()) s.posterior.emplace(std::move(observed));
    else s.posterior.emplace(std::move(believed), *s.last_fit);
  } catch (const std::runtime_error&) {
    s.posterior.reset();  // unfactorisable even with jitter: prior draws until the next observation
  }
}

std::optional<Proposal> GpSampler::propose(double /*budget*/, Rng& rng) {
  // Draws, in this order: with no model, the prior's; with one,
  // num_candidates prior candidates, as many perturbations around the
  // incumbents, then the hill climbs' steps.
  if (state_->stale_fit) refit();
  else if (state_->stale_pending) condition();
  if (!state_->posterior) return Proposal{space_.sample(rng), false};
  const auto& s = *state_;
  const Layout& layout = s.layout;
  auto score = [&](const Point& x) {
    double mean = 0.0, variance = 0.0;
    s.posterior->predict(x.units.data(), x.categories.data(), mean, variance);
    return log_expected_improvement(mean, variance, s.best_mean);
  };
  std::vector<Scored> candidates;
  for (size_t c = 0; c < options_.num_candidates(); ++c) {
    Point x = prior_point(layout, rng);
    candidates.push_back({x, score(x)});
  }
  for (size_t c = 0; c < options_.num_candidates(); ++c) {
    const Point& centre = s.incumbents[c % s.incumbents.size()];
    const double width = kPerturbations[(c / s.incumbents.size()) % std::size(kPerturbations)];
    Point x = perturbed(layout, centre, width, rng);
    candidates.push_back({x, score(x)});
  }
  const size_t climbs = std::min(kClimbs, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + long(climbs), candidates.end(),
                    [](const Scored& a, const Scored& b) { return a.score > b.score; });
  Scored best = candidates.front();
  for (size_t c = 0; c < climbs; ++c) {
    Scored current = candidates[c];
    double step = kFirstStep;
    for (size_t t = 0; t < kClimbSteps; ++t) {
      Point x = perturbed(layout, current.x, step, rng);
      const double value = score(x);
      if (value > current.score) current = {std::move(x), value}, step = std::min(step * 1.5, kLargestStep);
      else step *= 0.6;
    }
    if (current.score > best.score) best = current;
  }
  return Proposal{detail::decode(layout, space_, best.x), true};
}

}  // namespace cohort::tuner
