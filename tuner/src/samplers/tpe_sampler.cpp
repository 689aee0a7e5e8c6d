#include "cohort/tuner/samplers/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "encoding.h"

namespace cohort::tuner {
namespace {

using detail::Dimension;
using detail::Layout;
using detail::Point;
using detail::Points;
using Running = detail::RunningTrial;
using Type = Dimension::Type;

// Truncated-normal draws before clamping. Every bandwidth is at most the
// range and every centre inside it, so a draw lands inside with probability
// above 0.3: the clamp is a guard, not a shape of the density.
constexpr int kTruncationTries = 100;
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);
// A level's mass is floored here so that a log never sees 0.
constexpr double kTinyMass = 1e-300;
// Optuna's multivariate bandwidth: 0.2 n^(-1 / (d + 4)) times the range.
constexpr double kSigma0 = 0.2;
// Scott's rule's factor (statsmodels' normal_reference, as BOHB).
constexpr double kScott = 1.06;
// The magic clip's largest divisor: no bandwidth below 1/100 of the range.
constexpr double kMaxClipDivisor = 100.0;

/// The interval a Gaussian coordinate's kernels are truncated to: [0, 1] for
/// floats; for levels widened by half a level each side (Optuna's int
/// bounds), so the end levels get whole bins.
struct Bounds {
  double low = 0.0, high = 1.0;
  double half_level = 0.0;  // levels: half the distance between two levels; 0 for floats
};

Bounds bounds_of(const Dimension& dim) {
  if (dim.type != Type::kLevels) return {};
  const double half = 0.5 / double(dim.levels - 1);
  return {-half, 1.0 + half, half};
}

/// The standard normal's CDF, through erfc so the lower tail keeps its precision.
/// Past t = 8.3 the upper tail is below half an ulp of 1: no erfc needed,
/// which makes rebuilds cheaper once kernels are narrow.
double normal_cdf(double t) { return t > 8.3 ? 1.0 : 0.5 * std::erfc(-t / M_SQRT2); }

/// log of the standard normal's mass on [a, b], a <= b, accurate in both tails.
double log_mass(double a, double b) {
  const double mass = a > 0.0 ? normal_cdf(-a) - normal_cdf(-b) : normal_cdf(b) - normal_cdf(a);
  return std::log(std::max(mass, kTinyMass));
}

/// One observation (or running trial) as a kernel centre, with its weight
/// before normalisation.
struct Kernel {
  const double* units;
  const size_t* categories;
  double weight;
};

/// A Parzen mixture: one component per kernel and the prior last. Gaussian
/// coordinates are stored per component as centre, bandwidth and a constant
/// that folds in every factor not depending on x; categorical ones as a log
/// probability per choice.
struct Mixture {
  size_t n = 0;                    // components, the prior included
  std::vector<double> log_weight;  // n, normalised
  std::vector<double> cumulative;  // n, normalised cumulative weights, to draw a component
  std::vector<double> mu;          // n x gaussian
  std::vector<double> sigma;       // n x gaussian
  std::vector<double> inv_sigma;   // n x gaussian, 1 / sigma
  std::vector<double> log_const;   // n x gaussian
  std::vector<double> log_probs;   // n x choices (all categorical coordinates, one after another)
  std::vector<size_t> offset;      // per categorical coordinate: where its choices start in a row
  size_t choices = 0;              // a row's width in log_probs
};

/// The bandwidths of the kernels at `mus` (one coordinate) by Optuna's rule:
/// the larger distance to a neighbour, the bounds counting as neighbours;
/// the outermost kernels take their inner distance (Optuna's
/// consider_endpoints=False).
std::vector<double> neighbour_sigmas(const std::vector<double>& mus, const Bounds& bounds) {
  std::vector<size_t> order(mus.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
  const size_t m = mus.size();
  auto at = [&](size_t k) { return mus[order[k]]; };
  std::vector<double> sigmas(m);
  for (size_t k = 0; k < m; ++k) {
    const double left = at(k) - (k > 0 ? at(k - 1) : bounds.low);
    const double right = (k + 1 < m ? at(k + 1) : bounds.high) - at(k);
    sigmas[order[k]] = std::max(left, right);
  }
  if (m >= 2) {
    sigmas[order[0]] = at(1) - at(0);
    sigmas[order[m - 1]] = at(m - 1) - at(m - 2);
  }
  return sigmas;
}

/// Optuna's multivariate bandwidth before v4, on a unit range: 0.2 n^(-1 / (d + 4)).
double older_optuna_sigma(double n, double d) { return kSigma0 * std::pow(std::max(n, 1.0), -1.0 / (d + 4.0)); }

/// The standard deviation of `values` (two passes: no cancellation when they are close together).
double spread(const std::vector<double>& values) {
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double squares = 0.0;
  for (const double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / double(values.size()));
}

class MixtureBuilder {
 public:
  MixtureBuilder(const Layout& layout, const TpeOptions& options) : layout_(layout), options_(options) {}

  /// The mixture of `kernels` and the prior.
  Mixture build(const std::vector<Kernel>& kernels) const {
    Mixture m;
    m.n = kernels.size() + 1;
    set_weights(kernels, m);
    m.mu.resize(m.n * layout_.gaussian);
    m.sigma.resize(m.n * layout_.gaussian);
    m.inv_sigma.resize(m.n * layout_.gaussian);
    m.log_const.resize(m.n * layout_.gaussian);
    for (const auto& dim : layout_.dimensions) {
      if (dim.type == Type::kCategorical) {
        m.offset.push_back(m.choices);
        m.choices += dim.levels;
      }
    }
    m.log_probs.resize(m.n * m.choices);
    for (const auto& dim : layout_.dimensions) {
      if (dim.type == Type::kCategorical) set_categorical(kernels, dim, m);
      else set_gaussian(kernels, dim, m);
    }
    return m;
  }

 private:
  void set_weights(const std::vector<Kernel>& kernels, Mixture& m) const {
    std::vector<double> weights;
    for (const auto& kernel : kernels) weights.push_back(kernel.weight);
    weights.push_back(options_.prior_weight());
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    double cumulative = 0.0;
    for (const double w : weights) {
      m.log_weight.push_back(std::log(w / total));
      m.cumulative.push_back(cumulative += w / total);
    }
    m.cumulative.back() = 1.0;  // rounding must not leave a uniform draw past the last component
  }

  std::vector<double> sigmas(const std::vector<double>& mus, const Bounds& bounds) const {
    const double range = bounds.high - bounds.low;
    const double n = double(mus.size()), d = double(layout_.dimensions.size());
    std::vector<double> out;
    if (options_.multivariate() && options_.adaptive_bandwidth()) {
      double sigma = older_optuna_sigma(n, d) * range;
      if (mus.size() >= 2) sigma = std::min(sigma, kScott * spread(mus) * std::pow(n, -1.0 / (d + 4.0)));
      out.assign(mus.size(), sigma);
    } else {
      out = neighbour_sigmas(mus, bounds);
    }
    // Optuna counts the prior among the kernels here.
    const double floor = options_.magic_clip() ? range / std::min(kMaxClipDivisor, 2.0 + n) : 1e-12 * range;
    for (double& s : out) s = std::clamp(s, floor, range);
    return out;
  }

  void set_gaussian(const std::vector<Kernel>& kernels, const Dimension& dim, Mixture& m) const {
    const Bounds bounds = bounds_of(dim);
    const size_t g = layout_.gaussian, c = dim.slot;
    std::vector<double> mus;
    for (const auto& kernel : kernels) mus.push_back(kernel.units[c]);
    std::vector<double> bandwidths = sigmas(mus, bounds);
    mus.push_back(0.5 * (bounds.low + bounds.high));  // the prior: centred, as wide as the range
    bandwidths.push_back(bounds.high - bounds.low);
    for (size_t i = 0; i < m.n; ++i) {
      const double mu = mus[i], s = bandwidths[i];
      // The kernel's mass on the bounds normalises it; a float's density also has 1 / (s sqrt(2 pi)).
      double constant = -log_mass((bounds.low - mu) / s, (bounds.high - mu) / s);
      if (dim.type == Type::kContinuous) constant -= std::log(s) + kLogSqrt2Pi;
      m.mu[i * g + c] = mu;
      m.sigma[i * g + c] = s;
      m.inv_sigma[i * g + c] = 1.0 / s;
      m.log_const[i * g + c] = constant;
    }
  }

  /// Optuna's categorical kernel: prior_weight / components on every choice
  /// plus 1 on the observed one, normalised; the prior's row is uniform.
  void set_categorical(const std::vector<Kernel>& kernels, const Dimension& dim, Mixture& m) const {
    const size_t c = dim.slot, offset = m.offset[c];
    const double base = options_.prior_weight() / double(m.n);
    const double log_other = std::log(base / (1.0 + base * double(dim.levels)));
    const double log_same = std::log((1.0 + base) / (1.0 + base * double(dim.levels)));
    for (size_t i = 0; i < m.n; ++i) {
      double* row = m.log_probs.data() + i * m.choices + offset;
      if (i + 1 == m.n) {
        std::fill(row, row + dim.levels, -std::log(double(dim.levels)));
        continue;
      }
      std::fill(row, row + dim.levels, log_other);
      row[kernels[i].categories[c]] = log_same;
    }
  }

  const Layout& layout_;
  const TpeOptions& options_;
};

/// Adds every component's log kernel at x on Gaussian coordinate `dim` to `exponents`.
void add_log_kernels(const Mixture& m, const Dimension& dim, size_t g, double x, double* exponents) {
  const double* mu = m.mu.data() + dim.slot;
  const double* inv = m.inv_sigma.data() + dim.slot;
  const double* constant = m.log_const.data() + dim.slot;
  if (dim.type == Type::kContinuous) {  // the hot loop: no branch, no erf
    for (size_t i = 0; i < m.n; ++i) {
      const double t = (x - mu[i * g]) * inv[i * g];
      exponents[i] += constant[i * g] - 0.5 * t * t;
    }
    return;
  }
  // A level's kernel is the mass of its bin, [x - half, x + half].
  const double half = bounds_of(dim).half_level;
  for (size_t i = 0; i < m.n; ++i)
    exponents[i] += constant[i * g] + log_mass((x - half - mu[i * g]) * inv[i * g], (x + half - mu[i * g]) * inv[i * g]);
}

/// The coordinates one density ranks together: every dimension
/// (multivariate) or a single one (univariate).
struct Group {
  std::vector<size_t> dimensions;  // indices into layout.dimensions
};

/// log m(x) over the group's coordinates: a log-sum-exp over the components.
double log_density(const Mixture& m, const Layout& layout, const Group& group, const Point& x,
                   std::vector<double>& exponents) {
  exponents.assign(m.log_weight.begin(), m.log_weight.end());
  for (const size_t d : group.dimensions) {
    const Dimension& dim = layout.dimensions[d];
    if (dim.type == Type::kCategorical) {
      const size_t column = m.offset[dim.slot] + x.categories[dim.slot];
      for (size_t i = 0; i < m.n; ++i) exponents[i] += m.log_probs[i * m.choices + column];
      continue;
    }
    add_log_kernels(m, dim, layout.gaussian, x.units[dim.slot], exponents.data());
  }
  const double top = *std::max_element(exponents.begin(), exponents.end());
  double sum = 0.0;  // log-sum-exp: no underflow however far x is
  for (const double e : exponents) sum += std::exp(e - top);
  return top + std::log(sum);
}

/// A Gaussian truncated to the bounds, by rejection.
double draw_truncated(double mu, double sigma, const Bounds& bounds, Rng& rng) {
  double x = mu;
  for (int attempt = 0; attempt < kTruncationTries; ++attempt) {
    x = mu + sigma * rng.normal();
    if (x >= bounds.low && x <= bounds.high) return x;
  }
  return std::clamp(x, bounds.low, bounds.high);
}

/// A choice drawn from a row of log probabilities.
size_t draw_choice(const double* log_probs, size_t count, Rng& rng) {
  double target = rng.uniform();
  for (size_t j = 0; j + 1 < count; ++j)
    if ((target -= std::exp(log_probs[j])) < 0.0) return j;
  return count - 1;
}

/// Writes a draw from the mixture into x's coordinates of the group: one
/// component by weight, then each coordinate from that component's kernel.
void draw(const Mixture& m, const Layout& layout, const Group& group, Rng& rng, Point& x) {
  const size_t i = size_t(std::upper_bound(m.cumulative.begin(), m.cumulative.end(), rng.uniform()) -
                          m.cumulative.begin());
  const size_t component = std::min(i, m.n - 1);
  for (const size_t d : group.dimensions) {
    const Dimension& dim = layout.dimensions[d];
    if (dim.type == Type::kCategorical) {
      const double* row = m.log_probs.data() + component * m.choices + m.offset[dim.slot];
      x.categories[dim.slot] = draw_choice(row, dim.levels, rng);
      continue;
    }
    const size_t at = component * layout.gaussian + dim.slot;
    const double value = draw_truncated(m.mu[at], m.sigma[at], bounds_of(dim), rng);
    // A level is the nearest one to the draw (the bounds reach half a level past the ends).
    x.units[dim.slot] = dim.type == Type::kLevels
                            ? detail::level_unit(detail::unit_level(std::clamp(value, 0.0, 1.0), dim.levels), dim.levels)
                            : value;
  }
}

/// Copies the group's coordinates of `from` into `to`.
void copy_group(const Layout& layout, const Group& group, const Point& from, Point& to) {
  for (const size_t d : group.dimensions) {
    const Dimension& dim = layout.dimensions[d];
    if (dim.type == Type::kCategorical) to.categories[dim.slot] = from.categories[dim.slot];
    else to.units[dim.slot] = from.units[dim.slot];
  }
}

std::vector<Group> groups_of(const Layout& layout, bool multivariate) {
  std::vector<Group> groups;
  for (size_t d = 0; d < layout.dimensions.size(); ++d) {
    if (multivariate && !groups.empty()) groups.front().dimensions.push_back(d);
    else groups.push_back(Group{{d}});
  }
  return groups;
}

/// Optuna's default weights for n observations in the order observed: 1 for
/// the latest 25, a ramp from 1/n up to 1 for the older ones (all 1 when
/// `enabled` is false).
std::vector<double> recency_weights(size_t n, bool enabled) {
  constexpr size_t kFlat = 25;
  std::vector<double> w(n, 1.0);
  if (!enabled || n <= kFlat) return w;
  const size_t ramp = n - kFlat;
  for (size_t i = 0; i < ramp; ++i)
    w[i] = ramp == 1 ? 1.0 / double(n) : 1.0 / double(n) + (1.0 - 1.0 / double(n)) * double(i) / double(ramp - 1);
  return w;
}

/// Kendall's tau-b of the pairs (x, y): +1 when they rank alike, -1 when
/// reversed, about 0 when unrelated; pairs tied in x or y count as neither.
/// 1 when either side has no two distinct values (no evidence of
/// disagreement). O(m^2): m is the reference budget's population, tens to
/// hundreds, and it is measured again only when a promotion is observed.
double kendall_tau(const std::vector<std::pair<double, double>>& pairs) {
  // -1, 0 or +1; two infinite (diverged) losses are a tie.
  auto order = [](double a, double b) { return double((a > b) - (a < b)); };
  double concordant_minus_discordant = 0.0, untied_x = 0.0, untied_y = 0.0;
  for (size_t i = 0; i < pairs.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const double sx = order(pairs[i].first, pairs[j].first), sy = order(pairs[i].second, pairs[j].second);
      untied_x += sx != 0.0;
      untied_y += sy != 0.0;
      concordant_minus_discordant += sx * sy;
    }
  if (untied_x == 0.0 || untied_y == 0.0) return 1.0;
  return concordant_minus_discordant / std::sqrt(untied_x * untied_y);
}

}  // namespace

/// The observations by budget, the running trials, and the model.
struct TpeSampler::State {
  Layout layout;
  std::vector<Group> groups;
  std::map<double, Points> points;
  /// config.dump() -> its loss at each budget it was observed at (the latest, if twice).
  std::unordered_map<std::string, std::map<double, double>> observed;
  /// Per budget, the configurations observed there (pointers into `observed`,
  /// which an unordered_map keeps valid): the reference budget's are the ones
  /// whose lower budgets can be compared with it.
  std::map<double, std::vector<const std::map<double, double>*>> configs_at;
  /// The agreement of each budget with the reference (budget_agreements()),
  /// kept until an observation pairs a configuration's budgets anew.
  std::optional<std::map<double, double>> agreements;
  double agreements_reference = 0.0;  // the reference budget they were measured against
  std::vector<Running> running;
  size_t total = 0;
  struct Model {
    Mixture good, bad;
  };
  std::optional<Model> model;
  bool stale = true;
};

TpeSampler::TpeSampler(SearchSpace space, TpeOptions options)
    : Sampler(std::move(space)), options_(std::move(options)), state_(std::make_unique<State>()) {
  check_options();
  state_->layout = detail::layout_of(space_);
  state_->groups = groups_of(state_->layout, options_.multivariate());
}

TpeSampler::~TpeSampler() = default;

void TpeSampler::check_options() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("TpeOptions: " + what);
  };
  require(options_.num_candidates() > 0, "num_candidates must be at least 1.");
  require(options_.gamma_fraction() > 0.0 && options_.gamma_fraction() <= 1.0, "gamma_fraction must be in (0, 1].");
  require(options_.gamma_max() > 0, "gamma_max must be at least 1.");
  require(options_.prior_weight() > 0.0, "prior_weight must be above 0.");
  require(options_.budget_exponent() >= 0.0, "budget_exponent must not be negative.");
  require(options_.min_points() > 0, "min_points must be at least 1.");
  require(options_.agreement_exponent() >= 0.0, "agreement_exponent must not be negative.");
  require(options_.random_fraction() >= 0.0 && options_.random_fraction() <= 1.0,
          "random_fraction must be in [0, 1].");
}

