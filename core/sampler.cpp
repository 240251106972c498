#include "core/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

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
    MlpWorkspace ws;
    DistBatch dist;
    MatrixXd x;           // obsDim x 1, normalised observation
    VectorXd action, envAction;
    VectorXd heldNoise;   // held ε (noise_hold_steps > 1)
    int heldNoiseSteps = 0; // steps the held ε is still used for; 0 = draw a new one

    void startEpisode() {
        episodeSeed = rng.next();
        env->reset(episodeSeed, std::span<double>(obs.data(), obs.size()));
        actionsSinceReset.clear();
        episodeReturn = 0;
        episodeLength = 0;
        heldNoiseSteps = 0; // every episode starts with fresh noise
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
        policy.distribution(theta, c.x, c.ws, c.dist);
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
    m_start = state();
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
    const int nThreads = std::clamp(settings.threads, 1, E);
    if (nThreads == 1) {
        for (int e = 0; e < E; ++e) run(e);
    } else {
        std::vector<std::thread> pool;
        for (int w = 0; w < nThreads; ++w) {
            pool.emplace_back([&, w] {
                for (int e = w; e < E; e += nThreads) run(e);
            });
        }
        for (auto& t : pool) t.join();
    }
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

std::vector<CopyState> Sampler::state() const {
    if (m_restore) return *m_restore;
    std::vector<CopyState> s;
    for (const auto& c : m_copies)
        s.push_back({c->rng.state(), c->episodeSeed, c->actionsSinceReset, c->episodeReturn, c->episodeLength,
                     c->discountedReturn,
                     std::vector<double>(c->heldNoise.data(), c->heldNoise.data() + c->heldNoise.size()),
                     c->heldNoiseSteps});
    return s;
}

void Sampler::setState(const std::vector<CopyState>& s) {
    if (s.size() != m_copies.size())
        throw std::runtime_error("checkpoint has " + std::to_string(s.size()) + " environment copies, expected " +
                                 std::to_string(m_copies.size()));
    const int ad = m_spec.action.dim();
    for (size_t e = 0; e < s.size(); ++e) {
        Copy& c = *m_copies[e];
        const CopyState& cs = s[e];
        if (cs.actionsSinceReset.size() % ad != 0)
            throw std::runtime_error("checkpoint action history has the wrong size");
        if (!cs.heldNoise.empty() && static_cast<int>(cs.heldNoise.size()) != ad)
            throw std::runtime_error("checkpoint held exploration noise has the wrong size");
        if (cs.heldNoiseSteps < 0) throw std::runtime_error("checkpoint held-noise counter is negative");
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
    }
    m_restore.reset();
    m_start.reset();
}

} // namespace core
