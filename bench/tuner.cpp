// Benchmark: the tuner's search methods on test functions with known optima,
// and the cost of a BOHB proposal.
//
// Methods: every sampler x scheduler pair, named "sampler+scheduler", all at
// eta 3 on each objective's [min_budget, max_budget]:
//   samplers    random, bohb (BohbOptions defaults), tpe (TpeOptions defaults), gp (GpOptions defaults)
//   schedulers  fifo (every trial at max_budget), hyperband, asha (one bracket,
//               the scheduler's default), asha-hb (ASHA with all brackets:
//               asynchronous Hyperband; --asha-hb-brackets N for N of them)
// Each runs sequentially (ask, evaluate, tell; no threads) for every seed with
// max_total_budget = K * max_budget. After each completed trial the incumbent
// is the best trial among those completed at the largest budget reached so
// far (what Study::best() returns), and its regret (the incumbent's value at
// max_budget - optimum; an extra evaluation not counted as budget, since a
// budget-aware objective's low budgets are biased) is recorded against the
// budget spent (budgets of the trials started so far, in units of max_budget). Design targets: BOHB reaches the target regret with at
// most a fifth of random search's budget; a model-based BOHB proposal takes
// under 1 ms with 1,000 observations.
//
// Random search rarely reaches the targets within K * max_budget, so its
// budget is also estimated from its hit rate: it draws configurations
// independently at the full budget, so the number it needs is geometric, and
// --random-draws independent draws estimate the chance p that one reaches the
// target.
//
//   build/bin/cohort-bench-tuner [--seeds 20] [--budget-multiple 100] [--json]
//       [--target-branin 0.01] [--target-hartmann6 0.1] [--target-counting-ones 1]
//       [--objectives ...] [--methods ...] [--random-draws 2000000]
//       [--proposal-observations 100 1000 10000] [--proposals 200] [--asha-hb-brackets 0]
//
// Objectives: branin, hartmann6, counting_ones (8 + 8), and the budget-aware
// branin_mf, hartmann6_mf and learning_curve (test_functions/multi_fidelity.h,
// learning_curve.h). Targets for the budget-aware ones are those of their
// base functions; learning_curve's is a validation loss of 0.3.
//
//   build/bin/cohort-bench-tuner --evaluate NAME
// serves the objective NAME to another process (bench/peers/optuna_peer.py):
// it reads JSON lines {"config": {...}, "budget": b} on stdin and answers each
// with one line {"value": v}; a first line {"describe": true} is answered with
// the objective's space, optimum and budgets.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cohort/tuner/test_functions/test_functions.h"
#include "cohort/tuner/samplers/bohb_sampler.h"
#include "cohort/tuner/samplers/random_sampler.h"
#include "cohort/tuner/samplers/gp_sampler.h"
#include "cohort/tuner/samplers/tpe_sampler.h"
#include "cohort/tuner/test_functions/learning_curve.h"
#include "cohort/tuner/test_functions/multi_fidelity.h"
#include "cohort/tuner/schedulers/asha.h"
#include "cohort/tuner/schedulers/fifo.h"
#include "cohort/tuner/schedulers/hyperband.h"
#include "cohort/tuner/study/study.h"
#include "statistics.h"

namespace {

using namespace cohort::tuner;
using Clock = std::chrono::steady_clock;
using cohort::bench::median;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// The incumbent's regret after each completed trial, against the budget spent
/// (in units of max_budget) when that trial had been started.
struct Curve {
  std::vector<double> spent;
  std::vector<double> regret;