size_t TpeSampler::gamma(size_t n) const {
  return std::min(options_.gamma_max(), size_t(std::ceil(options_.gamma_fraction() * double(n))));
}

void TpeSampler::observe(const Observation& observation) {
  // Throws before anything changes.
  const Point point = detail::encode(state_->layout, space_, observation.config, "TpeSampler");
  const bool new_budget = !state_->points.count(observation.budget);
  state_->points[observation.budget].add(point, observation.loss);
  auto& losses = state_->observed[observation.config.dump()];
  if (!losses.count(observation.budget)) state_->configs_at[observation.budget].push_back(&losses);
  losses[observation.budget] = detail::rank_key(observation.loss);
  // A budget to weigh, or a new pair of budgets to compare: measure again.
  if (new_budget || losses.size() > 1) state_->agreements.reset();
  ++state_->total;
  state_->stale = true;
}

void TpeSampler::trial_started(const Json& config, double budget) {
  // Not a configuration of this space (a sweep's own trial): nothing to lie about.
  if (detail::start_running(state_->running, state_->layout, space_, config, budget)) state_->stale = true;
}

void TpeSampler::trial_ended(const Json& config, double budget) {
  if (detail::end_running(state_->running, config, budget)) state_->stale = true;
}

size_t TpeSampler::observations_at(double budget) const {
  const auto found = state_->points.find(budget);
  return found == state_->points.end() ? 0 : found->second.size();
}

