#include "core/trpo.h"

#include <chrono>
#include <cmath>

#include "core/parallel.h"

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

namespace {

// sums over one slice of the batch at a trial θ: Σ r_i A_i, Σ H_i (only when wanted),
// Σ KL(ref_i || trial_i) and its maximum; ws and d receive the trial's forward pass
struct TrialSums {
    double surrogate = 0, entropy = 0, kl = 0, klMax = -INFINITY;
};
TrialSums trialSums(const Policy& policy, const VectorXd& theta, const Eigen::Ref<const MatrixXd>& obs,
                    const Eigen::Ref<const MatrixXd>& actions, const Eigen::Ref<const VectorXd>& adv,
                    const Eigen::Ref<const VectorXd>& oldLogp, const DistBatch& ref, bool withEntropy,
                    MlpWorkspace& ws, DistBatch& d) {
    policy.distribution(theta, obs, ws, d);
    const VectorXd ratio = (policy.logProb(d, actions) - oldLogp).array().exp();
    TrialSums t;
    t.surrogate = ratio.dot(adv);
    if (withEntropy) t.entropy = policy.entropy(d).sum();
    const VectorXd kl = policy.kl(ref, d);
    t.kl = kl.sum();
    t.klMax = kl.maxCoeff();
    return t;
}

} // namespace

SurrogateEval evaluateSurrogate(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                const DistBatch& refDist, double entropyCoeff) {
    MlpWorkspace ws;
    DistBatch d;
    const TrialSums t = trialSums(policy, theta, batch.obs, batch.actions, batch.advantages, batch.oldLogp, refDist,
                                  entropyCoeff != 0.0, ws, d);
    const double n = static_cast<double>(batch.advantages.size());
    SurrogateEval e;
    e.surrogate = t.surrogate / n + entropyCoeff * t.entropy / n;
    e.klMean = t.kl / n;
    e.klMax = t.klMax;
    return e;
}

namespace {

// one fixed slice of the batch with its own workspaces (see Shards in core/parallel.h)
struct Shard {
    int b = 0, n = 0;
    MlpWorkspace ws, wsTrial;
    Policy::FisherCacheF fisherF;
    // the Fisher subsample (every k-th sample) when k > 1: its activations and distributions
    int nFvp = 0;
    MlpWorkspace wsFvp;
    DistBatch dFvp;
    DistBatch dOld, dTrial;
    VectorXd grad, fv;
    double surrSum = 0, entSum = 0; // at θ_old
    TrialSums trial;                // at the current line-search trial
};

} // namespace

void trpoUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch, const UpdateSettings& s,
                IterationStats& st) {
    using clock = std::chrono::steady_clock;
    const int N = static_cast<int>(batch.advantages.size());
    const double n = static_cast<double>(N);
    const int P = policy.numParams();
    st.delta = s.delta;
    st.cgItersSetting = s.cgIters;
    st.cgDamping = s.cgDamping;
    st.accepted = false;
    st.klMean = st.klMax = 0.0;
    st.backtracks = 0;
    st.stepFraction = 0.0;
    st.trials.clear();

    // 256 samples a shard: enough tasks (4 for 1024 samples) for a free core to take over
    // from one the OS preempts, still large enough for efficient GEMMs
    const Shards cut(N, 256);
    const int sub = std::clamp(s.fvpSubsample, 1, std::max(1, N));
    // the shards' buffers outlive the call (one set per calling thread), so the next update
    // reuses their memory instead of faulting fresh pages in for every matrix
    // (a local reference, so the pool's lambdas reach the caller's buffers, not their own)
    thread_local std::vector<Shard> buffers;
    std::vector<Shard>& sh = buffers;
    sh.resize(cut.count());
    for (int k = 0; k < cut.count(); ++k) {
        sh[k].b = cut.begin[k];
        sh[k].n = cut.size[k];
    }
    auto obsOf = [&](const Shard& x) { return batch.obs.middleCols(x.b, x.n); };
    auto actOf = [&](const Shard& x) { return batch.actions.middleCols(x.b, x.n); };
    auto advOf = [&](const Shard& x) { return batch.advantages.segment(x.b, x.n); };
    auto oldOf = [&](const Shard& x) { return batch.oldLogp.segment(x.b, x.n); };
    // what the Fisher-vector products see: the shard, or its every-sub-th subsample
    auto fisherDist = [&](const Shard& x) -> const DistBatch& { return sub > 1 ? x.dFvp : x.dOld; };
    auto fisherWs = [&](Shard& x) -> MlpWorkspace& { return sub > 1 ? x.wsFvp : x.ws; };

    // step 3: surrogate and its gradient at θ_old (activations cached per shard for the FVPs)
    auto t0 = clock::now();
    parallelFor(cut.count(), s.threads, [&](int k) {
        Shard& x = sh[k];
        policy.distribution(theta, obsOf(x), x.ws, x.dOld);
        const VectorXd ratio = (policy.logProb(x.dOld, actOf(x)) - oldOf(x)).array().exp();
        x.surrSum = ratio.dot(advOf(x));
        x.entSum = policy.entropy(x.dOld).sum();
        x.grad = VectorXd::Zero(P);
        const VectorXd w = (ratio.array() * advOf(x).array()) / n;
        policy.logProbGradient(theta, x.dOld, actOf(x), w, s.entropyCoeff * x.n / n, x.ws, x.grad);
        // the Fisher subsample: global indices ≡ 0 (mod k), so the subset does not depend on sharding
        x.nFvp = x.n;
        if (sub > 1) {
            const int first = (sub - x.b % sub) % sub;
            x.nFvp = first < x.n ? (x.n - 1 - first) / sub + 1 : 0;
            if (x.nFvp > 0) {
                const auto cols = Eigen::seqN(first, x.nFvp, sub);
                x.wsFvp.h.resize(x.ws.h.size());
                for (size_t l = 0; l < x.ws.h.size(); ++l) x.wsFvp.h[l] = x.ws.h[l](Eigen::all, cols);
                x.dFvp.out = x.dOld.out(Eigen::all, cols);
                if (policy.discrete()) {
                    x.dFvp.logp = x.dOld.logp(Eigen::all, cols);
                    x.dFvp.p = x.dOld.p(Eigen::all, cols);
                }
                x.dFvp.logStd = x.dOld.logStd;
            }
        }
        if (!s.fvpDoublePrecision && x.nFvp > 0) policy.prepareFisherF(theta, fisherDist(x), fisherWs(x), x.fisherF);
    });
    VectorXd g = VectorXd::Zero(P);
    double surrSum = 0, entSum = 0;
    for (const Shard& x : sh) {
        g += x.grad;
        surrSum += x.surrSum;
        entSum += x.entSum;
    }
    st.entropy = entSum / n;
    st.stdPerDim.clear();
    st.stdMean = 0.0;
    if (!policy.discrete()) {
        const VectorXd& ls = sh[0].dOld.logStd;
        for (int j = 0; j < policy.outputs(); ++j) st.stdPerDim.push_back(std::exp(ls(j)));
        st.stdMean = ls.array().exp().mean();
    }
    const double surrBefore = surrSum / n + s.entropyCoeff * st.entropy;
    st.surrogateBefore = st.surrogateAfter = surrBefore;
    st.gradNorm = g.norm();
    st.secondsGradient = secondsSince(t0);

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

    // step 4: x ≈ (F + damping·I)⁻¹ g, F v = Σ_shards (n_s/N) F_s v (n_s, N: Fisher samples)
    t0 = clock::now();
    double nFvp = 0;
    for (const Shard& x : sh) nFvp += x.nFvp;
    auto fvp = [&](const VectorXd& v, VectorXd& out) {
        parallelFor(cut.count(), s.threads, [&](int j) {
            Shard& x = sh[j];
            x.fv.setZero(P);
            if (x.nFvp == 0) return;
            if (s.fvpDoublePrecision)
                policy.fisherVectorProduct(theta, fisherDist(x), v, fisherWs(x), x.fv);
            else
                policy.fisherVectorProductF(x.dOld, v, x.fisherF, x.fv);
        });
        if (sh.size() == 1) {
            out = sh[0].fv;
        } else {
            out.setZero(P);
            for (const Shard& x : sh) out.noalias() += (x.nFvp / nFvp) * x.fv;
        }
        out.noalias() += s.cgDamping * v;
    };
    CgResult cg = conjugateGradient(fvp, g, s.cgIters, s.cgTolerance);
    st.cgIterations = cg.iterations;
    st.cgResiduals = cg.residualNorms;
    VectorXd Fx(P);
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
        parallelFor(cut.count(), s.threads, [&](int k) {
            Shard& x = sh[k];
            x.trial = trialSums(policy, trial, obsOf(x), actOf(x), advOf(x), oldOf(x), x.dOld, s.entropyCoeff != 0.0,
                                x.wsTrial, x.dTrial);
        });
        double sSum = 0, eSum = 0, kSum = 0, kMax = -INFINITY;
        for (const Shard& x : sh) {
            sSum += x.trial.surrogate;
            eSum += x.trial.entropy;
            kSum += x.trial.kl;
            kMax = std::max(kMax, x.trial.klMax);
        }
        const double surrogate = sSum / n + s.entropyCoeff * eSum / n;
        const double klMean = kSum / n;
        LineSearchTrial t;
        t.fraction = fraction;
        t.kl = klMean;
        t.surrogate = surrogate;
        t.actualImprovement = surrogate - surrBefore;
        t.expectedImprovement = fraction * expectedFull;
        const bool finite = std::isfinite(surrogate) && std::isfinite(klMean);
        if (!finite)
            st.outcome = LineSearchOutcome::NonFinite;
        else if (klMean > s.delta)
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
            st.klMean = klMean;
            st.klMax = kMax;
            st.surrogateAfter = surrogate;
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
