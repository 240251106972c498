#include "core/trainer.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/gae.h"
#include "core/serialization.h"

namespace core {

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

UpdateSettings updateSettingsOf(const TrpoConfig& c) {
    UpdateSettings us;
    us.delta = c.delta;
    us.cgIters = c.cgIters;
    us.cgDamping = c.cgDamping;
    us.fvpSubsample = c.fvpSubsample;
    us.cgTolerance = c.cgTolerance;
    us.backtrackCoeff = c.backtrackCoeff;
    us.maxBacktracks = c.maxBacktracks;
    us.entropyCoeff = c.entropyCoeff;
    us.threads = c.threads;
    return us;
}

FirstOrderSettings firstOrderSettingsOf(const TrpoConfig& c) {
    FirstOrderSettings f;
    f.algo = c.algo;
    f.lr = c.policyLr;
    f.epochs = c.policyEpochs;
    f.minibatch = c.policyMinibatch;
    f.clipRange = c.clipRange;
    f.klBeta = c.klBeta;
    f.klTarget = c.delta;
    f.maxGradNorm = c.maxGradNorm;
    f.entropyCoeff = c.entropyCoeff;
    f.normalizeAdvantages = c.normalizeAdvantages;
    return f;
}

// the first-order algorithms' minibatch shuffles: a stream of their own per iteration,
// derived from the seed, so TRPO's streams (the critic's, the environments') are untouched
// and a resumed run shuffles as an uninterrupted one
constexpr std::uint64_t kShuffleStreamBase = 0x5EED000000000000ull;

SampleSettings sampleSettingsOf(const TrpoConfig& c) {
    SampleSettings ss;
    ss.gamma = c.gamma;
    ss.steps = c.stepsPerIteration;
    ss.threads = c.threads;
    ss.noiseHoldSteps = c.noiseHoldSteps;
    return ss;
}
} // namespace

const char* phaseName(Phase p) {
    switch (p) {
        case Phase::Sample: return "sample";
        case Phase::Advantages: return "advantages";
        case Phase::SurrogateGradient: return "surrogate_gradient";
        case Phase::NaturalDirection: return "natural_direction";
        case Phase::StepScale: return "step_scale";
        case Phase::LineSearch: return "line_search";
        case Phase::ValueFit: return "value_fit";
        case Phase::Report: return "report";
    }
    return "unknown";
}

const char* phaseTitle(Phase p) {
    switch (p) {
        case Phase::Sample: return "Sampling";
        case Phase::Advantages: return "Advantages (GAE)";
        case Phase::SurrogateGradient: return "Surrogate gradient";
        case Phase::NaturalDirection: return "Natural direction (CG)";
        case Phase::StepScale: return "Step scale";
        case Phase::LineSearch: return "Line search";
        case Phase::ValueFit: return "Value fit";
        case Phase::Report: return "Report";
    }
    return "unknown";
}

Trainer::Trainer(const TrpoConfig& cfg, EnvFactory factory) : m_cfg(cfg), m_factory(std::move(factory)) {
    m_cfg.validate();
    m_sampler = std::make_unique<Sampler>(m_factory, m_cfg.numEnvs, m_cfg.seed);
    const EnvSpec& sp = m_sampler->spec();
    m_rng = Rng::stream(m_cfg.seed, 0xC0FFEEull);
    Rng initRng = Rng::stream(m_cfg.seed, 0x1D17ull);
    m_policy = Policy(networkSpec(m_cfg, sp, m_cfg.hidden), sp.action);
    m_theta = m_policy.initialParams(initRng, m_cfg.logStdInit);
    m_vf = makeValueFunction(m_cfg, sp, initRng);
    m_obsNorm.enabled = m_cfg.normalizeObs;
    m_obsNorm.clip = m_cfg.obsClip;
    m_obsNorm.rms.reset(sp.observation.dim());
    m_rewardScaler.enabled = m_cfg.normalizeReward;
    m_rewardScaler.rms.reset(1);
}

Trainer::~Trainer() = default;

void Trainer::setCollective(std::shared_ptr<Collective> c) {
    m_collective = std::move(c);
    m_sampler->setCollective(m_collective.get());
}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

