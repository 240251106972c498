#include "core/trpo.h"

#include <chrono>
#include <cmath>

#include "core/parallel.h"

namespace core {

namespace {
double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// the batch's columns that belong to one shard
auto shardObs(const UpdateBatch& b, const UpdateShard& s) { return b.obs.middleCols(s.first, s.count); }
auto shardActions(const UpdateBatch& b, const UpdateShard& s) { return b.actions.middleCols(s.first, s.count); }
auto shardAdvantages(const UpdateBatch& b, const UpdateShard& s) { return b.advantages.segment(s.first, s.count); }
auto shardOldLogp(const UpdateBatch& b, const UpdateShard& s) { return b.oldLogp.segment(s.first, s.count); }

// what the Fisher-vector products see: the whole shard, or its every-k-th subsample
const DistBatch& fisherDist(const UpdateWorkspace& ws, const UpdateShard& s) {
    return ws.fisherStride > 1 ? s.distFisher : s.distOld;
}
NetworkWorkspace& fisherActivations(const UpdateWorkspace& ws, UpdateShard& s) {
    return ws.fisherStride > 1 ? s.wsFisher : s.ws;
}

// the shards of `count` this process computes: a contiguous share of them when the update is
// spread over several ranks (UpdateSettings::collective), else all
bool splitUpdate(const UpdateSettings& s, int count) { return distributed(s.collective) && count > 1; }
Share ownShards(const UpdateSettings& s, int count) {
    return splitUpdate(s, count) ? shareOf(count, s.collective->rank(), s.collective->size()) : Share{0, count};
}
template <typename Fn>
void forOwnShards(const UpdateSettings& s, int count, Fn&& fn) {
    const Share own = ownShards(s, count);
    parallelFor(own.count(), s.threads, [&](int i) { fn(own.begin + i); });
}
// after forOwnShards: every shard's w numbers reach every rank (pack(k, out) writes this
// rank's shard k, unpack(k, in) reads another rank's), so every rank can reduce all shards
// in shard order
template <typename Pack, typename Unpack>
void exchangeShards(const UpdateSettings& s, int count, int w, Pack&& pack, Unpack&& unpack) {
    if (!splitUpdate(s, count)) return;
    Collective& c = *s.collective;
    const Share own = ownShards(s, count);
    std::vector<double> buf(static_cast<size_t>(count) * w);
    for (int k = own.begin; k < own.end; ++k) pack(k, buf.data() + static_cast<size_t>(k) * w);
    std::vector<int> counts(c.size());
    for (int r = 0; r < c.size(); ++r) counts[r] = shareOf(count, r, c.size()).count() * w;
    c.allGatherInPlace(buf.data(), counts);
    for (int k = 0; k < count; ++k)
        if (k < own.begin || k >= own.end) unpack(k, buf.data() + static_cast<size_t>(k) * w);
}

// Σ r_i A_i, Σ H_i (when wanted), Σ KL(ref_i ‖ trial_i) and its maximum over one slice,
// from the distributions `dist` at the trial θ
TrialSums sumsAt(const Policy& policy, const DistBatch& dist, const Eigen::Ref<const MatrixXd>& actions,
                 const Eigen::Ref<const VectorXd>& adv, const Eigen::Ref<const VectorXd>& oldLogp,
                 const DistBatch& ref, bool withEntropy) {
    const VectorXd ratio = (policy.logProb(dist, actions) - oldLogp).array().exp();
    TrialSums t;
    t.surrogate = ratio.dot(adv);
    if (withEntropy) t.entropy = policy.entropy(dist).sum();
    const VectorXd kl = policy.kl(ref, dist);
    t.kl = kl.sum();
    t.klMax = kl.maxCoeff();
    return t;
}

// the same at θ; net and dist receive the forward pass at θ
TrialSums trialSums(const Policy& policy, const VectorXd& theta, const Eigen::Ref<const MatrixXd>& obs,
                    const Eigen::Ref<const MatrixXd>& actions, const Eigen::Ref<const VectorXd>& adv,
                    const Eigen::Ref<const VectorXd>& oldLogp, const DistBatch& ref, bool withEntropy,
                    NetworkWorkspace& net, DistBatch& dist) {
    policy.distribution(theta, obs, net, dist);
    return sumsAt(policy, dist, actions, adv, oldLogp, ref, withEntropy);
}

// the shards' sums reduced in shard order
TrialEvaluation reduceTrial(const std::vector<UpdateShard>& shards, double n, double entropyCoeff) {
    TrialSums sum;
    for (const UpdateShard& sh : shards) {
        sum.surrogate += sh.trial.surrogate;
        sum.entropy += sh.trial.entropy;
        sum.kl += sh.trial.kl;
        sum.klMax = std::max(sum.klMax, sh.trial.klMax);
    }
    TrialEvaluation e;
    e.klMean = sum.kl / n;
    e.klMax = sum.klMax;
    e.surrogate = sum.surrogate / n + entropyCoeff * sum.entropy / n;
    return e;
}

// copies the every-stride-th samples of the batch (global index ≡ 0 mod stride, so the
// subset does not depend on the cut) from the shard's θ_old pass into its Fisher buffers
void takeFisherSubsample(const Policy& policy, int stride, UpdateShard& s) {
    const int firstInShard = (stride - s.first % stride) % stride;
    s.fisherCount = firstInShard < s.count ? (s.count - 1 - firstInShard) / stride + 1 : 0;
    if (s.fisherCount == 0) return;
    const auto cols = Eigen::seqN(firstInShard, s.fisherCount, stride);
    copyActivations(s.ws, s.wsFisher, [&](const MatrixXd& m) { return m(Eigen::all, cols); });
    s.distFisher.out = s.distOld.out(Eigen::all, cols);
    if (policy.discrete()) {
        s.distFisher.logp = s.distOld.logp(Eigen::all, cols);
        s.distFisher.p = s.distOld.p(Eigen::all, cols);
    }
    s.distFisher.logStd = s.distOld.logStd;
}
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
    NetworkWorkspace net;
    sequencesFor(batch.sequences, 0, static_cast<int>(batch.obs.cols()), net);
    DistBatch dist;
    const TrialSums t = trialSums(policy, theta, batch.obs, batch.actions, batch.advantages, batch.oldLogp, refDist,
                                  entropyCoeff != 0.0, net, dist);
    const double n = static_cast<double>(batch.advantages.size());
    SurrogateEval e;
    e.surrogate = t.surrogate / n + entropyCoeff * t.entropy / n;
    e.klMean = t.kl / n;
    e.klMax = t.klMax;
    return e;
}

// phase 3: L(θ_old) = mean_i r_i A_i + c_H · mean_i H_i with r_i = π(a_i|s_i) / π_old(a_i|s_i)
// (1 at θ_old but kept, so a stale oldLogp shows), and g = ∇θ L(θ_old) =
// mean_i r_i A_i ∇θ log π(a_i|s_i) + c_H ∇θ mean_i H_i. The θ_old activations stay cached
// per shard for phase 4's Fisher-vector products.
SurrogateGradient surrogateGradient(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                    const UpdateSettings& s, UpdateWorkspace& ws) {
    const auto t0 = std::chrono::steady_clock::now();
    const int N = static_cast<int>(batch.advantages.size());
    const double n = static_cast<double>(N);
    const int P = policy.numParams();

    // the fixed cut of the batch (depends on N only, never on the thread count)
    const Shards cut(N, s.samplesPerShard);
    ws.shards.resize(cut.count());
    for (int k = 0; k < cut.count(); ++k) {
        ws.shards[k].first = cut.begin[k];
        ws.shards[k].count = cut.size[k];
    }
    ws.fisherStride = std::clamp(s.fvpSubsample, 1, std::max(1, N));

    forOwnShards(s, cut.count(), [&](int k) {
        UpdateShard& sh = ws.shards[k];
        sequencesFor(batch.sequences, sh.first, sh.count, sh.ws);
        sh.wsTrial.sequences = sh.ws.sequences; // the line search's trials run the same sequences
        sh.wsTrial.h0 = sh.ws.h0;
        policy.distribution(theta, shardObs(batch, sh), sh.ws, sh.distOld);
        const VectorXd ratio = (policy.logProb(sh.distOld, shardActions(batch, sh)) - shardOldLogp(batch, sh))
                                   .array()
                                   .exp();
        sh.surrogateSum = ratio.dot(shardAdvantages(batch, sh));
        sh.entropySum = policy.entropy(sh.distOld).sum();
        sh.grad = VectorXd::Zero(P);
        const VectorXd w = (ratio.array() * shardAdvantages(batch, sh).array()) / n;
        policy.logProbGradient(theta, sh.distOld, shardActions(batch, sh), w, s.entropyCoeff * sh.count / n, sh.ws,
                               sh.grad);
        sh.fisherCount = sh.count;
        if (ws.fisherStride > 1) takeFisherSubsample(policy, ws.fisherStride, sh);
        if (!s.fvpDoublePrecision && sh.fisherCount > 0)
            policy.prepareFloatFisher(theta, fisherDist(ws, sh), fisherActivations(ws, sh), sh.floatFisher);
    });
    const int stdDims = policy.discrete() ? 0 : policy.outputs();
    exchangeShards(
        s, cut.count(), P + 3 + stdDims,
        [&](int k, double* out) {
            const UpdateShard& sh = ws.shards[k];
            Eigen::Map<VectorXd>(out, P) = sh.grad;
            out[P] = sh.surrogateSum;
            out[P + 1] = sh.entropySum;
            out[P + 2] = sh.fisherCount;
            if (stdDims > 0) Eigen::Map<VectorXd>(out + P + 3, stdDims) = sh.distOld.logStd.head(stdDims);
        },
        [&](int k, const double* in) {
            UpdateShard& sh = ws.shards[k];
            sh.grad = Eigen::Map<const VectorXd>(in, P);
            sh.surrogateSum = in[P];
            sh.entropySum = in[P + 1];
            sh.fisherCount = static_cast<int>(in[P + 2]);
            if (stdDims > 0) sh.distOld.logStd = Eigen::Map<const VectorXd>(in + P + 3, stdDims);
        });

    // reduce in shard order
    SurrogateGradient r;
    r.g = VectorXd::Zero(P);
    double surrogateSum = 0, entropySum = 0;
    for (const UpdateShard& sh : ws.shards) {
        r.g += sh.grad;
        surrogateSum += sh.surrogateSum;
        entropySum += sh.entropySum;
    }
    r.entropy = entropySum / n;
    if (!policy.discrete()) {
        const VectorXd& logStd = ws.shards[0].distOld.logStd;
        for (int j = 0; j < policy.outputs(); ++j) r.stdPerDim.push_back(std::exp(logStd(j)));
        r.stdMean = logStd.array().exp().mean();
    }
    r.surrogate = surrogateSum / n + s.entropyCoeff * r.entropy;
    r.gradNorm = r.g.norm();
    if (!r.g.allFinite())
        r.guard = LineSearchOutcome::NonFinite;
    else if (r.gradNorm == 0.0)
        r.guard = LineSearchOutcome::ZeroGradient;
    r.seconds = secondsSince(t0);
    return r;
}

// phase 4: x ≈ (F + damping·I)⁻¹ g by CG, where F v = Σ_shards (n_s / n) F_s v averages the
// shards' Gauss-Newton products over the n Fisher samples (n_s in shard s); then xᵀ(F + damping·I)x
NaturalDirection naturalDirection(const Policy& policy, const VectorXd& theta, const VectorXd& g,
                                  const UpdateSettings& s, UpdateWorkspace& ws) {
    const auto t0 = std::chrono::steady_clock::now();
    const int P = policy.numParams();
    std::vector<UpdateShard>& shards = ws.shards;
    ws.fisherSamples = 0;
    for (const UpdateShard& sh : shards) ws.fisherSamples += sh.fisherCount;
    auto dampedFvp = [&](const VectorXd& v, VectorXd& out) {
        throwIfCancelled(s.cancel);
        const int count = static_cast<int>(shards.size());
        forOwnShards(s, count, [&](int k) {
            UpdateShard& sh = shards[k];
            sh.fisherTimesV.setZero(P);
            if (sh.fisherCount == 0) return;
            if (s.fvpDoublePrecision)
                policy.fisherVectorProduct(theta, fisherDist(ws, sh), v, fisherActivations(ws, sh), sh.fisherTimesV);
            else
                policy.floatFisherVectorProduct(sh.distOld, v, sh.floatFisher, sh.fisherTimesV);
        });
        exchangeShards(
            s, count, P, [&](int k, double* out) { Eigen::Map<VectorXd>(out, P) = shards[k].fisherTimesV; },
            [&](int k, const double* in) { shards[k].fisherTimesV = Eigen::Map<const VectorXd>(in, P); });
        if (shards.size() == 1) {
            out = shards[0].fisherTimesV;
        } else {
            out.setZero(P);
            for (const UpdateShard& sh : shards) out.noalias() += (sh.fisherCount / ws.fisherSamples) * sh.fisherTimesV;
        }
        out.noalias() += s.cgDamping * v;
    };
    CgResult cg = conjugateGradient(dampedFvp, g, s.cgIters, s.cgTolerance);
    NaturalDirection r;
    r.iterations = cg.iterations;
    r.residualNorms = std::move(cg.residualNorms);
    r.x = std::move(cg.x);
    VectorXd Fx(P);
    dampedFvp(r.x, Fx);
    r.xFx = r.x.dot(Fx);
    r.gx = g.dot(r.x);
    r.gradNorm = g.norm();
    if (!r.x.allFinite() || !std::isfinite(r.xFx))
        r.guard = LineSearchOutcome::NonFinite;
    else if (r.iterations == 0) // |g|² is already below the CG tolerance: x = 0, nothing to step along
        r.guard = LineSearchOutcome::ZeroGradient;
    else if (r.xFx <= 0.0)
        r.guard = LineSearchOutcome::NonPositiveCurvature;
    r.seconds = secondsSince(t0);
    return r;
}

// phase 5: the quadratic model ½ (βx)ᵀ(F + damping·I)(βx) = δ gives β = sqrt(2δ / xᵀ(F + damping·I)x);
// the linear model of L predicts β gᵀx for the full step
StepScale stepScale(const VectorXd& g, const NaturalDirection& d, double delta) {
    StepScale r;
    r.beta = std::sqrt(2.0 * delta / d.xFx);
    r.fullStep = r.beta * d.x;
    r.stepNorm = r.fullStep.norm();
    r.expectedImprovement = r.beta * g.dot(d.x);
    return r;
}

TrialEvaluation evaluateTrial(const Policy& policy, const VectorXd& thetaTrial, const UpdateBatch& batch,
                              const UpdateSettings& s, UpdateWorkspace& ws) {
    const int count = static_cast<int>(ws.shards.size());
    forOwnShards(s, count, [&](int k) {
        UpdateShard& sh = ws.shards[k];
        sh.trial = trialSums(policy, thetaTrial, shardObs(batch, sh), shardActions(batch, sh),
                             shardAdvantages(batch, sh), shardOldLogp(batch, sh), sh.distOld, s.entropyCoeff != 0.0,
                             sh.wsTrial, sh.distTrial);
    });
    exchangeShards(
        s, count, 4,
        [&](int k, double* out) {
            const TrialSums& t = ws.shards[k].trial;
            out[0] = t.surrogate;
            out[1] = t.entropy;
            out[2] = t.kl;
            out[3] = t.klMax;
        },
        [&](int k, const double* in) { ws.shards[k].trial = TrialSums{in[0], in[1], in[2], in[3]}; });
    return reduceTrial(ws.shards, static_cast<double>(batch.advantages.size()), s.entropyCoeff);
}

void prepareFloatTrials(const Policy& policy, const VectorXd& thetaOld, const UpdateBatch& batch,
                        const UpdateSettings& s, UpdateWorkspace& ws) {
    parallelFor(static_cast<int>(ws.shards.size()), s.threads, [&](int k) {
        UpdateShard& sh = ws.shards[k];
        policy.prepareFloatDistribution(thetaOld, shardObs(batch, sh), sh.ws, sh.floatTrial);
    });
}

TrialEvaluation evaluateTrialFloat(const Policy& policy, const VectorXd& thetaTrial, const UpdateBatch& batch,
                                   const UpdateSettings& s, UpdateWorkspace& ws) {
    parallelFor(static_cast<int>(ws.shards.size()), s.threads, [&](int k) {
        UpdateShard& sh = ws.shards[k];
        policy.floatDistribution(thetaTrial, sh.distOld, sh.floatTrial, sh.distTrial);
        sh.trial = sumsAt(policy, sh.distTrial, shardActions(batch, sh), shardAdvantages(batch, sh),
                          shardOldLogp(batch, sh), sh.distOld, s.entropyCoeff != 0.0);
    });
    return reduceTrial(ws.shards, static_cast<double>(batch.advantages.size()), s.entropyCoeff);
}

// phase 6: try θ_old + c^j βx for j = 0 .. maxBacktracks and take the first trial whose mean
// KL(π_old ‖ π_trial) ≤ δ and whose surrogate improves on L(θ_old); every trial is recorded
void acceptTrial(LineSearchResult& r, const LineSearchTrial& t, double klMax) {
    r.accepted = true;
    r.fraction = t.fraction;
    r.klMean = t.kl;
    r.klMax = klMax;
    r.surrogateAfter = t.surrogate;
    r.actualImprovement = t.actualImprovement;
    r.expectedImprovement = t.expectedImprovement;
    r.improvementRatio = t.expectedImprovement != 0.0 ? t.actualImprovement / t.expectedImprovement : 0.0;
}

LineSearchResult lineSearch(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                            const SurrogateGradient& gradient, const StepScale& step, const UpdateSettings& s,
                            UpdateWorkspace& ws) {
    const auto t0 = std::chrono::steady_clock::now();
    LineSearchResult r;
    r.surrogateAfter = gradient.surrogate;
    r.expectedImprovement = step.expectedImprovement;
    ws.thetaTrial.resize(theta.size());
    double fraction = 1.0;
    for (int j = 0; j <= s.maxBacktracks; ++j, fraction *= s.backtrackCoeff) {
        throwIfCancelled(s.cancel);
        ws.thetaTrial = theta + fraction * step.fullStep;
        const TrialEvaluation e = evaluateTrial(policy, ws.thetaTrial, batch, s, ws);
        LineSearchTrial t;
        t.fraction = fraction;
        t.kl = e.klMean;
        t.surrogate = e.surrogate;
        t.actualImprovement = t.surrogate - gradient.surrogate;
        t.expectedImprovement = fraction * step.expectedImprovement;
        if (!std::isfinite(t.surrogate) || !std::isfinite(t.kl))
            r.outcome = LineSearchOutcome::NonFinite;
        else if (t.kl > s.delta)
            r.outcome = LineSearchOutcome::KlExceeded;
        else if (!(t.actualImprovement > 0.0))
            r.outcome = LineSearchOutcome::NoImprovement;
        else
            r.outcome = LineSearchOutcome::Accepted;
        t.accepted = r.outcome == LineSearchOutcome::Accepted;
        r.trials.push_back(t);
        if (t.accepted) {
            theta = ws.thetaTrial;
            acceptTrial(r, t, e.klMax);
            r.backtracks = j;
            break;
        }
    }
    if (!r.accepted) r.backtracks = s.maxBacktracks;
    r.seconds = secondsSince(t0);
    return r;
}

void recordUpdateSettings(const UpdateSettings& s, IterationStats& st) {
    // the update's fields start from "nothing done", as a skipped update reports them
    st.accepted = false;
    st.klMean = st.klMax = 0.0;
    st.trialKlFirst = st.trialKlLast = 0.0;
    st.backtracks = 0;
    st.stepFraction = 0.0;
    st.trials.clear();
    st.cgResiduals.clear();
    st.cgIterations = 0;
    st.stepNorm = st.xFx = st.beta = 0.0;
    st.expectedImprovement = st.actualImprovement = st.improvementRatio = 0.0;
    st.delta = s.delta;
    st.cgItersSetting = s.cgIters;
    st.cgDamping = s.cgDamping;
}

void recordGradient(const SurrogateGradient& g, IterationStats& st) {
    st.entropy = g.entropy;
    st.stdPerDim = g.stdPerDim;
    st.stdMean = g.stdMean;
    st.surrogateBefore = st.surrogateAfter = g.surrogate;
    st.gradNorm = g.gradNorm;
    st.secondsGradient = g.seconds;
    if (g.guard != LineSearchOutcome::Accepted) {
        st.accepted = false;
        st.outcome = g.guard;
    }
}

void recordDirection(const NaturalDirection& d, IterationStats& st) {
    st.cgIterations = d.iterations;
    st.cgResiduals = d.residualNorms;
    st.xFx = d.xFx;
    st.secondsCg = d.seconds;
    if (d.guard != LineSearchOutcome::Accepted) {
        st.accepted = false;
        st.outcome = d.guard;
    }
}

void recordStepScale(const StepScale& step, IterationStats& st) {
    st.beta = step.beta;
    st.stepNorm = step.stepNorm;
    st.expectedImprovement = step.expectedImprovement;
}

void recordLineSearch(const LineSearchResult& r, IterationStats& st) {
    st.outcome = r.outcome;
    st.accepted = r.accepted;
    st.backtracks = r.backtracks;
    st.stepFraction = r.fraction;
    st.klMean = r.klMean;
    st.klMax = r.klMax;
    st.surrogateAfter = r.surrogateAfter;
    st.actualImprovement = r.actualImprovement;
    st.expectedImprovement = r.expectedImprovement;
    st.improvementRatio = r.improvementRatio;
    st.trials = r.trials;
    if (!r.trials.empty()) {
        st.trialKlFirst = r.trials.front().kl;
        st.trialKlLast = r.trials.back().kl;
    }
    st.secondsLineSearch = r.seconds;
}

void trpoUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch, const UpdateSettings& s,
                IterationStats& st, UpdateWorkspace* workspace) {
    UpdateWorkspace local;
    UpdateWorkspace& ws = workspace ? *workspace : local;
    recordUpdateSettings(s, st);
    const SurrogateGradient gradient = surrogateGradient(policy, theta, batch, s, ws);
    recordGradient(gradient, st);
    if (gradient.guard != LineSearchOutcome::Accepted) return;
    const NaturalDirection direction = naturalDirection(policy, theta, gradient.g, s, ws);
    recordDirection(direction, st);
    if (direction.guard != LineSearchOutcome::Accepted) return;
    const StepScale step = stepScale(gradient.g, direction, s.delta);
    recordStepScale(step, st);
    recordLineSearch(lineSearch(policy, theta, batch, gradient, step, s, ws), st);
}

} // namespace core
