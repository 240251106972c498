#include "ui/teach/phase_snapshot.h"

#include <QStringList>
#include <algorithm>
#include <cmath>
#include <numbers>

namespace ui {

namespace {

// three significant digits, for reading (TEACHING.md: exact values are a hover away)
QString n3(double v) {
    if (!std::isfinite(v)) return std::isnan(v) ? QStringLiteral("NaN") : (v > 0 ? "∞" : "−∞");
    QString s = QString::number(v, 'g', 3);
    if (s.startsWith('-')) s.replace(0, 1, QStringLiteral("−"));
    return s;
}
QString eq(const QString& general, const QString& numbers) {
    return QStringLiteral("<p style='margin:0'>%1</p><p style='margin:0'><b>%2</b></p>").arg(general, numbers);
}
int shownIndex(core::Phase p) { return static_cast<int>(p) + 1; }

} // namespace

StatePlane statePlane(const std::string& envId, int obsDim) {
    // the two coordinates a class recognises: cart position against pole angle, and so on
    if (envId.rfind("CartPoleSwingUp", 0) == 0 && obsDim >= 4) return {0, 2, "cart x", "cos θ"};
    if (envId.rfind("CartPole", 0) == 0 && obsDim >= 3) return {0, 2, "cart x", "pole angle θ (rad)"};
    if (envId.rfind("Pendulum", 0) == 0 && obsDim >= 3) return {1, 2, "sin θ", "angular velocity"};
    if (envId.rfind("MountainCar", 0) == 0 && obsDim >= 2) return {0, 1, "position", "velocity"};
    if (envId.rfind("Acrobot", 0) == 0 && obsDim >= 4) return {0, 2, "cos θ₁", "cos θ₂"};
    if (envId.rfind("LunarLander", 0) == 0 && obsDim >= 2) return {0, 1, "x", "y"};
    if (envId.rfind("BipedalWalker", 0) == 0 && obsDim >= 3) return {0, 2, "hull angle", "horizontal speed"};
    return {0, std::min(1, obsDim - 1), "observation 0", obsDim > 1 ? "observation 1" : "observation 0"};
}

QColor advantageColour(double z) {
    // Okabe-Ito blue and orange, as the plots use
    const QColor mid(200, 200, 200), blue(0, 114, 178), orange(230, 159, 0);
    const double t = std::clamp(z / 2.0, -1.0, 1.0);
    const QColor to = t > 0 ? orange : blue;
    const double a = std::abs(t);
    return QColor::fromRgbF(static_cast<float>(mid.redF() + a * (to.redF() - mid.redF())),
                            static_cast<float>(mid.greenF() + a * (to.greenF() - mid.greenF())),
                            static_cast<float>(mid.blueF() + a * (to.blueF() - mid.blueF())));
}

std::vector<QColor> advantageColours(const std::vector<double>& advantages) {
    const size_t n = std::max<size_t>(1, advantages.size());
    double mean = 0, sq = 0;
    for (double a : advantages) mean += a;
    mean /= static_cast<double>(n);
    for (double a : advantages) sq += (a - mean) * (a - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n)) + 1e-12;
    std::vector<QColor> out;
    out.reserve(advantages.size());
    for (double a : advantages) out.push_back(advantageColour((a - mean) / sd));
    return out;
}

