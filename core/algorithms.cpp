#include "core/algorithms.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace core {

namespace {
double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
bool klAlgorithm(Algorithm a) { return a == Algorithm::KlPenalty || a == Algorithm::KlAdaptive; }

// columns `idx` of a batch of distributions
void takeColumns(const Policy& policy, const DistBatch& from, const std::vector<int>& idx, DistBatch& to) {
    to.out = from.out(Eigen::all, idx);
    if (policy.discrete()) {
        to.logp = from.logp(Eigen::all, idx);
        to.p = from.p(Eigen::all, idx);
    } else {
        to.logStd = from.logStd;
    }
}
} // namespace

ObjectiveValue policyObjective(const Policy& policy, const VectorXd& theta, const Eigen::Ref<const MatrixXd>& obs,
                               const Eigen::Ref<const MatrixXd>& actions, const Eigen::Ref<const VectorXd>& adv,
                               const Eigen::Ref<const VectorXd>& oldLogp, const DistBatch& oldDist,
                               const ObjectiveSettings& s, NetworkWorkspace& ws, DistBatch& dist,
                               Policy::FloatPass* floatPass) {
    const Eigen::Index n = obs.cols();
    const double invN = 1.0 / static_cast<double>(n);
    if (floatPass)
        policy.distributionFloat(theta, obs, ws, *floatPass, dist);
    else
        policy.distribution(theta, obs, ws, dist);
    const VectorXd logp = policy.logProb(dist, actions);
    ObjectiveValue o;
    o.grad = VectorXd::Zero(theta.size());
    if (oldDist.out.size() > 0) o.klMean = policy.kl(oldDist, dist).mean();
    // J = Σ_i f(log π_i) / n (+ terms below); w_i = ∂J/∂log π_i, so ∇J = Σ_i w_i ∇log π_i + ...
    VectorXd w(n);
    switch (s.algo) {
        case Algorithm::Vpg:
            // J = mean_i Â_i log π_θ(a_i|s_i)
            o.value = logp.dot(adv) * invN;
            w = adv * invN;
            break;
        case Algorithm::KlPenalty:
        case Algorithm::KlAdaptive: {
            // J = mean_i r_i Â_i − β mean_i KL(π_old,i ‖ π_θ,i)
            const VectorXd ratio = (logp - oldLogp).array().exp();
            o.value = ratio.dot(adv) * invN - s.klBeta * o.klMean;
            w = ratio.cwiseProduct(adv) * invN;
            break;
        }
        case Algorithm::Ppo: {
            // J = mean_i min(r_i Â_i, clip(r_i, 1 − ε, 1 + ε) Â_i); the gradient flows through the
            // unclipped term where it is the smaller one, and is zero where the clip is active
            double sum = 0;
            int clipped = 0;
            for (Eigen::Index i = 0; i < n; ++i) {
                const double r = std::exp(logp(i) - oldLogp(i));
                const double unclippedTerm = r * adv(i);
                const double clippedTerm = std::clamp(r, 1.0 - s.clipRange, 1.0 + s.clipRange) * adv(i);
                if (unclippedTerm <= clippedTerm) {
                    sum += unclippedTerm;
                    w(i) = unclippedTerm * invN;
                } else {
                    sum += clippedTerm;
                    w(i) = 0.0;
                }
                if (std::fabs(r - 1.0) > s.clipRange) ++clipped;
            }
            o.value = sum * invN;
            o.clipFraction = clipped * invN;
            break;
        }
        default: throw std::invalid_argument("policyObjective: trpo and npg have no first-order objective");
    }
    if (s.entropyCoeff != 0.0) o.value += s.entropyCoeff * policy.entropy(dist).mean();
    const int np = policy.net().numParams();
    MatrixXd dOut = policy.logProbOutputGradient(dist, actions, w, s.entropyCoeff, o.grad);
    const bool klTerm = klAlgorithm(s.algo) && s.klBeta != 0.0;
    MatrixXd dKlOut;
    if (klTerm) {
        // −β ∇ mean_i KL(π_old,i ‖ π_θ,i), through the distribution parameters:
        //   categorical logits z: ∂KL/∂z = p_θ − p_old
        //   Gaussian mean μ: ∂KL/∂μ = (μ − μ_old)/σ²; log-std ℓ: ∂KL/∂ℓ = 1 − (σ_old² + (μ_old − μ)²)/σ²
        if (policy.discrete()) {
            dKlOut = (-s.klBeta * invN) * (dist.p - oldDist.p);
        } else {
            const VectorXd invVar = (-2.0 * dist.logStd).array().exp();
            const MatrixXd diff = dist.out - oldDist.out;
            dKlOut = (-s.klBeta * invN) * (diff.array().colwise() * invVar.array()).matrix();
            const VectorXd varOld = (2.0 * oldDist.logStd).array().exp();
            const VectorXd meanSq = diff.array().square().rowwise().mean().matrix();
            const VectorXd dKl = (1.0 - (varOld + meanSq).array() * invVar.array()).matrix();
            o.grad.tail(policy.outputs()) -= s.klBeta * dKl;
        }
    }
    if (floatPass) {
        if (klTerm) dOut += dKlOut; // one backprop of both terms
        policy.backwardFloat(dOut, *floatPass, o.grad);
    } else {
        // in double, one backprop per term in this order (the double path's results are those
        // of the versions before the float pass)
        policy.net().backward(theta.head(np), dOut, ws, o.grad.head(np));
        if (klTerm) policy.net().backward(theta.head(np), dKlOut, ws, o.grad.head(np));
    }
    return o;
}