std::optional<double> Trainer::recentReturnMean() const {
    if (m_recentReturns.empty()) return std::nullopt;
    double s = 0;
    for (double r : m_recentReturns) s += r;
    return s / static_cast<double>(m_recentReturns.size());
}

std::vector<ConfigEvent> Trainer::applyHotConfig(const TrpoConfig& next) {
    TrpoConfig merged = m_cfg;
    std::vector<ConfigEvent> changes;
    // an iteration in progress keeps the settings it started with
    const int firstUsing = m_iteration + (midIteration() ? 2 : 1);
    for (const ConfigChange& c : diffConfigs(m_cfg, next, true)) {
        setConfigValue(merged, c.key, c.to);
        changes.push_back({firstUsing, c.key, c.from, c.to});
    }
    merged.validate();
    m_cfg = merged;
    m_events.insert(m_events.end(), changes.begin(), changes.end());
    return changes;
}

SnapshotPtr Trainer::snapshot() const {
    auto s = std::make_shared<PolicySnapshot>();
    s->envId = spec().id;
    s->observationSpace = spec().observation;
    s->actionSpace = spec().action;
    s->policy = m_policy;
    s->theta = m_theta;
    s->normalizer = m_obsNorm;
    s->iteration = m_iteration;
    s->envSteps = m_envSteps;
    s->noiseHoldSteps = m_cfg.noiseHoldSteps;
    return s;
}

// ---- one iteration, phase by phase ----------------------------------------------------

IterationStats Trainer::iterate(CancelFlag cancel) {
    for (;;) {
        PhaseResult r = runPhase(cancel);
        if (r.phase == Phase::Report) return std::move(r.stats);
    }
}

PhaseResult Trainer::runPhase(CancelFlag cancel) {
    Pending& p = m_pending;
    if (p.next == Phase::Sample)
        m_boundary = {false, m_startOfThis, m_startOfPrevious, m_recentReturns, m_lastProbe};
    // the flag is this call's only: a later call without one (a probe, a phase step) is never cancelled
    struct ClearCancel {
        UpdateSettings& update;
        ~ClearCancel() { update.cancel = nullptr; }
    } clearCancel{p.update};
    try {
        if (distributed(m_collective.get())) {
            // one rank alone must never leave an iteration the others are in (they would wait
            // for it in an exchange): the ranks agree on their flags as an iteration starts,
            // and inside it no rank looks at its own
            if (p.next == Phase::Sample && anyRankCancelled(*m_collective, cancel)) throw Interrupted{};
            cancel = nullptr;
        }
        throwIfCancelled(cancel);
        return runPhaseUnguarded(cancel);
    } catch (const Interrupted&) {
        discardIteration();
        throw;
    }
}

void Trainer::discardIteration() {
    Pending& p = m_pending;
    if (!m_boundary.started) return; // stopped before the iteration began: nothing to undo
    m_sampler->rewind(); // the environment copies, as loading the boundary's checkpoint would
    // the learned state at the iteration's start, the one the guardrail keeps (rollBack)
    restoreLearnedState(*m_startOfThis);
    m_startOfThis = std::move(m_boundary.startOfThis);
    m_startOfPrevious = std::move(m_boundary.startOfPrevious);
    m_recentReturns = std::move(m_boundary.recentReturns);
    m_lastProbe = std::move(m_boundary.lastProbe);
    m_boundary = {};
    // the batch is part overwritten: the last iteration's probe can no longer be computed
    p.probeable = false;
    p.next = Phase::Sample;
}

