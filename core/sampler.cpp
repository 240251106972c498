#include "core/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/parallel.h"

namespace core {

struct Sampler::Copy {
    std::unique_ptr<Environment> env;
    Rng rng;
    VectorXd obs; // current raw observation
    std::uint64_t episodeSeed = 0;
    std::vector<double> actionsSinceReset;
    double episodeReturn = 0;
    int episodeLength = 0;
    double discountedReturn = 0;
    NetworkWorkspace ws;
    DistBatch dist;
    MatrixXd x;           // obsDim x 1, normalised observation
    VectorXd action, envAction;
    VectorXd heldNoise;   // held ε (noise_hold_steps > 1)
    int heldNoiseSteps = 0; // steps the held ε is still used for; 0 = draw a new one
    VectorXd hidden;        // a recurrent policy's state before the next step

    void startEpisode() {
        episodeSeed = rng.next();
        env->reset(episodeSeed, std::span<double>(obs.data(), obs.size()));
        actionsSinceReset.clear();
        episodeReturn = 0;
        episodeLength = 0;
        heldNoiseSteps = 0; // every episode starts with fresh noise
        hidden.setZero();   // and a recurrent policy with an empty memory
    }
};

Sampler::Sampler(EnvFactory factory, int numEnvs, std::uint64_t seed) {
    if (numEnvs < 1) throw std::invalid_argument("Sampler needs at least one environment copy");
    for (int e = 0; e < numEnvs; ++e) {
        auto c = std::make_unique<Copy>();
        c->env = factory();
        if (!c->env) throw std::invalid_argument("environment factory returned nothing");
        if (e == 0) m_spec = c->env->spec();
        c->rng = Rng::stream(seed, static_cast<std::uint64_t>(e));
        c->obs.resize(m_spec.observation.dim());
        c->action.resize(m_spec.action.dim());
        c->envAction.resize(m_spec.action.dim());
        c->heldNoise = VectorXd::Zero(m_spec.action.dim());
        c->startEpisode();
        m_copies.push_back(std::move(c));
    }
}

Sampler::~Sampler() = default;

void Sampler::runCopy(int e, const Policy& policy, const VectorXd& theta, const ObsNormalizer& obsNorm,
                      const RewardScaler& rewardScaler, double gamma, int T, int noiseHoldSteps, Batch& out,
                      std::vector<Episode>& episodes, std::vector<std::pair<int, VectorXd>>& boots, int& nonFinite,
                      CancelFlag cancel, bool& stopped) {
    Copy& c = *m_copies[e];
    const Space& as = m_spec.action;
    const int ad = as.dim();
    const bool hold = noiseHoldSteps > 1 && !as.isDiscrete();
    // a smaller hold set at an iteration boundary applies to the noise being held too
    if (hold) c.heldNoiseSteps = std::min(c.heldNoiseSteps, noiseHoldSteps);
    // a recurrent policy steps from the copy's state (Policy::step)
    const bool recurrent = policy.recurrent();
    if (c.hidden.size() != policy.stateSize()) c.hidden = VectorXd::Zero(policy.stateSize());
    for (int k = 0; k < T; ++k) {
        if (cancelled(cancel)) {
            stopped = true;
            return;
        }
        const int col = e * T + k;
        out.rawObs.col(col) = c.obs;
        c.x = c.obs;
        obsNorm.normalize(c.x);
        out.obs.col(col) = c.x;
        out.timestep(col) = c.episodeLength;
        if (recurrent) out.states.col(col) = c.hidden;
        policy.step(theta, c.x, c.hidden, c.ws, c.dist);
        if (hold)
            policy.sampleHeld(c.dist, 0, c.rng, noiseHoldSteps, c.heldNoise, c.heldNoiseSteps, c.action.data());
        else
            policy.sample(c.dist, 0, c.rng, false, c.action.data());
        out.actions.col(col) = c.action;
        out.logp(col) = policy.logProb(c.dist, c.action)(0);
        // the sample is clipped only when applied to the environment
        for (int j = 0; j < ad; ++j)
            c.envAction(j) = as.isDiscrete() ? c.action(j) : std::clamp(c.action(j), as.low[j], as.high[j]);
        const StepResult r = c.env->step(std::span<const double>(c.envAction.data(), ad),
                                         std::span<double>(c.obs.data(), c.obs.size()));
        if (!std::isfinite(r.reward) || !c.obs.allFinite()) [[unlikely]] {
            // broken environment output never enters the batch: the episode ends here
            ++nonFinite;
            out.rawReturnsForScaler(col) = c.discountedReturn;
            out.rewards(col) = 0.0;
            out.terminated[col] = 1;
            out.truncated[col] = 0;
            out.segmentEnd[col] = (k == T - 1) ? 1 : 0;
            c.discountedReturn = 0;
            c.startEpisode();
            continue;
        }
        c.actionsSinceReset.insert(c.actionsSinceReset.end(), c.envAction.data(), c.envAction.data() + ad);
        c.episodeReturn += r.reward;
        ++c.episodeLength;
        c.discountedReturn = c.discountedReturn * gamma + r.reward;
        out.rawReturnsForScaler(col) = c.discountedReturn;
        out.rewards(col) = rewardScaler.scale(r.reward);
        out.terminated[col] = r.terminated ? 1 : 0;
        out.truncated[col] = (r.truncated && !r.terminated) ? 1 : 0;
        out.segmentEnd[col] = (k == T - 1) ? 1 : 0;
        const bool done = r.terminated || r.truncated;
        if (done) {
            // the action log moves into the episode; startEpisode() begins a new one
            episodes.push_back({c.episodeReturn, c.episodeLength, c.episodeSeed, std::move(c.actionsSinceReset)});
            c.discountedReturn = 0;
            if (!r.terminated) boots.emplace_back(col, c.obs); // V(s_T) of the truncated episode
            c.startEpisode();
        } else if (k == T - 1) {
            boots.emplace_back(col, c.obs); // batch cut: V of the next observation
        }
    }
}

void Sampler::collect(const Policy& policy, const VectorXd& theta, const ObsNormalizer& obsNorm,
                      const RewardScaler& rewardScaler, const SampleSettings& settings, Batch& out) {
    const double gamma = settings.gamma;
    const int noiseHoldSteps = settings.noiseHoldSteps;
    if (noiseHoldSteps < 1) throw std::invalid_argument("noise_hold_steps must be at least 1");
    // an interrupted collect() left the copies part way: back to where it started
    if (m_restore) {
        const std::vector<CopyState> restore = std::move(*m_restore);
        m_restore.reset();
        setState(restore);
    }
    m_start = localState();
    const CancelFlag cancel = settings.cancel;
    const int E = numEnvs();
    const int T = std::max(1, settings.steps / E);
    const int N = E * T;
    const int od = m_spec.observation.dim(), ad = m_spec.action.dim();
    out.numEnvs = E;
    out.stepsPerEnv = T;
    out.obs.resize(od, N);
    out.rawObs.resize(od, N);
    out.actions.resize(ad, N);
    out.logp.resize(N);
    out.rewards.resize(N);
    out.rawReturnsForScaler.resize(N);
    out.terminated.assign(N, 0);
    out.truncated.assign(N, 0);
    out.segmentEnd.assign(N, 0);
    out.timestep.resize(N);
    out.states.resize(policy.stateSize(), policy.recurrent() ? N : 0);

    std::vector<std::vector<Episode>> eps(E);
    std::vector<std::vector<std::pair<int, VectorXd>>> boots(E);
    std::vector<int> nonFinite(E, 0);
    std::vector<char> stopped(E, 0);
    auto run = [&](int e) {
        bool s = false;
        runCopy(e, policy, theta, obsNorm, rewardScaler, gamma, T, noiseHoldSteps, out, eps[e], boots[e], nonFinite[e],
                cancel, s);
        stopped[e] = s ? 1 : 0;
    };
    // each copy is a task of the process's thread pool (core/parallel.h): the calling thread
    // takes copies too, and whichever thread is free takes the next, so one the OS preempts
    // (say, for the studio's UI) holds up only the copy it is stepping
    const Share own = ownCopies();
    parallelFor(own.count(), settings.threads, [&](int i) { run(own.begin + i); });
    if (distributed(m_collective)) exchange(out, T, eps, boots, nonFinite, stopped);
    if (std::find(stopped.begin(), stopped.end(), 1) != stopped.end()) {
        rewind();
        throw Interrupted{};
    }

    // merge per-copy results in copy order (fixed, thread-independent)
    out.episodes.clear();
    out.nonFiniteSteps = 0;
    for (int n : nonFinite) out.nonFiniteSteps += n;
    out.bootIndex.clear();
    int nb = 0;
    for (int e = 0; e < E; ++e) nb += static_cast<int>(boots[e].size());
    out.bootObs.resize(od, nb);
    out.bootTimestep.resize(nb);
    int b = 0;
    for (int e = 0; e < E; ++e) {
        out.episodes.insert(out.episodes.end(), eps[e].begin(), eps[e].end());
        for (auto& [col, o] : boots[e]) {
            out.bootIndex.push_back(col);
            out.bootObs.col(b) = o;
            out.bootTimestep(b) = out.timestep(col) + 1;
            ++b;
        }
    }
    // boot observations go through the same (frozen) normaliser as the batch
    obsNorm.normalize(out.bootObs);
}

void Sampler::rewind() {
    if (!m_start) return;
    m_restore = std::move(m_start);
    m_start.reset();
}

Share Sampler::ownCopies() const {
    const int E = numEnvs();
    return distributed(m_collective) ? shareOf(E, m_collective->rank(), m_collective->size()) : Share{0, E};
}

void Sampler::exchange(Batch& out, int T, std::vector<std::vector<Episode>>& eps,
                       std::vector<std::vector<std::pair<int, VectorXd>>>& boots, std::vector<int>& nonFinite,
                       std::vector<char>& stopped) {
    Collective& c = *m_collective;
    const int E = numEnvs(), ranks = c.size();
    const int od = m_spec.observation.dim(), ad = m_spec.action.dim();
    const Share own = ownCopies();
    // the batch's columns: copy e's T columns are one block at e*T*w, so the ranks' shares
    // lie in rank order
    const int H = static_cast<int>(out.states.rows()); // a recurrent policy's states
    const int w = 2 * od + ad + 7 + H;
    std::vector<double> cols(static_cast<size_t>(E) * T * w);
    auto at = [&](int col) { return cols.data() + static_cast<size_t>(col) * w; };
    for (int col = own.begin * T; col < own.end * T; ++col) {
        double* p = at(col);
        Eigen::Map<VectorXd>(p, od) = out.obs.col(col);
        Eigen::Map<VectorXd>(p + od, od) = out.rawObs.col(col);
        Eigen::Map<VectorXd>(p + 2 * od, ad) = out.actions.col(col);
        p += 2 * od + ad;
        p[0] = out.logp(col);
        p[1] = out.rewards(col);
        p[2] = out.rawReturnsForScaler(col);
        p[3] = out.terminated[col];
        p[4] = out.truncated[col];
        p[5] = out.segmentEnd[col];
        p[6] = out.timestep(col);
        if (H > 0) Eigen::Map<VectorXd>(p + 7, H) = out.states.col(col);
    }
    std::vector<int> counts(ranks);
    for (int r = 0; r < ranks; ++r) counts[r] = shareOf(E, r, ranks).count() * T * w;
    c.allGatherInPlace(cols.data(), counts);
    for (int col = 0; col < E * T; ++col) {
        if (col >= own.begin * T && col < own.end * T) continue;
        const double* p = at(col);
        out.obs.col(col) = Eigen::Map<const VectorXd>(p, od);
        out.rawObs.col(col) = Eigen::Map<const VectorXd>(p + od, od);
        out.actions.col(col) = Eigen::Map<const VectorXd>(p + 2 * od, ad);
        p += 2 * od + ad;
        out.logp(col) = p[0];
        out.rewards(col) = p[1];
        out.rawReturnsForScaler(col) = p[2];
        out.terminated[col] = static_cast<std::uint8_t>(p[3]);
        out.truncated[col] = static_cast<std::uint8_t>(p[4]);
        out.segmentEnd[col] = static_cast<std::uint8_t>(p[5]);
        out.timestep(col) = static_cast<int>(p[6]);
        if (H > 0) out.states.col(col) = Eigen::Map<const VectorXd>(p + 7, H);
    }
    // each copy's finished episodes, bootstrap observations, broken steps and stop
    ByteWriter wr;
    for (int e = own.begin; e < own.end; ++e) {
        wr.put<int>(nonFinite[e]);
        wr.put<char>(stopped[e]);
        wr.put<std::uint64_t>(eps[e].size());
        for (const Episode& ep : eps[e]) {
            wr.put(ep.ret);
            wr.put(ep.length);
            wr.put(ep.seed);
            wr.putVector(ep.actions);
        }
        wr.put<std::uint64_t>(boots[e].size());
        for (const auto& [col, o] : boots[e]) {
            wr.put(col);
            wr.putDoubles(o.data(), static_cast<size_t>(od));
        }
    }
    const std::vector<std::vector<std::uint8_t>> blocks = c.allGather(wr.bytes);
    for (int r = 0; r < ranks; ++r) {
        if (r == c.rank()) continue;
        ByteReader rd(blocks[r]);
        const Share theirs = shareOf(E, r, ranks);
        for (int e = theirs.begin; e < theirs.end; ++e) {
            nonFinite[e] = rd.get<int>();
            stopped[e] = rd.get<char>();
            eps[e].resize(rd.get<std::uint64_t>());
            for (Episode& ep : eps[e]) {
                ep.ret = rd.get<double>();
                ep.length = rd.get<int>();
                ep.seed = rd.get<std::uint64_t>();
                ep.actions = rd.getVector<double>();
            }
            boots[e].resize(rd.get<std::uint64_t>());
            for (auto& [col, o] : boots[e]) {
                col = rd.get<int>();
                o.resize(od);
                rd.getDoubles(o.data(), static_cast<size_t>(od));
            }
        }
    }
}

std::vector<CopyState> Sampler::state() const {
    std::vector<CopyState> s = localState();
    if (!distributed(m_collective)) return s;
    // each copy's state lives on the rank that steps it
    Collective& c = *m_collective;
    const int E = numEnvs(), ranks = c.size();
    const Share own = ownCopies();
    ByteWriter wr;
    for (int e = own.begin; e < own.end; ++e) {
        const CopyState& cs = s[static_cast<size_t>(e)];
        for (std::uint64_t x : cs.rng.s) wr.put(x);
        wr.put(cs.rng.hasSpare);
        wr.put(cs.rng.spare);
        wr.put(cs.episodeSeed);
        wr.putVector(cs.actionsSinceReset);
        wr.put(cs.episodeReturn);
        wr.put(cs.episodeLength);
        wr.put(cs.discountedReturn);
        wr.putVector(cs.heldNoise);
        wr.put(cs.heldNoiseSteps);
        wr.putVector(cs.hidden);
    }
    const std::vector<std::vector<std::uint8_t>> blocks = c.allGather(wr.bytes);
    for (int r = 0; r < ranks; ++r) {
        if (r == c.rank()) continue;
        ByteReader rd(blocks[r]);
        const Share theirs = shareOf(E, r, ranks);
        for (int e = theirs.begin; e < theirs.end; ++e) {
            CopyState& cs = s[static_cast<size_t>(e)];
            for (std::uint64_t& x : cs.rng.s) x = rd.get<std::uint64_t>();
            cs.rng.hasSpare = rd.get<bool>();
            cs.rng.spare = rd.get<double>();
            cs.episodeSeed = rd.get<std::uint64_t>();
            cs.actionsSinceReset = rd.getVector<double>();
            cs.episodeReturn = rd.get<double>();
            cs.episodeLength = rd.get<int>();
            cs.discountedReturn = rd.get<double>();
            cs.heldNoise = rd.getVector<double>();
            cs.heldNoiseSteps = rd.get<int>();
            cs.hidden = rd.getVector<double>();
        }
    }
    return s;
}

std::vector<CopyState> Sampler::localState() const {
    if (m_restore) return *m_restore;
    std::vector<CopyState> s;
    for (const auto& c : m_copies)
        s.push_back({c->rng.state(), c->episodeSeed, c->actionsSinceReset, c->episodeReturn, c->episodeLength,
                     c->discountedReturn,
                     std::vector<double>(c->heldNoise.data(), c->heldNoise.data() + c->heldNoise.size()),
                     c->heldNoiseSteps, std::vector<double>(c->hidden.data(), c->hidden.data() + c->hidden.size())});
    return s;
}

void Sampler::setState(const std::vector<CopyState>& s) {
    if (s.size() != m_copies.size())
        throw std::runtime_error("checkpoint has " + std::to_string(s.size()) + " environment copies, expected " +
                                 std::to_string(m_copies.size()));
    const int ad = m_spec.action.dim();
    for (const CopyState& cs : s) {
        if (cs.actionsSinceReset.size() % ad != 0)
            throw std::runtime_error("checkpoint action history has the wrong size");
        if (!cs.heldNoise.empty() && static_cast<int>(cs.heldNoise.size()) != ad)
            throw std::runtime_error("checkpoint held exploration noise has the wrong size");
        if (cs.heldNoiseSteps < 0) throw std::runtime_error("checkpoint held-noise counter is negative");
        if (!std::all_of(cs.hidden.begin(), cs.hidden.end(), [](double v) { return std::isfinite(v); }))
            throw std::runtime_error("checkpoint recurrent state holds non-finite values");
    }
    // only this rank's copies are rebuilt: the others are stepped (and replayed) by their ranks
    const Share own = ownCopies();
    for (size_t e = static_cast<size_t>(own.begin); e < static_cast<size_t>(own.end); ++e) {
        Copy& c = *m_copies[e];
        const CopyState& cs = s[e];
        c.episodeSeed = cs.episodeSeed;
        c.env->reset(c.episodeSeed, std::span<double>(c.obs.data(), c.obs.size()));
        for (size_t k = 0; k < cs.actionsSinceReset.size(); k += ad)
            c.env->step(std::span<const double>(cs.actionsSinceReset.data() + k, ad),
                        std::span<double>(c.obs.data(), c.obs.size()));
        c.actionsSinceReset = cs.actionsSinceReset;
        c.episodeReturn = cs.episodeReturn;
        c.episodeLength = cs.episodeLength;
        c.discountedReturn = cs.discountedReturn;
        c.rng.setState(cs.rng);
        // older checkpoints have no held noise: a new one is drawn at the next step
        c.heldNoise = cs.heldNoise.empty() ? VectorXd::Zero(ad)
                                           : VectorXd(Eigen::Map<const VectorXd>(cs.heldNoise.data(), ad));
        c.heldNoiseSteps = cs.heldNoise.empty() ? 0 : cs.heldNoiseSteps;
        // a recurrent policy's state (its size is checked against the policy at collect():
        // one that does not match starts from zero, as an older checkpoint's)
        c.hidden = Eigen::Map<const VectorXd>(cs.hidden.data(), static_cast<Eigen::Index>(cs.hidden.size()));
    }
    m_restore.reset();
    m_start.reset();
}

} // namespace core