double adaptKlBeta(double beta, double kl, double klTarget) {
    if (kl < klTarget / 1.5) return beta / 2.0;
    if (kl > klTarget * 1.5) return beta * 2.0;
    return beta;
}

VectorXd PolicyOptimizerState::toVector() const {
    VectorXd out(2 + m.size() + v.size());
    out(0) = static_cast<double>(t);
    out(1) = klBeta;
    out.segment(2, m.size()) = m;
    out.tail(v.size()) = v;
    return out;
}

PolicyOptimizerState PolicyOptimizerState::fromVector(const VectorXd& x, Eigen::Index numParams) {
    PolicyOptimizerState s;
    if (x.size() == 0) return s;
    if (x.size() != 2 && x.size() != 2 + 2 * numParams)
        throw std::runtime_error("the policy optimiser state has " + std::to_string(x.size()) + " values, expected " +
                                 std::to_string(2 + 2 * numParams));
    s.t = static_cast<std::int64_t>(x(0));
    s.klBeta = x(1);
    if (x.size() > 2) {
        s.m = x.segment(2, numParams);
        s.v = x.tail(numParams);
    }
    return s;
}

FirstOrderResult firstOrderUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                                  const FirstOrderSettings& s, const UpdateSettings& update,
                                  const SurrogateGradient& gradient, PolicyOptimizerState& opt, Rng& shuffle,
                                  UpdateWorkspace& ws, JointCritic* critic) {
    const auto t0 = std::chrono::steady_clock::now();
    const int n = static_cast<int>(batch.obs.cols());
    const Eigen::Index P = theta.size();
    const VectorXd thetaOld = theta;
    const PolicyOptimizerState optOld = opt;
    const bool joint = critic && critic->critic && s.algo != Algorithm::Vpg;
    const VectorXd criticOld = joint ? critic->critic->state() : VectorXd();
    Eigen::MatrixXf criticObs; // the critic evaluates in float
    if (joint) {
        criticObs = batch.obs.cast<float>();
        critic->epochLosses.clear();
    }
    VectorXd criticGrad;
    if (opt.m.size() != P) {
        opt.m = VectorXd::Zero(P);
        opt.v = VectorXd::Zero(P);
    }
    if (opt.klBeta == 0.0) opt.klBeta = s.klBeta;

    FirstOrderResult res;
    ObjectiveSettings os;
    os.algo = s.algo;
    os.clipRange = s.clipRange;
    os.entropyCoeff = s.entropyCoeff;
    os.klBeta = s.algo == Algorithm::KlAdaptive ? opt.klBeta : s.klBeta;
    if (klAlgorithm(s.algo)) res.klBeta = os.klBeta;

    // π_old on the whole batch, once (minibatches take its columns), for the objectives with a
    // KL term: vpg and ppo read only the sampled log-probabilities
    const bool needOld = klAlgorithm(s.algo);
    NetworkWorkspace wsOld, wsMb;
    DistBatch oldDist, oldMb, distMb;
    Policy::FloatPass floatPass;
    Policy::FloatPass* const passes = s.doublePrecision ? nullptr : &floatPass;
    // a recurrent policy trains with vpg only (TrpoConfig::validate()): its one minibatch is the
    // whole batch in order, so both passes read the batch's sequences
    sequencesFor(batch.sequences, 0, n, wsMb);
    if (needOld) {
        sequencesFor(batch.sequences, 0, n, wsOld);
        policy.distribution(thetaOld, batch.obs, wsOld, oldDist);
    }

    // vpg: one full-batch step; the others: `epochs` passes of shuffled minibatches
    const bool vpg = s.algo == Algorithm::Vpg;
    const int epochs = vpg ? 1 : std::max(1, s.epochs);
    const int mb = vpg ? n : std::clamp(s.minibatch, 1, n);
    std::vector<int> perm(n);
    std::vector<int> idx;
    MatrixXd obsMb, actMb;
    VectorXd advMb, oldLogpMb;
    // Adam (Kingma & Ba 2015) ascending J, with PyTorch's bias-corrected form and SB3's ε = 1e-5
    constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-5;
    double clipSum = 0;
    bool finite = true;
    for (int epoch = 0; epoch < epochs && finite; ++epoch) {
        double criticLoss = 0;
        std::iota(perm.begin(), perm.end(), 0);
        // Fisher-Yates with our own RNG (std::shuffle is implementation-defined)
        if (!vpg)
            for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[static_cast<int>(shuffle.below(i + 1))]);
        for (int start = 0; start < n; start += mb) {
            throwIfCancelled(update.cancel);
            idx.assign(perm.begin() + start, perm.begin() + std::min(n, start + mb));
            obsMb = batch.obs(Eigen::all, idx);
            actMb = batch.actions(Eigen::all, idx);
            advMb = batch.advantages(idx);
            oldLogpMb = batch.oldLogp(idx);
            if (needOld) takeColumns(policy, oldDist, idx, oldMb);
            if (s.algo == Algorithm::Ppo && s.normalizeAdvantages && advMb.size() > 1) {
                // SB3: (A − mean) / (std + 1e-8) per minibatch, with the unbiased std
                const double mean = advMb.mean();
                const double sd =
                    std::sqrt((advMb.array() - mean).square().sum() / static_cast<double>(advMb.size() - 1));
                advMb = (advMb.array() - mean) / (sd + 1e-8);
            }
            ObjectiveValue o =
                policyObjective(policy, theta, obsMb, actMb, advMb, oldLogpMb, oldMb, os, wsMb, distMb, passes);
            if (joint)
                criticLoss += critic->critic->lossGradient(criticObs, idx, *critic->returns, critic->coeff, criticGrad);
            if (!o.grad.allFinite() || (joint && !criticGrad.allFinite())) {
                finite = false;
                break;
            }
            clipSum += o.clipFraction;
            // clip the gradient's global norm (PyTorch's clip_grad_norm_, as SB3), over both
            // networks with a joint critic
            if (s.maxGradNorm > 0.0) {
                const double norm = joint ? std::sqrt(o.grad.squaredNorm() + criticGrad.squaredNorm()) : o.grad.norm();
                const double coef = s.maxGradNorm / (norm + 1e-6);
                if (coef < 1.0) {
                    o.grad *= coef;
                    if (joint) criticGrad *= coef;
                }
            }
            if (joint) critic->critic->adamStep(criticGrad, s.lr);
            ++opt.t;
            ++res.adamSteps;
            opt.m = beta1 * opt.m + (1.0 - beta1) * o.grad;
            opt.v = beta2 * opt.v + (1.0 - beta2) * o.grad.cwiseAbs2();
            const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(opt.t));
            const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(opt.t));
            theta.array() += (s.lr / bc1) * opt.m.array() / (opt.v.array().sqrt() / std::sqrt(bc2) + eps);
        }
        if (joint && finite) critic->epochLosses.push_back(criticLoss / n);
    }
    if (res.adamSteps > 0) res.clipFraction = clipSum / res.adamSteps;

    // the whole batch at the new θ: surrogate and KL(π_old‖π_θ), as TRPO's trials report them
    LineSearchResult& r = res.search;
    TrialEvaluation e;
    if (finite) e = evaluateTrial(policy, theta, batch, update, ws);
    LineSearchTrial trial;
    trial.fraction = 1.0;
    trial.kl = e.klMean;
    trial.surrogate = e.surrogate;
    trial.actualImprovement = e.surrogate - gradient.surrogate;
    if (!finite || !std::isfinite(e.surrogate) || !std::isfinite(e.klMean) || !theta.allFinite()) {
        theta = thetaOld;
        opt = optOld;
        if (joint) {
            critic->critic->setState(criticOld);
            critic->epochLosses.clear();
        }
        r.outcome = LineSearchOutcome::NonFinite;
        r.accepted = false;
    } else {
        trial.accepted = true;
        r.outcome = LineSearchOutcome::Accepted;
        acceptTrial(r, trial, e.klMax);
        res.stepNorm = (theta - thetaOld).norm();
        if (s.algo == Algorithm::KlAdaptive) opt.klBeta = adaptKlBeta(opt.klBeta, e.klMean, s.klTarget);
    }
    r.trials.push_back(trial);
    r.seconds = secondsSince(t0);
    return res;
}

LineSearchResult naturalStep(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                             const SurrogateGradient& gradient, const StepScale& step, const UpdateSettings& update,
                             UpdateWorkspace& ws) {
    const auto t0 = std::chrono::steady_clock::now();
    LineSearchResult r;
    throwIfCancelled(update.cancel);
    // θ_old + βx, taken whatever the KL turns out to be
    const VectorXd thetaNew = theta + step.fullStep;
    const TrialEvaluation e = evaluateTrial(policy, thetaNew, batch, update, ws);
    LineSearchTrial t;
    t.fraction = 1.0;
    t.kl = e.klMean;
    t.surrogate = e.surrogate;
    t.actualImprovement = e.surrogate - gradient.surrogate;
    t.expectedImprovement = step.expectedImprovement;
    if (!std::isfinite(e.surrogate) || !std::isfinite(e.klMean)) {
        r.outcome = LineSearchOutcome::NonFinite;
    } else {
        t.accepted = true;
        theta = thetaNew;
        r.outcome = LineSearchOutcome::Accepted;
        acceptTrial(r, t, e.klMax);
    }
    r.trials.push_back(t);
    r.seconds = secondsSince(t0);
    return r;
}

} // namespace core