PhaseResult Trainer::runPhaseUnguarded(CancelFlag cancel) {
    const auto t0 = clock_type::now();
    Pending& p = m_pending;
    PhaseResult r;
    r.phase = p.next;
    IterationStats& st = p.stats;
    const UpdateBatch batch = updateBatch();
    p.update.cancel = cancel;
    switch (p.next) {
        case Phase::Sample:
            // the iteration's settings are frozen here: hot changes wait for the next one
            p.cfg = m_cfg;
            p.update = updateSettingsOf(m_cfg);
            p.update.cancel = cancel;
            if (p.cfg.algo == Algorithm::Trpo && m_probeEvery == 0) p.update.collective = m_collective.get();
            p.stats = IterationStats{};
            p.stats.iteration = m_iteration + 1;
            p.seconds = 0;
            p.probeable = false;
            p.jointCriticLosses.clear();
            m_startOfPrevious = std::move(m_startOfThis);
            m_startOfThis = learnedState();
            m_boundary.started = true;
            runSample(r);
            p.next = Phase::Advantages;
            break;
        case Phase::Advantages:
            runAdvantages(r);
            p.next = Phase::SurrogateGradient;
            if (m_batch.nonFiniteSteps > 0) {
                // broken environment output: no update learns from this batch
                recordUpdateSettings(p.update, st);
                st.outcome = LineSearchOutcome::NonFinite;
                p.next = Phase::ValueFit;
            }
            break;
        case Phase::SurrogateGradient:
            recordUpdateSettings(p.update, st);
            p.gradient = surrogateGradient(m_policy, m_theta, batch, p.update, m_updateWs);
            recordGradient(p.gradient, st);
            r.result = p.gradient;
            // the first-order algorithms go straight to their policy step (the line-search phase)
            p.next = p.gradient.guard != LineSearchOutcome::Accepted ? Phase::ValueFit
                     : firstOrder(p.cfg.algo)                        ? Phase::LineSearch
                                                                     : Phase::NaturalDirection;
            break;
        case Phase::NaturalDirection:
            p.direction = naturalDirection(m_policy, m_theta, p.gradient.g, p.update, m_updateWs);
            recordDirection(p.direction, st);
            r.result = p.direction;
            p.next = p.direction.guard == LineSearchOutcome::Accepted ? Phase::StepScale : Phase::ValueFit;
            break;
        case Phase::StepScale:
            p.step = stepScale(p.gradient.g, p.direction, p.update.delta);
            recordStepScale(p.step, st);
            r.result = p.step;
            p.next = Phase::LineSearch;
            break;
        case Phase::LineSearch: {
            p.thetaOld = m_theta;
            if (p.cfg.algo != Algorithm::Trpo) {
                runPolicyStep(r);
                p.next = Phase::ValueFit;
                break;
            }
            p.search = lineSearch(m_policy, m_theta, batch, p.gradient, p.step, p.update, m_updateWs);
            recordLineSearch(p.search, st);
            // a split update left θ_old's activations of the other ranks' shards unset
            p.probeable = !distributed(p.update.collective);
            if (m_probeEvery > 0 && st.iteration % m_probeEvery == 0) {
                throwIfCancelled(cancel);
                m_lastProbe = probeTrustRegion(m_policy, p.thetaOld, batch, p.gradient, p.direction, p.step, p.search,
                                               p.update, m_updateWs);
                m_lastProbe->iteration = st.iteration;
                st.secondsProbe = m_lastProbe->seconds;
            }
            r.result = p.search;
            p.next = Phase::ValueFit;
            break;
        }
        case Phase::ValueFit:
            runValueFit(r);
            p.next = Phase::Report;
            break;
        case Phase::Report:
            p.seconds += since(t0);
            runReport(r);
            p.next = Phase::Sample;
            r.stats = std::move(p.stats);
            return r;
    }
    p.seconds += since(t0);
    r.stats = st;
    return r;
}

// phase 1: sample with the normalisers frozen for the whole iteration
void Trainer::runSample(PhaseResult& r) {
    Pending& p = m_pending;
    IterationStats& st = p.stats;
    const auto t0 = clock_type::now();
    SampleSettings ss = sampleSettingsOf(p.cfg);
    ss.cancel = p.update.cancel;
    m_sampler->collect(m_policy, m_theta, m_obsNorm, m_rewardScaler, ss, m_batch);
    st.secondsSampling = since(t0);
    const Batch& b = m_batch;

    // episode statistics
    st.episodes = static_cast<int>(b.episodes.size());
    if (!b.episodes.empty()) {
        double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY, len = 0;
        for (const Episode& e : b.episodes) {
            sum += e.ret;
            sq += e.ret * e.ret;
            mn = std::min(mn, e.ret);
            mx = std::max(mx, e.ret);
            len += e.length;
            m_recentReturns.push_back(e.ret);
            if (static_cast<int>(m_recentReturns.size()) > kRecentEpisodes) m_recentReturns.pop_front();
        }
        const double k = static_cast<double>(b.episodes.size());
        st.returnMean = sum / k;
        st.returnMin = mn;
        st.returnMax = mx;
        st.returnStd = std::sqrt(std::max(0.0, sq / k - (sum / k) * (sum / k)));
        st.lengthMean = len / k;
    }
    st.recentReturnMean = recentReturnMean();
    m_sampledEpisodes = pickEpisodes(m_iteration + 1, b.episodes, spec().action.dim());
    r.result = SampleResult{b.size(), b.episodes, st.secondsSampling};
}

