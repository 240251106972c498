#include "core/trust_region.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <stdexcept>

#include "core/serialization.h"

namespace core {

TrustRegionProbe probeTrustRegion(const Policy& policy, const VectorXd& thetaOld, const UpdateBatch& batch,
                                  const SurrogateGradient& gradient, const NaturalDirection& direction,
                                  const StepScale& step, const LineSearchResult& search, const UpdateSettings& s,
                                  UpdateWorkspace& ws, const ProbeSettings& ps) {
    if (ps.points < 2) throw std::invalid_argument("the trust-region probe needs at least 2 points");
    const auto t0 = std::chrono::steady_clock::now();
    TrustRegionProbe p;
    p.delta = s.delta;
    p.beta = step.beta;
    p.gx = gradient.g.dot(direction.x);
    p.xFxDamped = direction.xFx;
    p.xFx = direction.xFx - s.cgDamping * direction.x.squaredNorm();
    p.stepNorm = step.stepNorm;
    p.gradNorm = gradient.gradNorm;
    p.directionNorm = direction.x.norm();
    const double cosine = p.gradNorm > 0 && p.directionNorm > 0 ? p.gx / (p.gradNorm * p.directionNorm) : 1.0;
    p.angleDegrees = std::acos(std::clamp(cosine, -1.0, 1.0)) * 180.0 / std::numbers::pi;
    p.trials = search.trials;
    p.outcome = search.outcome;

    // the curve: L and KL at θ_old + αβx, against the linear and the quadratic model
    // in single precision (the curve is drawn, not stepped on; docs/algorithm.md §9)
    VectorXd theta(thetaOld.size());
    prepareFloatTrials(policy, thetaOld, batch, s, ws);
    p.curve.reserve(static_cast<size_t>(ps.points));
    for (int i = 0; i < ps.points; ++i) {
        ProbePoint pt;
        pt.alpha = ps.alphaMax * i / (ps.points - 1);
        if (i > 0) { // at α = 0, θ is θ_old: no change and no KL
            theta = thetaOld + pt.alpha * step.fullStep;
            const TrialEvaluation e = evaluateTrialFloat(policy, theta, batch, s, ws);
            pt.surrogateChange = e.surrogate - gradient.surrogate;
            pt.klMean = e.klMean;
            pt.klMax = e.klMax;
        }
        pt.linearModel = pt.alpha * p.beta * p.gx;
        pt.quadraticModel = 0.5 * (pt.alpha * p.beta) * (pt.alpha * p.beta) * p.xFx;
        p.curve.push_back(pt);
    }

    // the fan: the line search as it would have run with δ′ (the same function the update
    // runs, from θ_old, so the prediction is that update)
    for (double factor : ps.fanFactors) {
        UpdateSettings alt = s;
        alt.delta = s.delta * factor;
        const StepScale altStep = stepScale(gradient.g, direction, alt.delta);
        theta = thetaOld;
        // δ itself: the iteration's own line search is that prediction
        const LineSearchResult r =
            factor == 1.0 ? search : lineSearch(policy, theta, batch, gradient, altStep, alt, ws);
        WhatIfStep w;
        w.delta = alt.delta;
        w.beta = altStep.beta;
        w.outcome = r.outcome;
        w.accepted = r.accepted;
        w.fraction = r.fraction;
        w.alpha = p.beta > 0 ? r.fraction * altStep.beta / p.beta : 0.0;
        w.klMean = r.klMean;
        w.surrogateChange = r.accepted ? r.actualImprovement : 0.0;
        w.backtracks = r.backtracks;
        w.trials = r.trials;
        p.fan.push_back(std::move(w));
    }
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return p;
}

// ---- trust_region.jsonl ---------------------------------------------------------------

namespace {
using json = nlohmann::json;

json trialsJson(const std::vector<LineSearchTrial>& trials) {
    json a = json::array();
    for (const LineSearchTrial& t : trials) a.push_back(trialToJson(t));
    return a;
}
std::vector<LineSearchTrial> trialsFrom(const json& j) {
    std::vector<LineSearchTrial> v;
    for (const json& t : j) v.push_back(trialFromJson(t));
    return v;
}
double number(const json& j, const char* key) { return numberFromJson(j.at(key)); }
} // namespace

json probeToJson(const TrustRegionProbe& p) {
    json curve = json::array();
    for (const ProbePoint& c : p.curve)
        curve.push_back({{"alpha", jsonNumber(c.alpha)},
                         {"surrogate_change", jsonNumber(c.surrogateChange)},
                         {"kl_mean", jsonNumber(c.klMean)},
                         {"kl_max", jsonNumber(c.klMax)},
                         {"linear_model", jsonNumber(c.linearModel)},
                         {"quadratic_model", jsonNumber(c.quadraticModel)}});
    json fan = json::array();
    for (const WhatIfStep& w : p.fan)
        fan.push_back({{"delta", jsonNumber(w.delta)},
                       {"beta", jsonNumber(w.beta)},
                       {"outcome", outcomeName(w.outcome)},
                       {"accepted", w.accepted},
                       {"fraction", jsonNumber(w.fraction)},
                       {"alpha", jsonNumber(w.alpha)},
                       {"kl_mean", jsonNumber(w.klMean)},
                       {"surrogate_change", jsonNumber(w.surrogateChange)},
                       {"backtracks", w.backtracks},
                       {"trials", trialsJson(w.trials)}});
    return {{"iteration", p.iteration},
            {"delta", jsonNumber(p.delta)},
            {"beta", jsonNumber(p.beta)},
            {"gx", jsonNumber(p.gx)},
            {"xFx", jsonNumber(p.xFx)},
            {"xFx_damped", jsonNumber(p.xFxDamped)},
            {"step_norm", jsonNumber(p.stepNorm)},
            {"grad_norm", jsonNumber(p.gradNorm)},
            {"direction_norm", jsonNumber(p.directionNorm)},
            {"angle_degrees", jsonNumber(p.angleDegrees)},
            {"outcome", outcomeName(p.outcome)},
            {"trials", trialsJson(p.trials)},
            {"curve", curve},
            {"fan", fan},
            {"seconds", p.seconds}};
}

TrustRegionProbe probeFromJson(const json& j) {
    if (!j.is_object()) throw std::runtime_error("a trust-region record is not a JSON object");
    try {
        TrustRegionProbe p;
        p.iteration = jsonInteger<int>(j.at("iteration"));
        p.delta = number(j, "delta");
        p.beta = number(j, "beta");
        p.gx = number(j, "gx");
        p.xFx = number(j, "xFx");
        p.xFxDamped = number(j, "xFx_damped");
        p.stepNorm = number(j, "step_norm");
        p.gradNorm = number(j, "grad_norm");
        p.directionNorm = number(j, "direction_norm");
        p.angleDegrees = number(j, "angle_degrees");
        p.outcome = outcomeFromName(j.at("outcome").get<std::string>());
        p.trials = trialsFrom(j.at("trials"));
        for (const json& c : j.at("curve"))
            p.curve.push_back({number(c, "alpha"), number(c, "surrogate_change"), number(c, "kl_mean"),
                               number(c, "kl_max"), number(c, "linear_model"), number(c, "quadratic_model")});
        for (const json& f : j.at("fan")) {
            WhatIfStep w;
            w.delta = number(f, "delta");
            w.beta = number(f, "beta");
            w.outcome = outcomeFromName(f.at("outcome").get<std::string>());
            w.accepted = f.at("accepted").get<bool>();
            w.fraction = number(f, "fraction");
            w.alpha = number(f, "alpha");
            w.klMean = number(f, "kl_mean");
            w.surrogateChange = number(f, "surrogate_change");
            w.backtracks = jsonInteger<int>(f.at("backtracks"));
            w.trials = trialsFrom(f.at("trials"));
            p.fan.push_back(std::move(w));
        }
        p.seconds = number(j, "seconds");
        return p;
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("a trust-region record is missing data or has a wrong type: ") +
                                 e.what());
    }
}

} // namespace core