size_t TpeSampler::observations() const { return state_->total; }

size_t TpeSampler::pending() const {
  return detail::count_unobserved(state_->running, state_->observed);
}

std::optional<double> TpeSampler::reference_budget() const {
  return detail::reference_budget(state_->points, options_.min_points());
}

std::map<double, double> TpeSampler::budget_agreements(double reference) const {
  std::map<double, std::vector<std::pair<double, double>>> pairs;  // budget -> (loss there, loss at reference)
  const auto at_reference = state_->configs_at.find(reference);
  if (at_reference != state_->configs_at.end())
    for (const auto* losses : at_reference->second)
      for (const auto& [budget, loss] : *losses)
        if (budget < reference) pairs[budget].push_back({loss, losses->at(reference)});
  std::map<double, double> out;
  for (const auto& entry : state_->points) {
    const double budget = entry.first;
    if (budget >= reference) continue;
    const auto found = pairs.find(budget);
    const bool measured = found != pairs.end() && found->second.size() >= options_.min_points();
    out[budget] = measured ? std::clamp(kendall_tau(found->second), 0.0, 1.0) : 1.0;
  }
  return out;
}

std::map<double, double> TpeSampler::budget_weights() const {
  std::map<double, double> weights;
  const auto reference = reference_budget();
  if (!reference) return weights;
  const bool agreement = options_.agreement_exponent() > 0.0;
  // A cache behind a const function: the measurement depends only on the
  // observations, and observe() drops it when they change what it would say.
  if (agreement && (!state_->agreements || state_->agreements_reference != *reference)) {
    state_->agreements = budget_agreements(*reference);
    state_->agreements_reference = *reference;
  }
  for (const auto& entry : state_->points) {
    const double budget = entry.first;
    // Budgets at or above the reference weigh 1; below it, by relative cost and agreement.
    if (budget >= *reference || *reference <= 0.0 || budget <= 0.0) {
      weights[budget] = 1.0;
      continue;
    }
    double weight = std::pow(budget / *reference, options_.budget_exponent());
    if (agreement) weight *= std::pow(state_->agreements->at(budget), options_.agreement_exponent());
    weights[budget] = weight;
  }
  return weights;
}