// phase 2: values, GAE with truncation bootstrap, returns, standardisation
void Trainer::runAdvantages(PhaseResult& r) {
    Pending& p = m_pending;
    IterationStats& st = p.stats;
    const Batch& b = m_batch;
    const int n = b.size();
    const auto t0 = clock_type::now();
    VectorXd bv;
    m_vf->predictBatch({b.obs, b.timestep, b.numEnvs, b.stepsPerEnv, b.bootObs, b.bootTimestep, b.bootIndex}, p.values, bv);
    VectorXd bootstrap = VectorXd::Zero(n);
    for (size_t i = 0; i < b.bootIndex.size(); ++i) bootstrap(b.bootIndex[i]) = bv(static_cast<Eigen::Index>(i));
    p.advantages = computeGae(
        {b.rewards, p.values, b.terminated, b.truncated, b.segmentEnd, bootstrap, p.cfg.gamma, p.cfg.lambda});
    p.returns = p.advantages + p.values;
    st.advantageMean = p.advantages.mean();
    st.advantageStd = std::sqrt((p.advantages.array() - st.advantageMean).square().mean());
    p.advantagesUsed = p.advantages;
    if (p.cfg.normalizeAdvantages)
        p.advantagesUsed = (p.advantages.array() - st.advantageMean) / (st.advantageStd + 1e-8);
    st.secondsAdvantages = since(t0);
    r.result = AdvantagesResult{p.advantages, st.advantageMean, st.advantageStd, st.secondsAdvantages};
}

// phase 6 of the other algorithms (docs/algorithm.md §11): npg's step without a line search,
// or the first-order algorithms' Adam steps. No trust-region probe: it belongs to TRPO's
// line search.
void Trainer::runPolicyStep(PhaseResult& r) {
    Pending& p = m_pending;
    IterationStats& st = p.stats;
    const UpdateBatch batch = updateBatch();
    if (p.cfg.algo == Algorithm::Npg) {
        p.search = naturalStep(m_policy, m_theta, batch, p.gradient, p.step, p.update, m_updateWs);
    } else {
        Rng shuffle = Rng::stream(p.cfg.seed, kShuffleStreamBase + static_cast<std::uint64_t>(st.iteration));
        FirstOrderSettings fs = firstOrderSettingsOf(p.cfg);
        if (p.cfg.annealSteps > 0) {
            // RL Zoo's linear schedules: SB3's progress_remaining = 1 − steps / total, with
            // this batch's steps already counted
            const double stepsSoFar = static_cast<double>(m_envSteps + m_batch.size());
            const double remaining = std::max(0.0, 1.0 - stepsSoFar / p.cfg.annealSteps);
            fs.lr *= remaining;
            fs.clipRange *= remaining;
        }
        JointCritic joint{jointCritic(), &p.returns, p.cfg.valueCoeff};
        const FirstOrderResult fr = firstOrderUpdate(m_policy, m_theta, batch, fs, p.update, p.gradient, m_policyOpt,
                                                     shuffle, m_updateWs, joint.critic ? &joint : nullptr);
        p.jointCriticLosses = std::move(joint.epochLosses);
        p.search = fr.search;
        st.klBeta = fr.klBeta;
        st.clipFraction = fr.clipFraction;
        st.adamSteps = fr.adamSteps;
        st.stepNorm = fr.stepNorm;
    }
    recordLineSearch(p.search, st);
    p.probeable = false;
    r.result = p.search;
}

NetworkValueFunction* Trainer::jointCritic() const {
    if (!(m_pending.cfg.valueCoeff > 0.0) || !firstOrder(m_pending.cfg.algo)) return nullptr;
    return dynamic_cast<NetworkValueFunction*>(m_vf.get());
}

