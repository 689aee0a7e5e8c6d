#pragma once
// The model-based samplers' view of a search space (internal to cohort_tuner):
// which parameters are dimensions and how each is modelled, and the encoding
// of configurations into those coordinates and back. Shared by BOHB and TPE so
// both read and write configurations the same way.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cohort/tuner/space/search_space.h"

namespace cohort::tuner::detail {

/// Ints with more levels than this are modelled on the unit scale: summing a
/// discretised kernel over thousands of levels would cost more than it gains.
constexpr size_t kMaxLevels = 128;

/// How one parameter is modelled. Gaussian coordinates (continuous and
/// levels) and categorical ones are stored in separate arrays; `slot` is the
/// index in the dimension's array.
struct Dimension {
  enum class Type { kContinuous, kLevels, kCategorical };
  size_t parameter = 0;  // index into the space's parameters
  Type type = Type::kContinuous;
  size_t levels = 0;  // kLevels and kCategorical
  size_t slot = 0;
};

/// The space as the model sees it: its dimensions, and the values of the
/// parameters that are not dimensions (fixed, or with a single value).
struct Layout {
  std::vector<Dimension> dimensions;
  size_t gaussian = 0;     // continuous and levels coordinates
  size_t categorical = 0;  // categorical coordinates
  Json constants = Json::object();
};

/// The layout of `space`: fixed parameters and those with a single value are
/// constants; floats and ints with more than kMaxLevels levels continuous;
/// choices categorical; other ints and ordinals levels.
Layout layout_of(const SearchSpace& space);

/// Level j of L as a unit coordinate, j / (L - 1), and back (nearest level).
inline double level_unit(size_t level, size_t levels) { return double(level) / double(levels - 1); }
inline size_t unit_level(double unit, size_t levels) { return size_t(std::llround(unit * double(levels - 1))); }

/// A configuration in the model's coordinates.
struct Point {
  std::vector<double> units;       // unit values; j / (L - 1) for level j
  std::vector<size_t> categories;  // category indices
};

/// A point of the right shape for `layout`, all zeros.
inline Point empty_point(const Layout& layout) {
  return Point{std::vector<double>(layout.gaussian), std::vector<size_t>(layout.categorical)};
}

/// A loss as it ranks: a NaN (a diverged run) as the worst.
inline double rank_key(double loss) { return std::isnan(loss) ? std::numeric_limits<double>::infinity() : loss; }

/// Every observation at one budget, one row per observation in the order
/// observed, and the rows ranked by loss (ties by order of observation).
/// The ranking is kept up to date on each observation (O(n) insertion), so a
/// rebuild needs no sort.
struct Points {
  std::vector<double> units;       // n x gaussian
  std::vector<size_t> categories;  // n x categorical
  std::vector<double> losses;      // n
  std::vector<size_t> ranked;      // row indices, best first
  size_t size() const { return losses.size(); }

  void add(const Point& point, double loss) {
    units.insert(units.end(), point.units.begin(), point.units.end());
    categories.insert(categories.end(), point.categories.begin(), point.categories.end());
    losses.push_back(loss);
    // After every equal loss: ties go by order of observation.
    const auto at = std::upper_bound(ranked.begin(), ranked.end(), rank_key(loss),
                                     [&](double key, size_t row) { return key < rank_key(losses[row]); });
    ranked.insert(at, losses.size() - 1);
  }
};

/// The observations a budget needs before it is modelled: `configured`, or,
/// when that is 0, the number of dimensions + 1 (BOHB's default, which GP
/// shares: fewer points leave a d-dimensional model underdetermined).
inline size_t min_points_or_default(size_t configured, const Layout& layout) {
  return configured > 0 ? configured : layout.dimensions.size() + 1;
}

/// The budget a model is built at: the largest with at least `min_points`
/// observations (BOHB's rule), or, while none has that many, the
/// best-populated one (the largest on ties); nothing before any observation.
std::optional<double> reference_budget(const std::map<double, Points>& points, size_t min_points);

/// A trial running at the time of a proposal, in the model's coordinates.
struct RunningTrial {
  std::string key;  // config.dump(): what identifies it among observations
  double budget = 0.0;
  Point point;
};

/// How many of `running` have not been observed at any budget; `observed` is
/// keyed by config.dump() (only its count() is used).
template <class Observed>
size_t count_unobserved(const std::vector<RunningTrial>& running, const Observed& observed) {
  return size_t(std::count_if(running.begin(), running.end(),
                              [&](const RunningTrial& r) { return !observed.count(r.key); }));
}

/// `config` in the model's coordinates. Throws std::invalid_argument, its
/// message starting with `who` (the sampler's name), when the config lacks one
/// of the space's parameters or holds a value the parameter cannot take.
Point encode(const Layout& layout, const SearchSpace& space, const Json& config, const std::string& who);

/// The configuration at `point`, with the layout's constants.
Json decode(const Layout& layout, const SearchSpace& space, const Point& point);

/// Records that `config` started at `budget`; false (nothing recorded) when
/// it is not a configuration of the space (a sweep's own trial).
bool start_running(std::vector<RunningTrial>& running, const Layout& layout, const SearchSpace& space,
                   const Json& config, double budget);

/// Forgets the running trial of `config` at `budget`; false when there is none.
bool end_running(std::vector<RunningTrial>& running, const Json& config, double budget);

}  // namespace cohort::tuner::detail