  /// Regret with the trials started within `budget` (inf before any completed).
  double regret_at(double budget) const {
    const auto end = std::upper_bound(spent.begin(), spent.end(), budget * (1 + 1e-9));
    return end == spent.begin() ? kInf : regret[size_t(end - spent.begin()) - 1];
  }
  /// The budget spent when the regret first fell to `target` (inf if never).
  double budget_to(double target) const {
    for (size_t i = 0; i < regret.size(); ++i)
      if (regret[i] <= target) return spent[i];
    return kInf;
  }
};

struct Method {
  std::string name;
  std::function<std::unique_ptr<Sampler>(const TestObjective&)> sampler;
  std::function<std::unique_ptr<Scheduler>(const TestObjective&)> scheduler;
};

/// Whether a promoted trial pays only the budget beyond its parent's
/// (--continue-promotions): what it costs when it continues from its parent's
/// checkpoint, as training jobs do and commands can with {parent_dir}, and
/// how the Optuna peer counts a trial that its pruner lets go on. By default
/// it pays its whole budget again.
bool continue_promotions = false;

/// Whether ASHA keeps its promotion quota (AshaOptions::promotion_quota); --published-asha clears it.
bool asha_quota = true;

/// The brackets of method asha-hb (AshaOptions::brackets): 0, all of them, unless --asha-hb-brackets says otherwise.
int64_t asha_hb_brackets = 0;

/// The GP options every study uses: the defaults, or as --gp-set changed them.
GpOptions gp_options;

/// Applies "key=value" to gp_options (for trying options; the tables use the defaults).
void set_gp_option(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("--gp-set wants key=value, not " + assignment);
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  if (key == "startup_trials") gp_options.startup_trials(std::stoul(value));
  else if (key == "num_candidates") gp_options.num_candidates(std::stoul(value));
  else if (key == "max_points") gp_options.max_points(std::stoul(value));
  else if (key == "min_points") gp_options.min_points(std::stoul(value));
  else if (key == "fit_iterations") gp_options.fit_iterations(std::stoul(value));
  else if (key == "believe_pending") gp_options.believe_pending(value == "true" || value == "1");
  else throw std::invalid_argument("--gp-set: unknown option " + key);
}

/// The TPE options every study uses: the defaults, or as --tpe-set changed them.
TpeOptions tpe_options;

/// Applies "key=value" to tpe_options (for trying options; the tables use the defaults).
void set_tpe_option(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("--tpe-set wants key=value, not " + assignment);
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const bool yes = value == "true" || value == "1";
  if (key == "multivariate") tpe_options.multivariate(yes);
  else if (key == "adaptive_bandwidth") tpe_options.adaptive_bandwidth(yes);
  else if (key == "constant_liar") tpe_options.constant_liar(yes);
  else if (key == "magic_clip") tpe_options.magic_clip(yes);
  else if (key == "recency_weights") tpe_options.recency_weights(yes);
  else if (key == "prior_weight") tpe_options.prior_weight(std::stod(value));
  else if (key == "gamma_fraction") tpe_options.gamma_fraction(std::stod(value));
  else if (key == "budget_exponent") tpe_options.budget_exponent(std::stod(value));
  else if (key == "startup_trials") tpe_options.startup_trials(std::stoul(value));
  else if (key == "num_candidates") tpe_options.num_candidates(std::stoul(value));
  else if (key == "gamma_max") tpe_options.gamma_max(std::stoul(value));
  else if (key == "min_points") tpe_options.min_points(std::stoul(value));
  else if (key == "max_bad_kernels") tpe_options.max_bad_kernels(std::stoul(value));
  else if (key == "agreement_exponent") tpe_options.agreement_exponent(std::stod(value));
  else if (key == "random_fraction") tpe_options.random_fraction(std::stod(value));
  else throw std::invalid_argument("--tpe-set: unknown option " + key);
}

using SamplerFactory = std::function<std::unique_ptr<Sampler>(const TestObjective&)>;
using SchedulerFactory = std::function<std::unique_ptr<Scheduler>(const TestObjective&)>;

/// ASHA at eta 3 on the objective's budgets, with `brackets` brackets (0 = all: asynchronous Hyperband).
std::unique_ptr<Scheduler> asha(const TestObjective& o, int64_t brackets) {
  return std::make_unique<AshaScheduler>(AshaOptions()
                                             .min_budget(o.min_budget)
                                             .max_budget(o.max_budget)
                                             .eta(3)
                                             .promotion_quota(asha_quota)
                                             .brackets(brackets));
}

/// Every sampler x scheduler pair, named "sampler+scheduler".
std::vector<Method> methods() {
  const std::vector<std::pair<std::string, SamplerFactory>> samplers = {
      {"random", [](const TestObjective& o) { return std::make_unique<RandomSampler>(o.space); }},
      {"bohb", [](const TestObjective& o) { return std::make_unique<BohbSampler>(o.space, BohbOptions()); }},
      {"tpe", [](const TestObjective& o) { return std::make_unique<TpeSampler>(o.space, tpe_options); }},
      {"gp", [](const TestObjective& o) { return std::make_unique<GpSampler>(o.space, gp_options); }},
  };
  const std::vector<std::pair<std::string, SchedulerFactory>> schedulers = {
      {"fifo", [](const TestObjective& o) { return std::make_unique<FifoScheduler>(o.max_budget); }},
      {"hyperband",
       [](const TestObjective& o) {
         return std::make_unique<HyperbandScheduler>(
             HyperbandOptions().min_budget(o.min_budget).max_budget(o.max_budget).eta(3));
       }},
      {"asha", [](const TestObjective& o) { return asha(o, 1); }},
      {"asha-hb", [](const TestObjective& o) { return asha(o, asha_hb_brackets); }},
  };
  std::vector<Method> out;
  for (const auto& [sampler, make_sampler] : samplers)
    for (const auto& [scheduler, make_scheduler] : schedulers)
      out.push_back({sampler + "+" + scheduler, make_sampler, make_scheduler});
  return out;
}

std::vector<std::string> method_names_all() {
  std::vector<std::string> names;
  for (const auto& method : methods()) names.push_back(method.name);
  return names;
}

const std::vector<std::string> kObjectives = {"branin",       "hartmann6",    "counting_ones",
                                              "branin_mf",    "hartmann6_mf", "learning_curve"};

TestObjective objective_named(const std::string& name) {
  if (name == "branin") return branin();
  if (name == "hartmann6") return hartmann6();
  if (name == "counting_ones") return counting_ones(8, 8);
  if (name == "branin_mf") return branin_multi_fidelity();
  if (name == "hartmann6_mf") return hartmann6_multi_fidelity();
  if (name == "learning_curve") return learning_curve();
  throw std::invalid_argument("unknown objective " + name);
}

/// Serves `name` on stdin/stdout (see the header comment). Returns the exit code.
int serve(const std::string& name) {
  const TestObjective objective = objective_named(name);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const auto request = nlohmann::json::parse(line);
    nlohmann::json answer;
    if (request.value("describe", false)) {
      answer = {{"name", objective.name},           {"space", objective.space.to_json()},
                {"optimum", objective.optimum},     {"min_budget", objective.min_budget},
                {"max_budget", objective.max_budget}};
    } else {
      answer = {{"value", objective.evaluate(request.at("config"), request.at("budget").get<double>())}};
    }
    std::cout << answer.dump() << "\n" << std::flush;
  }
  return 0;
}

