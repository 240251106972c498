#include "core/trpo.h"

#include <chrono>
#include <cmath>

namespace core {

namespace {
double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
bool allFinite(const VectorXd& v) { return v.allFinite(); }
} // namespace

CgResult conjugateGradient(const std::function<void(const VectorXd&, VectorXd&)>& Avp, const VectorXd& b,
                           int maxIters, double tol) {
    // Nocedal & Wright, Algorithm 5.2, from x0 = 0 (so r0 = b, p0 = b)
    CgResult res;
    res.x = VectorXd::Zero(b.size());
    VectorXd r = b, p = b, Ap(b.size());
    double rr = r.squaredNorm();
    res.residualNorms.push_back(std::sqrt(rr));
    for (int i = 0; i < maxIters && rr >= tol; ++i) {
        Avp(p, Ap);
        const double pAp = p.dot(Ap);
        const double alpha = rr / pAp;
        res.x.noalias() += alpha * p;
        r.noalias() -= alpha * Ap;
        const double rrNew = r.squaredNorm();
        res.residualNorms.push_back(std::sqrt(rrNew));
        res.iterations = i + 1;
        if (!std::isfinite(rrNew)) break;
        p = r + (rrNew / rr) * p;
        rr = rrNew;
    }
    return res;
}

SurrogateEval evaluateSurrogate(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                const DistBatch& refDist, double entropyCoeff) {
    MlpWorkspace ws;
    DistBatch d;
    policy.distribution(theta, batch.obs, ws, d);
    const VectorXd logp = policy.logProb(d, batch.actions);
    const VectorXd ratio = (logp - batch.oldLogp).array().exp();
    SurrogateEval e;
    e.surrogate = ratio.dot(batch.advantages) / static_cast<double>(ratio.size());
    if (entropyCoeff != 0.0) e.surrogate += entropyCoeff * policy.entropy(d).mean();
    const VectorXd k = policy.kl(refDist, d);
    e.klMean = k.mean();
    e.klMax = k.maxCoeff();
    return e;
}

void trpoUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch, const UpdateSettings& s,
                IterationStats& st) {
    using clock = std::chrono::steady_clock;
    const double n = static_cast<double>(batch.advantages.size());
    st.delta = s.delta;
    st.cgItersSetting = s.cgIters;
    st.cgDamping = s.cgDamping;
    st.accepted = false;
    st.klMean = st.klMax = 0.0;
    st.backtracks = 0;
    st.stepFraction = 0.0;
    st.trials.clear();

    // step 3: surrogate and its gradient at θ_old (activations cached in ws for the FVPs)
    auto t0 = clock::now();
    MlpWorkspace ws;
    DistBatch dOld;
    policy.distribution(theta, batch.obs, ws, dOld);
    const VectorXd logp = policy.logProb(dOld, batch.actions);
    const VectorXd ratio = (logp - batch.oldLogp).array().exp();
    const VectorXd ent = policy.entropy(dOld);
    st.entropy = ent.mean();
    st.stdPerDim.clear();
    if (!policy.discrete()) {
        for (int j = 0; j < policy.outputs(); ++j) st.stdPerDim.push_back(std::exp(dOld.logStd(j)));
        st.stdMean = dOld.logStd.array().exp().mean();
    } else {
        st.stdMean = 0.0;
    }
    const double surrBefore = ratio.dot(batch.advantages) / n + s.entropyCoeff * st.entropy;
    st.surrogateBefore = st.surrogateAfter = surrBefore;
    VectorXd g = VectorXd::Zero(policy.numParams());
    const VectorXd w = (ratio.array() * batch.advantages.array()) / n;
    policy.logProbGradient(theta, dOld, batch.actions, w, s.entropyCoeff, ws, g);
    st.gradNorm = g.norm();
    st.secondsGradient = std::chrono::duration<double>(clock::now() - t0).count();

    st.cgResiduals.clear();
    st.cgIterations = 0;
    st.stepNorm = st.xFx = st.beta = 0.0;
    st.expectedImprovement = st.actualImprovement = st.improvementRatio = 0.0;
    if (!allFinite(g)) {
        st.outcome = LineSearchOutcome::NonFinite;
        return;
    }
    if (st.gradNorm == 0.0) {
        st.outcome = LineSearchOutcome::ZeroGradient;
        return;
    }

    // step 4: x ≈ (F + damping·I)⁻¹ g
    t0 = clock::now();
    auto fvp = [&](const VectorXd& v, VectorXd& out) {
        policy.fisherVectorProduct(theta, dOld, v, ws, out);
        out.noalias() += s.cgDamping * v;
    };
    CgResult cg = conjugateGradient(fvp, g, s.cgIters, s.cgTolerance);
    st.cgIterations = cg.iterations;
    st.cgResiduals = cg.residualNorms;
    VectorXd Fx(g.size());
    fvp(cg.x, Fx);
    const double xFx = cg.x.dot(Fx);
    st.xFx = xFx;
    st.secondsCg = secondsSince(t0);
    if (!allFinite(cg.x) || !std::isfinite(xFx)) {
        st.outcome = LineSearchOutcome::NonFinite;
        return;
    }
    if (xFx <= 0.0) {
        st.outcome = LineSearchOutcome::NonPositiveCurvature;
        return;
    }

    // step 5: β = sqrt(2δ / xᵀ(F+λI)x)
    const double beta = std::sqrt(2.0 * s.delta / xFx);
    st.beta = beta;
    const VectorXd fullStep = beta * cg.x;
    st.stepNorm = fullStep.norm();
    const double expectedFull = beta * g.dot(cg.x);
    st.expectedImprovement = expectedFull;

    // step 6: backtracking line search on fractions 1, c, c², ...
    t0 = clock::now();
    VectorXd trial(theta.size());
    double fraction = 1.0;
    for (int j = 0; j <= s.maxBacktracks; ++j, fraction *= s.backtrackCoeff) {
        trial = theta + fraction * fullStep;
        const SurrogateEval e = evaluateSurrogate(policy, trial, batch, dOld, s.entropyCoeff);
        LineSearchTrial t;
        t.fraction = fraction;
        t.kl = e.klMean;
        t.surrogate = e.surrogate;
        t.actualImprovement = e.surrogate - surrBefore;
        t.expectedImprovement = fraction * expectedFull;
        const bool finite = std::isfinite(e.surrogate) && std::isfinite(e.klMean);
        if (!finite)
            st.outcome = LineSearchOutcome::NonFinite;
        else if (e.klMean > s.delta)
            st.outcome = LineSearchOutcome::KlExceeded;
        else if (!(t.actualImprovement > 0.0))
            st.outcome = LineSearchOutcome::NoImprovement;
        else
            st.outcome = LineSearchOutcome::Accepted;
        t.accepted = st.outcome == LineSearchOutcome::Accepted;
        st.trials.push_back(t);
        if (t.accepted) {
            theta = trial;
            st.accepted = true;
            st.backtracks = j;
            st.stepFraction = fraction;
            st.klMean = e.klMean;
            st.klMax = e.klMax;
            st.surrogateAfter = e.surrogate;
            st.actualImprovement = t.actualImprovement;
            st.expectedImprovement = t.expectedImprovement;
            st.improvementRatio = t.expectedImprovement != 0.0 ? t.actualImprovement / t.expectedImprovement : 0.0;
            break;
        }
    }
    if (!st.accepted) st.backtracks = s.maxBacktracks;
    st.secondsLineSearch = secondsSince(t0);
}

} // namespace core
