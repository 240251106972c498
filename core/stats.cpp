#include "core/stats.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/serialization.h"

namespace core {

using json = nlohmann::json;

const char* outcomeName(LineSearchOutcome o) {
    switch (o) {
        case LineSearchOutcome::Accepted: return "accepted";
        case LineSearchOutcome::KlExceeded: return "kl_exceeded";
        case LineSearchOutcome::NoImprovement: return "no_improvement";
        case LineSearchOutcome::NonFinite: return "non_finite";
        case LineSearchOutcome::NonPositiveCurvature: return "non_positive_curvature";
        case LineSearchOutcome::ZeroGradient: return "zero_gradient";
    }
    return "unknown";
}

LineSearchOutcome outcomeFromName(const std::string& name) {
    using O = LineSearchOutcome;
    for (O o : {O::Accepted, O::KlExceeded, O::NoImprovement, O::NonFinite, O::NonPositiveCurvature, O::ZeroGradient})
        if (name == outcomeName(o)) return o;
    throw std::runtime_error("unknown line-search outcome '" + name + "'");
}

const char* divergenceName(Divergence d) {
    switch (d) {
        case Divergence::None: return "none";
        case Divergence::NonFiniteEnvironment: return "non_finite_environment";
        case Divergence::NonFiniteUpdate: return "non_finite_update";
        case Divergence::NonFiniteCritic: return "non_finite_critic";
        case Divergence::ReturnCollapse: return "return_collapse";
    }
    return "unknown";
}

Divergence divergenceFromName(const std::string& name) {
    using D = Divergence;
    for (D d : {D::None, D::NonFiniteEnvironment, D::NonFiniteUpdate, D::NonFiniteCritic, D::ReturnCollapse})
        if (name == divergenceName(d)) return d;
    throw std::runtime_error("unknown divergence '" + name + "'");
}

json jsonNumber(double v) {
    if (std::isfinite(v)) return v;
    if (std::isnan(v)) return "nan";
    return v > 0 ? "inf" : "-inf";
}

double numberFromJson(const json& j) {
    if (j.is_number()) return j.get<double>();
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    throw std::runtime_error("expected a number, found " + j.dump());
}

json trialToJson(const LineSearchTrial& t) {
    return {{"fraction", jsonNumber(t.fraction)},
            {"kl", jsonNumber(t.kl)},
            {"surrogate", jsonNumber(t.surrogate)},
            {"actual_improvement", jsonNumber(t.actualImprovement)},
            {"expected_improvement", jsonNumber(t.expectedImprovement)},
            {"accepted", t.accepted}};
}

LineSearchTrial trialFromJson(const json& t) {
    return {numberFromJson(t.at("fraction")), numberFromJson(t.at("kl")), numberFromJson(t.at("surrogate")),
            numberFromJson(t.at("actual_improvement")), numberFromJson(t.at("expected_improvement")),
            t.at("accepted").get<bool>()};
}

namespace {

using S = IterationStats;
// clang-format off
const std::vector<StatsField> kFields = {
    {"iteration", "Iteration", "Iteration", "", &S::iteration},
    {"env_steps", "Environment steps", "Environment steps", "steps", &S::envSteps},
    {"wall_seconds", "Wall time", "Wall time", "s", &S::wallSeconds, true},
    {"episodes", "Episodes finished", "Episodes finished", "", &S::episodes},
    {"return_mean", "Mean return", "mean", "", &S::returnMean},
    {"return_min", "Min return", "min", "", &S::returnMin},
    {"return_max", "Max return", "max", "", &S::returnMax},
    {"return_std", "Return std", "Return std", "", &S::returnStd},
    {"length_mean", "Mean episode length", "Mean episode length", "steps", &S::lengthMean},
    {"recent_return_mean", "Mean return (last 20 episodes)", "last-20 mean", "", &S::recentReturnMean},
    {"delta", "δ", "δ", "nats", &S::delta},
    {"kl_mean", "Mean KL of the step", "KL of the step", "nats", &S::klMean},
    {"kl_max", "Max KL of the step", "max KL", "nats", &S::klMax},
    {"trial_kl_first", "Mean KL of the full step", "KL of the full step", "nats", &S::trialKlFirst, false, nullptr, true},
    {"trial_kl_last", "Mean KL of the last trial", "KL of the last trial", "nats", &S::trialKlLast, false, nullptr, true},
    {"accepted", "Step accepted", "Step accepted", "", &S::accepted},
    {"line_search_reason", "Line-search outcome", "Line-search outcome", "", &S::outcome},
    {"backtracks", "Backtracks", "backtracks", "", &S::backtracks},
    {"step_fraction", "Step fraction", "Step fraction", "", &S::stepFraction},
    {"surrogate_before", "Surrogate before", "Surrogate before", "", &S::surrogateBefore},
    {"surrogate_after", "Surrogate after", "Surrogate after", "", &S::surrogateAfter},
    {"expected_improvement", "Expected improvement", "expected", "", &S::expectedImprovement},
    {"actual_improvement", "Actual improvement", "actual", "", &S::actualImprovement},
    {"improvement_ratio", "Actual / expected improvement", "Actual / expected improvement", "", &S::improvementRatio},
    {"cg_iterations", "CG iterations", "CG iterations", "", &S::cgIterations},
    {"cg_residuals", "CG residual", "residual", "", &S::cgResiduals, false, "cg_residual"},
    {"grad_norm", "|g|", "|g|", "", &S::gradNorm},
    {"step_norm", "|βx|", "|βx|", "", &S::stepNorm},
    {"xFx", "xᵀFx", "xᵀFx", "", &S::xFx},
    {"beta", "β", "β", "", &S::beta},
    {"entropy", "Entropy", "entropy", "nats", &S::entropy},
    {"std_mean", "Policy std (mean)", "std (mean)", "", &S::stdMean},
    {"value_loss_before", "Value loss before the fit", "loss before", "", &S::valueLossBefore},
    {"value_loss_after", "Value loss after the fit", "value loss", "", &S::valueLossAfter},
    {"explained_variance_before", "Explained variance before the fit", "explained variance (before fit)", "", &S::explainedVarianceBefore},
    {"explained_variance_after", "Explained variance after the fit", "after fit (in-sample)", "", &S::explainedVarianceAfter},
    {"advantage_mean", "Advantage mean", "Advantage mean", "", &S::advantageMean},
    {"advantage_std", "Advantage std", "Advantage std", "", &S::advantageStd},
    {"non_finite_env_steps", "Non-finite environment steps", "non-finite steps", "steps", &S::nonFiniteEnvSteps, false, nullptr, true},
    {"divergence", "Divergence", "Divergence", "", &S::divergence, false, nullptr, true},
    {"seconds_sampling", "Sampling", "sampling", "s", &S::secondsSampling, true},
    {"seconds_advantages", "Advantages", "advantages", "s", &S::secondsAdvantages, true},
    {"seconds_gradient", "Gradient", "gradient", "s", &S::secondsGradient, true},
    {"seconds_cg", "Conjugate gradient", "CG", "s", &S::secondsCg, true},
    {"seconds_line_search", "Line search", "line search", "s", &S::secondsLineSearch, true},
    {"seconds_value_fit", "Value fit", "critic", "s", &S::secondsValueFit, true},
    {"seconds_probe", "Trust-region probe", "probe", "s", &S::secondsProbe, true, nullptr, true},
    {"steps_per_second", "Steps per second", "steps/s", "steps/s", &S::stepsPerSecond, true},
    {"cg_iters_setting", "CG iterations (setting)", "CG iterations (setting)", "", &S::cgItersSetting},
    {"cg_damping", "CG damping", "CG damping", "", &S::cgDamping},
    // the first-order algorithms: in the JSON history only, so progress.csv keeps TRPO's columns
    {"kl_beta", "KL penalty β", "β (KL penalty)", "", &S::klBeta, false, "", true},
    {"clip_fraction", "Clip fraction", "clip fraction", "", &S::clipFraction, false, "", true},
    {"adam_steps", "Policy Adam steps", "Adam steps", "", &S::adamSteps, false, "", true},
    // lists: in the JSON history only
    {"std_per_dim", "Policy std per action dimension", "Policy std per action dimension", "", &S::stdPerDim, false, ""},
    {"line_search_trials", "Line-search trials", "Line-search trials", "", &S::trials, false, ""},
};
// clang-format on

// names older studio histories (history.json, format version 1) used
const std::vector<std::pair<const char*, const char*>> kOldKeys = {
    {"xfx", "xFx"}, {"outcome", "line_search_reason"}, {"trials", "line_search_trials"}};

std::string num(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

double parseNum(const std::string& t) {
    if (t == "nan" || t == "-nan") return std::numeric_limits<double>::quiet_NaN();
    if (t == "inf") return std::numeric_limits<double>::infinity();
    if (t == "-inf") return -std::numeric_limits<double>::infinity();
    size_t used = 0;
    const double v = std::stod(t, &used);
    if (used != t.size()) throw std::invalid_argument(t);
    return v;
}
long long parseInteger(const std::string& t) {
    size_t used = 0;
    const long long v = std::stoll(t, &used);
    if (used != t.size()) throw std::invalid_argument(t);
    return v;
}

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

} // namespace

const std::vector<StatsField>& statsFields() { return kFields; }

const StatsField* findStatsField(const std::string& key) {
    for (const StatsField& f : kFields)
        if (key == f.key || (f.inCsv() && key == f.column())) return &f;
    return nullptr;
}

std::optional<double> statsValue(const IterationStats& s, const StatsField& f) {
    return std::visit(
        Overload{[&](std::optional<double> S::*m) { return s.*m; },
                 [&](std::vector<double> S::*m) -> std::optional<double> {
                     if ((s.*m).empty() || m != &S::cgResiduals) return std::nullopt;
                     return (s.*m).back();
                 },
                 [&](std::vector<LineSearchTrial> S::*) -> std::optional<double> { return std::nullopt; },
                 [&](LineSearchOutcome S::*m) -> std::optional<double> { return static_cast<double>(s.*m); },
                 [&](auto m) -> std::optional<double> { return static_cast<double>(s.*m); }},
        f.member);
}

// ---- progress.csv -------------------------------------------------------------------

std::string csvHeader() {
    std::string h;
    for (const StatsField& f : kFields) {
        if (!f.inCsv()) continue;
        if (!h.empty()) h += ',';
        h += f.column();
    }
    return h;
}

std::string csvRow(const IterationStats& s) {
    std::string row;
    bool first = true;
    for (const StatsField& f : kFields) {
        if (!f.inCsv()) continue;
        if (!first) row += ',';
        first = false;
        row += std::visit(Overload{[&](int S::*m) { return std::to_string(s.*m); },
                                   [&](std::int64_t S::*m) { return std::to_string(s.*m); },
                                   [&](double S::*m) { return num(s.*m); },
                                   [&](std::optional<double> S::*m) { return (s.*m) ? num(*(s.*m)) : std::string(); },
                                   [&](bool S::*m) { return std::string((s.*m) ? "1" : "0"); },
                                   [&](LineSearchOutcome S::*m) { return std::string(outcomeName(s.*m)); },
                                   [&](Divergence S::*m) { return std::string(divergenceName(s.*m)); },
                                   [&](std::vector<double> S::*m) {
                                       // cg_residual: the last residual (0 when CG did not run)
                                       return num((s.*m).empty() ? 0.0 : (s.*m).back());
                                   },
                                   [&](std::vector<LineSearchTrial> S::*) { return std::string(); }},
                          f.member);
    }
    return row;
}

std::vector<std::string> splitCsvLine(const std::string& line) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream in(line);
    while (std::getline(in, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    return cells;
}

IterationStats statsFromCsv(const std::vector<std::string>& header, const std::vector<std::string>& cells) {
    if (cells.size() != header.size())
        throw std::runtime_error("a row has " + std::to_string(cells.size()) + " cells, the header " +
                                 std::to_string(header.size()));
    IterationStats s;
    for (size_t i = 0; i < header.size(); ++i) {
        const StatsField* f = findStatsField(header[i]);
        if (!f) continue; // a column of a newer version: ignored
        const std::string& t = cells[i];
        try {
            std::visit(Overload{[&](int S::*m) { s.*m = static_cast<int>(parseInteger(t)); },
                                [&](std::int64_t S::*m) { s.*m = parseInteger(t); },
                                [&](double S::*m) { s.*m = parseNum(t); },
                                [&](std::optional<double> S::*m) {
                                    s.*m = t.empty() ? std::nullopt : std::optional<double>(parseNum(t));
                                },
                                [&](bool S::*m) { s.*m = parseInteger(t) != 0; },
                                [&](LineSearchOutcome S::*m) { s.*m = outcomeFromName(t); },
                                [&](Divergence S::*m) { s.*m = divergenceFromName(t); },
                                [&](std::vector<double> S::*m) { s.*m = {parseNum(t)}; },
                                [&](std::vector<LineSearchTrial> S::*) {}},
                       f->member);
        } catch (const std::runtime_error& e) {
            throw std::runtime_error("column " + header[i] + ": " + e.what());
        } catch (const std::logic_error&) {
            throw std::runtime_error("column " + header[i] + ": '" + t + "' is not a number");
        }
    }
    return s;
}

// ---- JSON history -------------------------------------------------------------------

json statsToJson(const IterationStats& s, bool withTiming) {
    json j = json::object();
    for (const StatsField& f : kFields) {
        if (f.timing && !withTiming) continue;
        j[f.key] = std::visit(
            Overload{[&](int S::*m) { return json(s.*m); }, [&](std::int64_t S::*m) { return json(s.*m); },
                     [&](double S::*m) { return jsonNumber(s.*m); },
                     [&](std::optional<double> S::*m) { return (s.*m) ? jsonNumber(*(s.*m)) : json(nullptr); },
                     [&](bool S::*m) { return json(s.*m); },
                     [&](LineSearchOutcome S::*m) { return json(outcomeName(s.*m)); },
                     [&](Divergence S::*m) { return json(divergenceName(s.*m)); },
                     [&](std::vector<double> S::*m) {
                         json a = json::array();
                         for (double x : s.*m) a.push_back(jsonNumber(x));
                         return a;
                     },
                     [&](std::vector<LineSearchTrial> S::*m) {
                         json a = json::array();
                         for (const LineSearchTrial& t : s.*m) a.push_back(trialToJson(t));
                         return a;
                     }},
            f.member);
    }
    return j;
}

IterationStats statsFromJson(const json& jIn) {
    if (!jIn.is_object()) throw std::runtime_error("an iteration record is not a JSON object");
    IterationStats s;
    for (const StatsField& f : kFields) {
        const json* v = nullptr;
        if (jIn.contains(f.key)) {
            v = &jIn.at(f.key);
        } else {
            for (const auto& [oldKey, newKey] : kOldKeys)
                if (newKey == std::string(f.key) && jIn.contains(oldKey)) v = &jIn.at(oldKey);
        }
        if (!v) {
            if (f.timing || f.optional) continue; // histories compared without timing leave these out
            throw std::runtime_error(std::string("an iteration record has no ") + f.key);
        }
        const json& x = *v;
        try {
            std::visit(Overload{[&](int S::*m) { s.*m = jsonInteger<int>(x); },
                                [&](std::int64_t S::*m) { s.*m = jsonInteger<std::int64_t>(x); },
                                [&](double S::*m) { s.*m = numberFromJson(x); },
                                [&](std::optional<double> S::*m) {
                                    s.*m = x.is_null() ? std::nullopt : std::optional<double>(numberFromJson(x));
                                },
                                [&](bool S::*m) { s.*m = x.get<bool>(); },
                                [&](LineSearchOutcome S::*m) { s.*m = outcomeFromName(x.get<std::string>()); },
                                [&](Divergence S::*m) { s.*m = divergenceFromName(x.get<std::string>()); },
                                [&](std::vector<double> S::*m) {
                                    (s.*m).clear();
                                    for (const json& e : x) (s.*m).push_back(numberFromJson(e));
                                },
                                [&](std::vector<LineSearchTrial> S::*m) {
                                    (s.*m).clear();
                                    for (const json& t : x) (s.*m).push_back(trialFromJson(t));
                                }},
                       f.member);
        } catch (const json::exception& e) {
            throw std::runtime_error(std::string("an iteration record's ") + f.key + " has a wrong type (" + e.what() +
                                     ")");
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(std::string("an iteration record's ") + f.key + ": " + e.what());
        }
    }
    return s;
}

std::string progressLine(const IterationStats& s) {
    char buf[400];
    const std::string ret = s.recentReturnMean ? num(*s.recentReturnMean) : std::string("-");
    std::snprintf(buf, sizeof buf,
                  "iter %4d  steps %8lld  return(last20) %9s  episodes %3d  kl %.5f/%.4g  %s  bt %d  "
                  "ev %.3f  %.0f steps/s",
                  s.iteration, static_cast<long long>(s.envSteps), ret.c_str(), s.episodes, s.klMean, s.delta,
                  outcomeName(s.outcome), s.backtracks, s.explainedVarianceBefore, s.stepsPerSecond);
    return buf;
}

} // namespace core