void TpeSampler::rebuild() {
  state_->stale = false;
  state_->model.reset();
  if (state_->layout.dimensions.empty() || state_->total < options_.startup_trials()) return;
  const auto weights = budget_weights();
  const auto& layout = state_->layout;
  std::vector<Kernel> good, bad;
  for (const auto& entry : state_->points) {
    // Not a structured binding: C++17 lets no lambda (kernel, below) capture one, and clang holds to that.
    const auto& points = entry.second;
    const double weight = weights.at(entry.first);
    if (weight <= 0.0) continue;  // a budget that disagrees with the reference says nothing
    const size_t good_count = gamma(points.size());
    auto kernel = [&](size_t row, double w) {
      return Kernel{points.units.data() + row * layout.gaussian, points.categories.data() + row * layout.categorical,
                    w};
    };
    for (size_t r = 0; r < good_count; ++r) good.push_back(kernel(points.ranked[r], weight));
    std::vector<size_t> rows(points.ranked.begin() + long(good_count), points.ranked.end());
    const size_t limit = options_.max_bad_kernels();
    double scale = 1.0;
    if (limit > 0 && rows.size() > limit) {  // the most recent `limit`: the largest row indices
      std::nth_element(rows.begin(), rows.begin() + long(limit), rows.end(), std::greater<size_t>());
      scale = double(rows.size()) / double(limit);
      rows.resize(limit);
    }
    std::sort(rows.begin(), rows.end());  // in the order observed, for the recency ramp
    const auto ramp = recency_weights(rows.size(), options_.recency_weights());
    for (size_t i = 0; i < rows.size(); ++i) bad.push_back(kernel(rows[i], weight * scale * ramp[i]));
  }
  if (options_.constant_liar()) {
    // A running configuration that has no result yet counts as bad, at full weight:
    // the point is to keep the next proposals away from it.
    for (const auto& r : state_->running)
      if (!state_->observed.count(r.key)) bad.push_back({r.point.units.data(), r.point.categories.data(), 1.0});
  }
  const MixtureBuilder builder(layout, options_);
  state_->model = State::Model{builder.build(good), builder.build(bad)};
}