// phase 7: value fit on the returns; then the normalisers learn from this batch, in batch
// order (thread-independent)
void Trainer::runValueFit(PhaseResult& r) {
    Pending& p = m_pending;
    IterationStats& st = p.stats;
    const Batch& b = m_batch;
    const auto t0 = clock_type::now();
    if (b.nonFiniteSteps > 0 || !p.returns.allFinite()) {
        // neither the critic, its optimiser nor the normalisers see a broken batch; non-finite
        // returns from a finite batch mean the critic itself is broken, which the losses say
        const double loss = b.nonFiniteSteps > 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
        st.valueLossBefore = st.valueLossAfter = loss;
        st.explainedVarianceBefore = st.explainedVarianceAfter = std::numeric_limits<double>::quiet_NaN();
        st.secondsValueFit = since(t0);
        r.result = ValueFitResult{FitResult{loss, loss, st.explainedVarianceBefore, st.explainedVarianceAfter},
                                  st.secondsValueFit};
        return;
    }
    FitResult fr;
    if (jointCritic()) {
        // the critic learned in the policy step (or not at all, when there was none): its
        // losses before (on the values GAE used) and after
        scoreFit(p.values, p.returns, fr.lossBefore, fr.explainedVarianceBefore);
        scoreFit(m_vf->predict(b.obs, b.timestep), p.returns, fr.lossAfter, fr.explainedVarianceAfter);
        fr.epochLosses = p.jointCriticLosses;
    } else {
        fr = m_vf->fit(b.obs, b.timestep, p.returns, p.cfg, m_rng, p.update.cancel, m_collective.get());
    }
    st.valueLossBefore = fr.lossBefore;
    st.valueLossAfter = fr.lossAfter;
    st.explainedVarianceBefore = fr.explainedVarianceBefore;
    st.explainedVarianceAfter = fr.explainedVarianceAfter;
    st.secondsValueFit = since(t0);
    if (m_obsNorm.enabled) m_obsNorm.rms.update(b.rawObs);
    if (m_rewardScaler.enabled) m_rewardScaler.rms.update(b.rawReturnsForScaler.transpose());
    r.result = ValueFitResult{fr, st.secondsValueFit};
}

// phase 8: the counters move on; the statistics are complete
void Trainer::runReport(PhaseResult& r) {
    Pending& p = m_pending;
    IterationStats& st = p.stats;
    const int n = m_batch.size();
    ++m_iteration;
    m_envSteps += n;
    m_wallSeconds += p.seconds;
    st.envSteps = m_envSteps;
    st.wallSeconds = m_wallSeconds;
    st.stepsPerSecond = p.seconds > 0 ? n / p.seconds : 0.0;
    st.nonFiniteEnvSteps = m_batch.nonFiniteSteps;
    st.divergence = checkDivergence(st, m_guard, p.cfg.collapseDrop, spec().rewardThreshold);
    if (st.divergence == Divergence::None) {
        rememberIteration(st, m_guard, p.cfg.collapseDrop, spec().rewardThreshold);
        m_learnedFrom = m_iteration;
    }
    m_lastDivergence = st.divergence;
    r.result = std::monostate{};
}

UpdateBatch Trainer::updateBatch() const {
    return {m_batch.obs, m_batch.actions, m_pending.advantagesUsed, m_batch.logp, m_batch.sequences(m_cfg.bpttSteps)};
}

Trainer::LearnedState Trainer::learnedState() const {
    return {m_learnedFrom, m_theta, m_vf->state(), m_obsNorm.rms, m_rewardScaler.rms, m_rng.state(), m_policyOpt};
}

void Trainer::restoreLearnedState(const LearnedState& s) {
    m_theta = s.theta;
    m_vf->setState(s.critic);
    m_obsNorm.rms = s.obsStats;
    m_rewardScaler.rms = s.rewardStats;
    m_rng.setState(s.criticRng);
    m_policyOpt = s.policyOpt;
}