struct RunStats {
  Curve curve;
  int64_t trials = 0;
};

/// What `trial` costs (see continue_promotions).
double cost_of(const Study& study, const Trial& trial) {
  if (!continue_promotions || trial.parent < 0) return trial.budget;
  return trial.budget - study.trials().at(trial.parent).trial.budget;
}

RunStats run_study(const TestObjective& objective, const Method& method, uint64_t seed, double budget_multiple) {
  const double limit = budget_multiple * objective.max_budget;
  // The study stops at `limit` itself when it counts as the benchmark does; otherwise the loop does.
  Study study(method.sampler(objective), method.scheduler(objective),
              StudyOptions().seed(seed).max_total_budget(continue_promotions ? 0.0 : limit).sync_journal(false));
  RunStats stats;
  double spent = 0.0, regret = kInf;
  int64_t incumbent = -1;
  // Sequential: nothing is running between tell and ask, so an empty ask() means finished.
  while (spent < limit) {
    const auto trial = study.ask();
    if (!trial) break;
    spent += cost_of(study, *trial);
    const double value = objective.evaluate(trial->config, trial->budget);
    study.tell(*trial, Result::completed(value));
    ++stats.trials;
    const auto best = study.best();
    if (best->trial.id != incumbent) {  // its regret at the full budget: a low budget's value may be biased
      incumbent = best->trial.id;
      regret = objective.evaluate(best->trial.config, objective.max_budget) - objective.optimum;
    }
    stats.curve.spent.push_back(spent / objective.max_budget);
    stats.curve.regret.push_back(regret);
  }
  return stats;
}

std::string number(double x, int digits = 4) {
  if (std::isinf(x)) return "inf";
  if (x == 0.0) return "0";
  const double a = std::abs(x);
  if (a >= 1e-3 && a < 1e5) return fmt::format("{:.{}g}", x, digits);
  return fmt::format("{:.{}e}", x, digits - 1);
}