PhaseSnapshotPtr makePhaseSnapshot(const core::PhaseResult& r, const core::Trainer& trainer) {
    using core::Phase;
    if (r.phase == Phase::Report) return nullptr;
    auto s = std::make_shared<PhaseSnapshot>();
    const core::IterationStats& st = r.stats;
    const core::TrpoConfig& cfg = trainer.config();
    s->phase = r.phase;
    s->iteration = st.iteration;
    s->index = shownIndex(r.phase);
    s->title = QStringLiteral("%1 / %2 · %3").arg(s->index).arg(kShownPhases).arg(core::phaseTitle(r.phase));
    s->delta = st.delta;
    switch (r.phase) {
        case Phase::Sample: {
            const auto& res = std::get<core::SampleResult>(r.result);
            for (const core::Episode& e : res.episodes) s->values.push_back(e.ret);
            s->equation = eq(QStringLiteral("Run π<sub>θ</sub> in the environment: N steps of (s<sub>t</sub>, a<sub>t</sub>, r<sub>t</sub>)"),
                             QStringLiteral("N = %1 steps · %2 episodes finished · mean return %3")
                                 .arg(res.steps)
                                 .arg(res.episodes.size())
                                 .arg(st.returnMean ? n3(*st.returnMean) : QStringLiteral("–")));
            s->reading = QStringLiteral("Every update learns only from this batch: the returns of the episodes it finished.");
            break;
        }
        case Phase::Advantages: {
            const auto& res = std::get<core::AdvantagesResult>(r.result);
            const core::Batch& b = trainer.batch();
            const StatePlane plane = statePlane(trainer.spec().id, static_cast<int>(b.obs.rows()));
            s->xLabel = plane.xLabel;
            s->yLabel = plane.yLabel;
            // raw observations, so the axes are in the environment's units; at most 4000 points
            const int n = static_cast<int>(res.advantages.size());
            const int stride = std::max(1, n / 4000);
            s->stateDim = static_cast<int>(b.rawObs.rows());
            for (int i = 0; i < n; i += stride) {
                s->xs.push_back(b.rawObs(plane.x, i));
                s->ys.push_back(b.rawObs(plane.y, i));
                s->advantages.push_back(res.advantages(i));
                for (int d = 0; d < s->stateDim; ++d) s->states.push_back(b.rawObs(d, i));
            }
            s->equation = eq(QStringLiteral("Â<sub>t</sub> = Σ<sub>l</sub> (γλ)<sup>l</sup> δ<sub>t+l</sub>, "
                                            "δ<sub>t</sub> = r<sub>t</sub> + γ V(s<sub>t+1</sub>) − V(s<sub>t</sub>)"),
                             QStringLiteral("γ = %1, λ = %2 · mean Â = %3, std Â = %4")
                                 .arg(n3(cfg.gamma), n3(cfg.lambda), n3(res.mean), n3(res.std)));
            s->reading = QStringLiteral("Orange states did better than the critic expected (Â > 0), blue ones worse: "
                                        "the update makes the actions taken there more, or less, likely.");
            break;
        }
        case Phase::SurrogateGradient: {
            const auto& res = std::get<core::SurrogateGradient>(r.result);
            s->gradNorm = res.gradNorm;
            s->equation = eq(QStringLiteral("g = ∇<sub>θ</sub> L(θ<sub>old</sub>), L(θ) = (1/N) Σ<sub>t</sub> "
                                            "π<sub>θ</sub>(a<sub>t</sub>|s<sub>t</sub>) / π<sub>old</sub>(a<sub>t</sub>|s<sub>t</sub>) · Â<sub>t</sub>"),
                             QStringLiteral("|g| = %1 · L(θ<sub>old</sub>) = %2 · entropy %3 nats")
                                 .arg(n3(res.gradNorm), n3(res.surrogate), n3(res.entropy)));
            s->reading = QStringLiteral("g is the steepest way up in parameter space; the next phase asks how far each "
                                        "direction moves the policy's behaviour.");
            break;
        }
        case Phase::NaturalDirection: {
            const auto& res = std::get<core::NaturalDirection>(r.result);
            s->residuals = res.residualNorms;
            s->gradNorm = res.gradNorm;
            s->directionNorm = res.x.norm();
            const double c = s->gradNorm > 0 && s->directionNorm > 0 ? res.gx / (s->gradNorm * s->directionNorm) : 1.0;
            s->angleDegrees = std::acos(std::clamp(c, -1.0, 1.0)) * 180.0 / std::numbers::pi;
            s->equation = eq(QStringLiteral("x ≈ (F + damping·I)<sup>−1</sup> g by conjugate gradient, "
                                            "F = E[∇log π ∇log π<sup>T</sup>]"),
                             QStringLiteral("%1 CG iterations · |r|: %2 → %3 · |g| = %4, |x| = %5, angle(g, x) = %6°")
                                 .arg(res.iterations)
                                 .arg(n3(res.residualNorms.empty() ? 0.0 : res.residualNorms.front()),
                                      n3(res.residualNorms.empty() ? 0.0 : res.residualNorms.back()), n3(s->gradNorm),
                                      n3(s->directionNorm), n3(s->angleDegrees)));
            s->reading = QStringLiteral("The Fisher matrix rescales g by how much each direction changes the policy: "
                                        "x turns away from g, and the residual falls in a handful of CG steps.");
            break;
        }
        case Phase::StepScale: {
            const auto& res = std::get<core::StepScale>(r.result);
            s->equation = eq(QStringLiteral("β = √(2δ / x<sup>T</sup>(F + damping·I)x): the quadratic KL model of the step βx is exactly δ"),
                             QStringLiteral("β = √(2·%1 / %2) = %3 · |βx| = %4 · expected gain β g<sup>T</sup>x = %5")
                                 .arg(n3(st.delta), n3(st.xFx), n3(res.beta), n3(res.stepNorm),
                                      n3(res.expectedImprovement)));
            s->reading = QStringLiteral("δ bounds the change in behaviour; the parameter step βx follows from it.");
            break;
        }
        case Phase::LineSearch: {
            const auto& res = std::get<core::LineSearchResult>(r.result);
            s->trials = res.trials;
            const QString verdict =
                res.accepted
                    ? QStringLiteral("accepted trial %1: fraction %2, KL %3 ≤ δ = %4, ΔL = %5")
                          .arg(res.backtracks + 1)
                          .arg(n3(res.fraction), n3(res.klMean), n3(st.delta), n3(res.actualImprovement))
                    : QStringLiteral("no trial accepted (%1): θ stays θ<sub>old</sub>, the next batch tries again")
                          .arg(QString::fromUtf8(core::outcomeName(res.outcome)).replace('_', ' '));
            s->equation = eq(QStringLiteral("θ = θ<sub>old</sub> + c<sup>j</sup> βx, j = 0, 1, …: the first with "
                                            "mean KL(π<sub>old</sub>‖π<sub>θ</sub>) ≤ δ and L improved"),
                             QStringLiteral("c = %1 · %2").arg(n3(cfg.backtrackCoeff), verdict));
            s->reading = QStringLiteral("The line search takes the first acceptable step, from the largest; it does not "
                                        "look for the best one.");
            break;
        }
        case Phase::ValueFit: {
            const auto& res = std::get<core::ValueFitResult>(r.result);
            s->values = res.fit.epochLosses;
            s->equation = eq(QStringLiteral("min<sub>φ</sub> (1/N) Σ<sub>t</sub> (V<sub>φ</sub>(s<sub>t</sub>) − R<sub>t</sub>)<sup>2</sup>, "
                                            "a separate regression on the λ-returns R<sub>t</sub> = Â<sub>t</sub> + V(s<sub>t</sub>)"),
                             QStringLiteral("loss %1 → %2 · explained variance before the fit %3")
                                 .arg(n3(res.fit.lossBefore), n3(res.fit.lossAfter),
                                      std::isfinite(res.fit.explainedVarianceBefore)
                                          ? n3(res.fit.explainedVarianceBefore)
                                          : QStringLiteral("undefined (the returns have no variance)")));
            s->reading = QStringLiteral("The critic only shapes the advantages of the next batch; its fit never moves "
                                        "the policy.");
            break;
        }
        case Phase::Report: break;
    }
    return s;
}

} // namespace ui