std::optional<int> Trainer::rollBack() {
    if (midIteration() || !m_startOfThis) return std::nullopt;
    const LearnedState good = (m_lastDivergence == Divergence::ReturnCollapse && m_startOfPrevious)
                                  ? *m_startOfPrevious
                                  : *m_startOfThis;
    restoreLearnedState(good);
    m_startOfThis = m_startOfPrevious = good;
    m_lastDivergence = Divergence::None;
    m_learnedFrom = good.iteration;
    // the step that made the restored policy is no longer known: explanations do not blame one
    m_guard.lastStepAccepted = false;
    m_pending.probeable = false; // the probe's θ_old belongs to the discarded update
    return good.iteration;
}

std::optional<TrustRegionProbe> Trainer::probeLastIteration() {
    if (midIteration() || m_iteration == 0) return std::nullopt;
    if (m_lastProbe && m_lastProbe->iteration == m_iteration) return m_lastProbe;
    Pending& p = m_pending;
    if (!p.probeable) return std::nullopt;
    const UpdateBatch batch = updateBatch();
    m_lastProbe =
        probeTrustRegion(m_policy, p.thetaOld, batch, p.gradient, p.direction, p.step, p.search, p.update, m_updateWs);
    m_lastProbe->iteration = m_iteration;
    return m_lastProbe;
}

// ---- the training state ---------------------------------------------------------------

TrainerState Trainer::state() const {
    if (midIteration())
        throw std::logic_error(std::string("the training state is taken between iterations; the next phase is ") +
                               phaseName(m_pending.next));
    TrainerState s;
    s.config = m_cfg;
    s.theta = m_theta;
    s.critic = m_vf->state();
    s.obsStats = m_obsNorm.rms;
    s.rewardStats = m_rewardScaler.rms;
    s.criticRng = m_rng.state();
    s.copies = m_sampler->state();
    s.iteration = m_iteration;
    s.envSteps = m_envSteps;
    s.wallSeconds = m_wallSeconds;
    s.recentReturns = m_recentReturns;
    s.events = m_events;
    s.guard = m_guard;
    if (!m_policyOpt.empty()) s.policyOptimizer = m_policyOpt.toVector();
    return s;
}

void Trainer::setState(const TrainerState& s) {
    // check everything and build the new parts before touching *this
    try {
        s.config.validate();
    } catch (const ConfigError& e) {
        throw std::runtime_error(std::string("the state's configuration is invalid: ") + e.what());
    }
    for (const ConfigField& f : configFields()) {
        if (f.hot || f.key == "threads") continue;
        const std::string mine = configValue(m_cfg, f.key), theirs = configValue(s.config, f.key);
        if (mine != theirs)
            throw std::runtime_error("the state has " + f.key + " = " + theirs + ", this run has " + mine +
                                     " (a cold setting)");
    }
    const int od = spec().observation.dim();
    auto expectSize = [](Eigen::Index have, Eigen::Index want, const char* what) {
        if (have != want)
            throw std::runtime_error(std::string(what) + " has " + std::to_string(have) + " values, expected " +
                                     std::to_string(want));
    };
    expectSize(s.theta.size(), m_theta.size(), "policy parameters");
    expectSize(s.obsStats.mean.size(), od, "observation mean");
    expectSize(s.obsStats.var.size(), od, "observation variance");
    expectSize(s.rewardStats.mean.size(), 1, "reward mean");
    expectSize(s.rewardStats.var.size(), 1, "reward variance");
    if (s.iteration < 0 || s.envSteps < 0) throw std::runtime_error("the state's counters are negative");
    for (const CopyState& c : s.copies)
        if (!c.hidden.empty()) expectSize(static_cast<Eigen::Index>(c.hidden.size()), m_policy.stateSize(),
                                          "an environment copy's recurrent state");
    Rng scratch = Rng::stream(s.config.seed, 0x1D17ull);
    std::unique_ptr<ValueFunction> vf = makeValueFunction(s.config, spec(), scratch);
    vf->setState(s.critic);
    auto sampler = std::make_unique<Sampler>(m_factory, s.config.numEnvs, s.config.seed);
    sampler->setCollective(m_collective.get());
    sampler->setState(s.copies);
    const PolicyOptimizerState policyOpt = PolicyOptimizerState::fromVector(s.policyOptimizer, m_theta.size());

    // commit (the thread count is this trainer's own: results do not depend on it)
    const int threads = m_cfg.threads;
    m_cfg = s.config;
    m_cfg.threads = threads;
    m_sampler = std::move(sampler);
    m_vf = std::move(vf);
    m_theta = s.theta;
    m_obsNorm.rms = s.obsStats;
    m_rewardScaler.rms = s.rewardStats;
    m_rng.setState(s.criticRng);
    m_policyOpt = policyOpt;
    m_iteration = s.iteration;
    m_envSteps = s.envSteps;
    m_wallSeconds = s.wallSeconds;
    m_recentReturns = s.recentReturns;
    m_events = s.events;
    m_guard = s.guard;
    m_pending = Pending{};
    m_boundary = {};
    m_lastProbe.reset();
    m_startOfThis.reset();
    m_startOfPrevious.reset();
    m_lastDivergence = Divergence::None;
    m_learnedFrom = s.iteration;
}