std::optional<Proposal> TpeSampler::propose(double /*budget*/, Rng& rng) {
  // Draws, in this order: with a model and a random_fraction, the coin; with
  // no model (or heads), the prior's; with one, for each
  // group, num_candidates draws from the good mixture (a component, then its
  // coordinates in the space's order).
  if (state_->stale) rebuild();
  // The coin is drawn only when there is one to draw: a random_fraction of 0
  // leaves the stream of draws, and so every proposal, as it was.
  const bool hedge = options_.random_fraction() > 0.0 && state_->model && rng.bernoulli(options_.random_fraction());
  if (!state_->model || hedge) return Proposal{space_.sample(rng), false};
  const auto& layout = state_->layout;
  const auto& model = *state_->model;
  Point best = detail::empty_point(layout), candidate = detail::empty_point(layout);
  std::vector<double> scratch;
  for (const Group& group : state_->groups) {
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < options_.num_candidates(); ++c) {
      draw(model.good, layout, group, rng, candidate);
      const double score = log_density(model.good, layout, group, candidate, scratch) -
                           log_density(model.bad, layout, group, candidate, scratch);
      if (c == 0 || score > best_score) {  // strictly greater: the first of equal ratios wins
        best_score = score;
        copy_group(layout, group, candidate, best);
      }
    }
  }
  return Proposal{detail::decode(layout, space_, best), true};
}

}  // namespace cohort::tuner