/// A whole number with thousands separators: 462098 -> "462,098".
std::string grouped(double x) {
  std::string digits = fmt::format("{:.0f}", x), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string budget_text(double budget, double budget_multiple) {
  return std::isinf(budget) ? fmt::format("> {}", number(budget_multiple)) : fmt::format("{:.2f}", budget);
}

/// Budgets (in units of max_budget) from one cheapest evaluation up to the
/// study's total, 8 points per decade, for the regret curves.
std::vector<double> curve_grid(const TestObjective& objective, double budget_multiple) {
  std::vector<double> grid;
  const double first = objective.min_budget / objective.max_budget;
  for (double b = first; b < budget_multiple; b *= std::pow(10.0, 1.0 / 8)) grid.push_back(b);
  grid.push_back(budget_multiple);
  return grid;
}

/// nlohmann::json writes inf as null; keep that meaning explicit.
nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

/// Random search at the full budget draws configurations independently from
/// the prior, so the number of full-budget evaluations it needs to reach a
/// target is geometric with p = P(one draw reaches it). Estimated from `draws`
/// draws; with no hit, p is replaced by its 95% upper bound 3 / draws and the
/// median is a lower bound.
struct HitRate {
  int64_t draws = 0;
  int64_t hits = 0;
  double p = 0.0;
  double median_budget = kInf;  // in units of max_budget
  bool lower_bound = false;
};

HitRate random_hit_rate(const TestObjective& objective, double target, int64_t draws, uint64_t seed) {
  Rng rng(seed);
  HitRate rate;
  rate.draws = draws;
  for (int64_t i = 0; i < draws; ++i)
    if (objective.evaluate(objective.space.sample(rng), objective.max_budget) - objective.optimum <= target) ++rate.hits;
  rate.lower_bound = rate.hits == 0;
  rate.p = rate.hits ? double(rate.hits) / double(draws) : 3.0 / double(draws);
  // The smallest m with 1 - (1 - p)^m >= 1/2.
  rate.median_budget = std::ceil(std::log(0.5) / std::log1p(-rate.p));
  return rate;
}

/// Median microseconds per model-based proposal with `n` observations at one
/// budget: `propose_us` with the model already built, `rebuild_us` with one new
/// observation before each proposal (so each pays for a rebuild, as in a study).
struct ProposalTiming {
  size_t observations;
  double propose_us;
  double rebuild_us;
};

/// A sampler whose every proposal after enough observations is model-based.
std::unique_ptr<Sampler> model_only(const std::string& name, const SearchSpace& space) {
  if (name == "tpe") return std::make_unique<TpeSampler>(space, tpe_options);
  if (name == "gp") return std::make_unique<GpSampler>(space, gp_options);
  return std::make_unique<BohbSampler>(space, BohbOptions().random_fraction(0));
}

ProposalTiming time_proposals(const std::string& name, size_t n, int proposals, uint64_t seed) {
  const TestObjective objective = hartmann6();
  auto first = model_only(name, objective.space);
  Sampler& sampler = *first;
  Rng rng(seed);
  auto observe_random = [&] {
    Json config = objective.space.sample(rng);
    const double loss = objective.evaluate(config, objective.max_budget);
    sampler.observe({std::move(config), objective.max_budget, loss});
  };
  for (size_t i = 0; i < n; ++i) observe_random();
  volatile size_t keep = 0;
  sampler.propose(objective.max_budget, rng);  // builds the model
  std::vector<double> plain, rebuilt;
  for (int i = 0; i < proposals; ++i) {
    const auto start = Clock::now();
    const auto proposal = sampler.propose(objective.max_budget, rng);
    plain.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (!proposal || !proposal->model_based) throw std::runtime_error("expected a model-based proposal");
    keep = keep + proposal->config.size();
  }
  // A second sampler, so the first measurement's model is not disturbed.
  auto second_owner = model_only(name, objective.space);
  Sampler& second = *second_owner;
  Rng rng2(seed);
  for (size_t i = 0; i < n; ++i) {
    Json config = objective.space.sample(rng2);
    second.observe({config, objective.max_budget, objective.evaluate(config, objective.max_budget)});
  }
  for (int i = 0; i < proposals; ++i) {
    Json config = objective.space.sample(rng2);
    const double loss = objective.evaluate(config, objective.max_budget);
    const auto start = Clock::now();
    second.observe({std::move(config), objective.max_budget, loss});
    const auto proposal = second.propose(objective.max_budget, rng2);
    rebuilt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    keep = keep + proposal->config.size();
  }
  (void)keep;
  return {n, median(plain), median(rebuilt)};
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 20;
  double budget_multiple = 100.0;
  double target_branin = 0.01, target_hartmann6 = 0.1, target_counting_ones = 1.0;
  double target_learning_curve = 0.3;
  std::vector<std::string> objective_names = kObjectives;
  std::vector<std::string> method_names = method_names_all();
  std::string evaluate;
  std::vector<std::string> tpe_set, gp_set;
  std::vector<size_t> proposal_sizes = {100, 1000, 10000};
  int proposals = 200;
  int64_t random_draws = 2000000;
  bool json = false;
  CLI::App app{"The tuner's search methods against test functions with known optima, and BOHB's proposal time."};
  app.add_option("--seeds", seeds, "studies per objective and method")->check(CLI::PositiveNumber);
  app.add_option("--budget-multiple", budget_multiple, "each study's total budget, in units of max_budget")
      ->check(CLI::PositiveNumber);
  app.add_option("--target-branin", target_branin, "target regret on branin");
  app.add_option("--target-hartmann6", target_hartmann6, "target regret on hartmann6");
  app.add_option("--target-counting-ones", target_counting_ones, "target regret on counting_ones(8, 8)");
  app.add_option("--target-learning-curve", target_learning_curve, "target validation loss on learning_curve");
  app.add_option("--objectives", objective_names, "which objectives (default: all)")->check(CLI::IsMember(kObjectives));
  app.add_option("--methods", method_names, "which sampler+scheduler pairs (default: all)")
      ->check(CLI::IsMember(method_names_all()));
  app.add_option("--evaluate", evaluate, "serve this objective on stdin/stdout instead (JSON lines)")
      ->check(CLI::IsMember(kObjectives));
  app.add_option("--proposal-observations", proposal_sizes, "observation counts for the proposal timing (0: skip it)");
  app.add_option("--random-draws", random_draws,
                 "independent full-budget draws to estimate random search's hit rate (0: skip)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--proposals", proposals, "proposals timed at each count")->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "also print one JSON line per measurement");
  app.add_flag("--continue-promotions", continue_promotions,
               "a promoted trial pays only the budget beyond its parent's (it continues from its checkpoint)");
  app.add_flag("--published-asha", [](int64_t) { asha_quota = false; },
               "ASHA without the promotion quota, as Li et al. (2020) publish it");
  app.add_option("--asha-hb-brackets", asha_hb_brackets, "brackets of method asha-hb (0: all, asynchronous Hyperband)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tpe-set", tpe_set, "key=value: change a TpeOptions default (for experiments)");
  app.add_option("--gp-set", gp_set, "key=value: change a GpOptions default (for experiments)");
  CLI11_PARSE(app, argc, argv);
  for (const auto& assignment : tpe_set) set_tpe_option(assignment);
  for (const auto& assignment : gp_set) set_gp_option(assignment);
  if (!evaluate.empty()) return serve(evaluate);

  std::ostringstream command;
  for (int i = 0; i < argc; ++i) command << (i ? " " : "") << argv[i];
  std::cout << "command: " << command.str() << "\n";
  std::cout << fmt::format("seeds {}, total budget {} x max_budget per study, eta 3, sequential\n\n", seeds,
                           number(budget_multiple));

  std::vector<nlohmann::json> lines;
  std::vector<Method> all_methods;
  for (const auto& method : methods())
    if (std::find(method_names.begin(), method_names.end(), method.name) != method_names.end())
      all_methods.push_back(method);
  std::vector<double> checkpoints;
  for (double b : {10.0, 30.0, 100.0})
    if (b <= budget_multiple) checkpoints.push_back(b);
  if (checkpoints.empty() || checkpoints.back() < budget_multiple) checkpoints.push_back(budget_multiple);

  struct ToTarget {
    std::string objective;
    double target;
    std::map<std::string, double> median_budget;
    std::map<std::string, int> reached;
    HitRate random_rate;
  };
  std::vector<ToTarget> to_target;

  for (const auto& name : objective_names) {
    const TestObjective objective = objective_named(name);
    const std::map<std::string, double> targets = {
        {"branin", target_branin},       {"hartmann6", target_hartmann6},       {"counting_ones", target_counting_ones},
        {"branin_mf", target_branin},    {"hartmann6_mf", target_hartmann6},    {"learning_curve", target_learning_curve}};
    const double target = targets.at(name);
    ToTarget row{objective.name, target, {}, {}, {}};
    std::cout << fmt::format("### {} (optimum {}, budgets {}..{})\n\n", objective.name, number(objective.optimum, 6),
                             number(objective.min_budget), number(objective.max_budget));
    std::cout << "| method |";
    for (double b : checkpoints) std::cout << " regret at " << number(b) << " |";
    std::cout << " trials per study (median) | wall s |\n| --- |";
    for (size_t i = 0; i < checkpoints.size(); ++i) std::cout << " --- |";
    std::cout << " --- | --- |\n";
    for (const auto& method : all_methods) {
      const auto start = Clock::now();
      std::vector<std::vector<double>> at(checkpoints.size());
      // The median regret curve on a log grid of budgets, for plots (bench/plot_tuner.py).
      const auto grid = curve_grid(objective, budget_multiple);
      std::vector<std::vector<double>> on_grid(grid.size());
      std::vector<double> budgets, trials;
      int reached = 0;
      for (int s = 0; s < seeds; ++s) {
        const RunStats stats = run_study(objective, method, uint64_t(s + 1), budget_multiple);
        for (size_t c = 0; c < checkpoints.size(); ++c) at[c].push_back(stats.curve.regret_at(checkpoints[c]));
        for (size_t g = 0; g < grid.size(); ++g) on_grid[g].push_back(stats.curve.regret_at(grid[g]));
        budgets.push_back(stats.curve.budget_to(target));
        reached += std::isfinite(budgets.back());
        trials.push_back(double(stats.trials));
      }
      const double wall = std::chrono::duration<double>(Clock::now() - start).count();
      std::cout << "| " << method.name << " |";
      for (size_t c = 0; c < checkpoints.size(); ++c) {
        const double m = median(at[c]);
        std::cout << " " << number(m) << " |";
        lines.push_back({{"benchmark", "tuner"},       {"measure", "median_regret"}, {"objective", objective.name},
                         {"method", method.name},      {"seeds", seeds},             {"budget", checkpoints[c]},
                         {"value", finite_or_null(m)}});
      }
      std::cout << fmt::format(" {:.0f} | {:.1f} |\n", median(trials), wall) << std::flush;
      nlohmann::json curve = nlohmann::json::array();
      for (size_t g = 0; g < grid.size(); ++g) curve.push_back({grid[g], finite_or_null(median(on_grid[g]))});
      lines.push_back({{"benchmark", "tuner"}, {"measure", "median_regret_curve"}, {"objective", objective.name},
                       {"method", method.name}, {"seeds", seeds}, {"points", curve}});
      row.median_budget[method.name] = median(budgets);
      row.reached[method.name] = reached;
      lines.push_back({{"benchmark", "tuner"},
                       {"measure", "budget_to_target"},
                       {"objective", objective.name},
                       {"method", method.name},
                       {"seeds", seeds},
                       {"target", target},
                       {"value", finite_or_null(median(budgets))},
                       {"seeds_reached", reached},
                       {"budget_multiple", budget_multiple},
                       {"wall_seconds", wall}});
    }
    std::cout << "\n";
    // Training a model two million times would take hours: no hit rate for the learning curve.
    if (random_draws > 0 && name != "learning_curve")
      row.random_rate = random_hit_rate(objective, target, random_draws, 12345);
    to_target.push_back(row);
  }

  if (!to_target.empty()) {
    std::cout << "### Budget to reach the target regret (x max_budget, median over seeds; a seed that never "
                 "reaches it counts as > "
              << number(budget_multiple) << ")\n\n| objective | target |";
    for (const auto& method : all_methods) std::cout << " " << method.name << " |";
    std::cout << " random+fifo / bohb+hyperband |\n| --- | --- |";
    for (size_t i = 0; i < all_methods.size(); ++i) std::cout << " --- |";
    std::cout << " --- |\n";
    for (const auto& row : to_target) {
      std::cout << "| " << row.objective << " | " << number(row.target) << " |";
      for (const auto& method : all_methods)
        std::cout << " " << budget_text(row.median_budget.at(method.name), budget_multiple) << " ("
                  << row.reached.at(method.name) << "/" << seeds << ") |";
      const bool both = row.median_budget.count("random+fifo") && row.median_budget.count("bohb+hyperband");
      const double r = both ? row.median_budget.at("random+fifo") : kInf;
      const double b = both ? row.median_budget.at("bohb+hyperband") : kInf;
      std::string ratio;
      if (!both) ratio = "n/a (not run)";
      else if (std::isinf(b)) ratio = "n/a (bohb > budget)";
      else if (std::isinf(r)) ratio = fmt::format("> {:.1f}", std::floor(10 * budget_multiple / b) / 10);
      else ratio = fmt::format("{:.2f}", r / b);
      std::cout << " " << ratio << " |\n";
      lines.push_back({{"benchmark", "tuner"},
                       {"measure", "random_over_bohb_budget"},
                       {"objective", row.objective},
                       {"target", row.target},
                       {"value", std::isfinite(r) && std::isfinite(b) ? nlohmann::json(r / b) : nlohmann::json()},
                       {"lower_bound", std::isinf(r) && std::isfinite(b) ? nlohmann::json(budget_multiple / b)
                                                                        : nlohmann::json()}});
    }
    std::cout << "\n(n/N: seeds that reached the target.)\n\n";
  }

  if (random_draws > 0 && !to_target.empty()) {
    std::cout << "### Random search's budget to the target, from its hit rate (" << random_draws
              << " independent draws at max_budget; the budget is geometric, its median ceil(ln 0.5 / ln(1 - p)))\n\n"
              << "| objective | target | hits | p | random, median budget | bohb, measured median | random / bohb |\n"
              << "| --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& row : to_target) {
      const HitRate& rate = row.random_rate;
      if (rate.draws == 0) continue;  // not estimated (the learning curve)
      const double b = row.median_budget.count("bohb+hyperband") ? row.median_budget.at("bohb+hyperband") : kInf;
      const std::string prefix = rate.lower_bound ? "> " : "";  // of the budget
      std::string ratio = "n/a";
      // Bounds are rounded outwards, so "> x" and "< x" stay true.
      if (std::isfinite(b))
        ratio = rate.lower_bound ? fmt::format("> {:.1f}", std::floor(10 * rate.median_budget / b) / 10)
                                 : fmt::format("{:.1f}", rate.median_budget / b);
      else if (row.median_budget.count("bohb+hyperband") && !rate.lower_bound)
        ratio = fmt::format("< {:.1f}", std::ceil(10 * rate.median_budget / budget_multiple) / 10);
      std::cout << fmt::format("| {} | {} | {} | {}{} | {}{} | {} | {} |\n", row.objective, number(row.target),
                               rate.hits, rate.lower_bound ? "< " : "", number(rate.p, 3), prefix,
                               grouped(rate.median_budget), budget_text(b, budget_multiple), ratio);
      lines.push_back({{"benchmark", "tuner"},
                       {"measure", "random_budget_from_hit_rate"},
                       {"objective", row.objective},
                       {"target", row.target},
                       {"draws", rate.draws},
                       {"hits", rate.hits},
                       {"p", rate.p},
                       {"median_budget", rate.median_budget},
                       {"lower_bound", rate.lower_bound},
                       {"random_over_bohb", std::isfinite(b) ? nlohmann::json(rate.median_budget / b) : nlohmann::json()}});
    }
    std::cout << "\n(\"< p\": no hit, so p is below its 95% bound 3 / draws and the budget above the figure shown.)\n\n"
              << std::flush;
  }

  proposal_sizes.erase(std::remove(proposal_sizes.begin(), proposal_sizes.end(), size_t(0)), proposal_sizes.end());
  if (!proposal_sizes.empty()) {
    std::cout << "### Proposal time (hartmann6's 6-d space, one budget, bohb with random_fraction 0, tpe and gp with "
                 "their defaults; "
              << proposals << " proposals; median microseconds)\n\n"
              << "| sampler | observations | propose (model built) | observe + propose (model rebuilt) |\n"
              << "| --- | --- | --- | --- |\n";
    for (const std::string sampler : {"bohb", "tpe", "gp"}) {
      for (const size_t n : proposal_sizes) {
        const ProposalTiming t = time_proposals(sampler, n, proposals, 7);
        std::cout << fmt::format("| {} | {} | {:.1f} | {:.1f} |\n", sampler, n, t.propose_us, t.rebuild_us)
                  << std::flush;
        lines.push_back({{"benchmark", "tuner"},
                         {"measure", sampler + "_proposal_us"},
                         {"observations", n},
                         {"proposals", proposals},
                         {"propose_us", t.propose_us},
                         {"observe_and_propose_us", t.rebuild_us}});
      }
    }
    std::cout << "\n";
  }

  if (json)
    for (const auto& line : lines) std::cout << line.dump() << "\n";
  std::cout << std::flush;
  return 0;
}