// ---- checkpoints --------------------------------------------------------------------

namespace {
using json = nlohmann::json;
json vec(const VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
VectorXd toVec(const json& j, const char* what) {
    if (!j.is_array()) throw std::runtime_error(std::string(what) + " is missing or not an array");
    const auto v = j.get<std::vector<double>>();
    return Eigen::Map<const VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
json rngJson(const Rng::State& s) {
    return json{{"s", {s.s[0], s.s[1], s.s[2], s.s[3]}}, {"has_spare", s.hasSpare}, {"spare", s.spare}};
}
Rng::State rngFrom(const json& j) {
    Rng::State s{};
    const auto a = j.at("s").get<std::vector<std::uint64_t>>();
    if (a.size() != 4) throw std::runtime_error("RNG state has the wrong size");
    for (int i = 0; i < 4; ++i) s.s[i] = a[i];
    s.hasSpare = j.at("has_spare").get<bool>();
    s.spare = j.at("spare").get<double>();
    return s;
}
json statsJson(const RunningMeanStd& r) { return {{"mean", vec(r.mean)}, {"var", vec(r.var)}, {"count", r.count}}; }
RunningMeanStd statsFrom(const json& j, const char* what) {
    RunningMeanStd r;
    r.mean = toVec(j.at("mean"), (std::string(what) + " mean").c_str());
    r.var = toVec(j.at("var"), (std::string(what) + " variance").c_str());
    r.count = j.at("count").get<double>();
    return r;
}

// the checkpoint's payload: the state's fields under the names checkpoints have always used
json stateToJson(const TrainerState& s, const std::string& envId) {
    json j;
    j["config"] = json::parse(configToJson(s.config));
    j["env_id"] = envId;
    j["iteration"] = s.iteration;
    j["env_steps"] = s.envSteps;
    j["wall_seconds"] = s.wallSeconds;
    j["theta"] = vec(s.theta);
    j["value_state"] = vec(s.critic);
    j["obs_norm"] = statsJson(s.obsStats);
    j["reward_norm"] = statsJson(s.rewardStats);
    j["rng"] = rngJson(s.criticRng);
    j["recent_returns"] = std::vector<double>(s.recentReturns.begin(), s.recentReturns.end());
    json copies = json::array();
    for (const CopyState& c : s.copies) {
        copies.push_back({{"rng", rngJson(c.rng)},
                          {"episode_seed", c.episodeSeed},
                          {"actions", c.actionsSinceReset},
                          {"episode_return", c.episodeReturn},
                          {"episode_length", c.episodeLength},
                          {"discounted_return", c.discountedReturn},
                          {"held_noise", c.heldNoise},
                          {"held_noise_steps", c.heldNoiseSteps}});
        // a recurrent policy's state (absent for the other networks, so their checkpoints
        // are unchanged)
        if (!c.hidden.empty()) copies.back()["hidden"] = c.hidden;
    }
    j["copies"] = copies;
    json ev = json::array();
    for (const ConfigEvent& e : s.events)
        ev.push_back({{"iteration", e.iteration}, {"key", e.key}, {"from", e.from}, {"to", e.to}});
    j["config_events"] = ev;
    auto optional = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    // the first-order algorithms' optimiser (absent for trpo and npg, so their checkpoints
    // are unchanged)
    if (s.policyOptimizer.size() > 0) j["policy_optimizer"] = vec(s.policyOptimizer);
    j["guard"] = {{"base_return", optional(s.guard.baseReturn)},
                  {"best_return", optional(s.guard.bestReturn)},
                  {"last_step_accepted", s.guard.lastStepAccepted},
                  {"last_step_kl", s.guard.lastStepKl}};
    return j;
}

// `config` is the state's configuration, already read from j["config"]
TrainerState stateFromJson(const json& j, const TrpoConfig& config) {
    TrainerState s;
    s.config = config;
    s.iteration = jsonInteger<int>(j.at("iteration"));
    s.envSteps = jsonInteger<std::int64_t>(j.at("env_steps"));
    s.wallSeconds = j.at("wall_seconds").get<double>();
    s.theta = toVec(j.at("theta"), "policy parameters");
    s.critic = toVec(j.at("value_state"), "value function state");
    s.obsStats = statsFrom(j.at("obs_norm"), "observation");
    s.rewardStats = statsFrom(j.at("reward_norm"), "reward");
    s.criticRng = rngFrom(j.at("rng"));
    const auto rr = j.at("recent_returns").get<std::vector<double>>();
    s.recentReturns.assign(rr.begin(), rr.end());
    for (const json& c : j.at("copies")) {
        s.copies.push_back({rngFrom(c.at("rng")), jsonInteger<std::uint64_t>(c.at("episode_seed")),
                            c.at("actions").get<std::vector<double>>(), c.at("episode_return").get<double>(),
                            jsonInteger<int>(c.at("episode_length")), c.at("discounted_return").get<double>()});
        // held exploration noise (absent from checkpoints written before noise_hold_steps)
        if (c.contains("held_noise")) {
            s.copies.back().heldNoise = c.at("held_noise").get<std::vector<double>>();
            s.copies.back().heldNoiseSteps = jsonInteger<int>(c.at("held_noise_steps"));
        }
        if (c.contains("hidden")) s.copies.back().hidden = c.at("hidden").get<std::vector<double>>();
    }
    for (const json& e : j.at("config_events"))
        s.events.push_back({jsonInteger<int>(e.at("iteration")), e.at("key").get<std::string>(),
                            e.at("from").get<std::string>(), e.at("to").get<std::string>()});
    if (j.contains("policy_optimizer")) s.policyOptimizer = toVec(j.at("policy_optimizer"), "policy optimiser state");
    // the guardrail's memory (absent from checkpoints written before it)
    if (j.contains("guard")) {
        auto optional = [](const json& v) { return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()); };
        s.guard.baseReturn = optional(j.at("guard").at("base_return"));
        s.guard.bestReturn = optional(j.at("guard").at("best_return"));
        s.guard.lastStepAccepted = j.at("guard").value("last_step_accepted", false);
        s.guard.lastStepKl = j.at("guard").value("last_step_kl", 0.0);
    }
    return s;
}
} // namespace

std::vector<std::uint8_t> Trainer::saveState() const {
    return encodeContainer(ContainerKind::Checkpoint, json::to_cbor(stateToJson(state(), spec().id)));
}

void Trainer::loadState(const std::vector<std::uint8_t>& bytes) {
    const std::vector<std::uint8_t> payload = decodeContainer(ContainerKind::Checkpoint, bytes);
    json j;
    try {
        j = json::from_cbor(payload);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("checkpoint payload is not valid: ") + e.what());
    }
    try {
        TrpoConfig cfg = m_cfg;
        applyConfigJson(cfg, j.at("config").dump());
        if (j.at("env_id").get<std::string>() != spec().id)
            throw std::runtime_error("checkpoint is for environment " + j.at("env_id").get<std::string>() +
                                     ", this run uses " + spec().id);
        const TrainerState s = stateFromJson(j, cfg);
        // the checkpoint's cold settings may differ from this trainer's: build a trainer
        // for them, give it the state, and take its parts
        Trainer fresh(cfg, m_factory);
        fresh.setCollective(m_collective);
        fresh.setState(s);
        *this = std::move(fresh);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("checkpoint is missing data or has a wrong type: ") + e.what());
    } catch (const ConfigError& e) {
        throw std::runtime_error(std::string("checkpoint configuration is invalid: ") + e.what());
    }
}

} // namespace core
