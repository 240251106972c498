#include "core/trainer.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/gae.h"
#include "core/serialization.h"
#include "core/trpo.h"

namespace core {

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}
} // namespace

Trainer::Trainer(const TrpoConfig& cfg, EnvFactory factory) : m_cfg(cfg), m_factory(std::move(factory)) {
    m_cfg.validate();
    m_sampler = std::make_unique<Sampler>(m_factory, m_cfg.numEnvs, m_cfg.seed);
    const EnvSpec& sp = m_sampler->spec();
    m_rng = Rng::stream(m_cfg.seed, 0xC0FFEEull);
    Rng initRng = Rng::stream(m_cfg.seed, 0x1D17ull);
    m_policy = Policy(sp.observation.dim(), sp.action, m_cfg.hidden, m_cfg.activation);
    m_theta = m_policy.initialParams(initRng, m_cfg.logStdInit);
    m_vf = makeValueFunction(m_cfg, sp.observation.dim(), initRng);
    m_obsNorm.enabled = m_cfg.normalizeObs;
    m_obsNorm.clip = m_cfg.obsClip;
    m_obsNorm.rms.reset(sp.observation.dim());
    m_rewardScaler.enabled = m_cfg.normalizeReward;
    m_rewardScaler.rms.reset(1);
}

Trainer::~Trainer() = default;

std::optional<double> Trainer::recentReturnMean() const {
    if (m_recentReturns.empty()) return std::nullopt;
    double s = 0;
    for (double r : m_recentReturns) s += r;
    return s / static_cast<double>(m_recentReturns.size());
}

std::vector<ConfigEvent> Trainer::applyHotConfig(const TrpoConfig& next) {
    TrpoConfig merged = m_cfg;
    std::vector<ConfigEvent> changes;
    for (const ConfigChange& c : diffConfigs(m_cfg, next, true)) {
        setConfigValue(merged, c.key, c.to);
        changes.push_back({m_iteration + 1, c.key, c.from, c.to});
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

IterationStats Trainer::iterate() {
    const auto tStart = clock_type::now();
    IterationStats st;
    st.iteration = m_iteration + 1;

    // step 1: sample with the normalisers frozen for the whole iteration
    auto t0 = clock_type::now();
    m_sampler->collect(m_policy, m_theta, m_obsNorm, m_rewardScaler, m_cfg.gamma, m_cfg.stepsPerIteration,
                       m_cfg.threads, m_batch, m_cfg.noiseHoldSteps);
    st.secondsSampling = since(t0);
    const Batch& b = m_batch;
    const int n = b.size();

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

    // step 2: values, GAE with truncation bootstrap, returns, standardisation
    t0 = clock_type::now();
    const VectorXd values = m_vf->predict(b.obs, b.timestep);
    VectorXd bootstrap = VectorXd::Zero(n);
    if (!b.bootIndex.empty()) {
        const VectorXd bv = m_vf->predict(b.bootObs, b.bootTimestep);
        for (size_t i = 0; i < b.bootIndex.size(); ++i) bootstrap(b.bootIndex[i]) = bv(static_cast<Eigen::Index>(i));
    }
    const VectorXd adv = computeGae(
        {b.rewards, values, b.terminated, b.truncated, b.segmentEnd, bootstrap, m_cfg.gamma, m_cfg.lambda});
    const VectorXd returns = adv + values;
    st.advantageMean = adv.mean();
    st.advantageStd = std::sqrt((adv.array() - st.advantageMean).square().mean());
    VectorXd advUsed = adv;
    if (m_cfg.normalizeAdvantages) advUsed = (adv.array() - st.advantageMean) / (st.advantageStd + 1e-8);
    st.secondsAdvantages = since(t0);

    // steps 3-6: the TRPO update
    UpdateSettings us;
    us.delta = m_cfg.delta;
    us.cgIters = m_cfg.cgIters;
    us.cgDamping = m_cfg.cgDamping;
    us.fvpSubsample = m_cfg.fvpSubsample;
    us.cgTolerance = m_cfg.cgTolerance;
    us.backtrackCoeff = m_cfg.backtrackCoeff;
    us.maxBacktracks = m_cfg.maxBacktracks;
    us.entropyCoeff = m_cfg.entropyCoeff;
    us.threads = m_cfg.threads;
    trpoUpdate(m_policy, m_theta, UpdateBatch{b.obs, b.actions, advUsed, b.logp}, us, st);

    // step 7: value fit on the returns
    t0 = clock_type::now();
    const FitResult fr = m_vf->fit(b.obs, b.timestep, returns, m_cfg, m_rng);
    st.valueLossBefore = fr.lossBefore;
    st.valueLossAfter = fr.lossAfter;
    st.explainedVarianceBefore = fr.explainedVarianceBefore;
    st.explainedVarianceAfter = fr.explainedVarianceAfter;
    st.secondsValueFit = since(t0);

    // normaliser statistics learn from this batch, in batch order (thread-independent)
    if (m_obsNorm.enabled) m_obsNorm.rms.update(b.rawObs);
    if (m_rewardScaler.enabled) m_rewardScaler.rms.update(b.rawReturnsForScaler.transpose());

    // step 8: report
    ++m_iteration;
    m_envSteps += n;
    const double secs = since(tStart);
    m_wallSeconds += secs;
    st.envSteps = m_envSteps;
    st.wallSeconds = m_wallSeconds;
    st.stepsPerSecond = secs > 0 ? n / secs : 0.0;
    return st;
}

// ---- checkpoints --------------------------------------------------------------------

namespace {
using json = nlohmann::json;
json vec(const VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
VectorXd toVec(const json& j, const char* what, Eigen::Index expected = -1) {
    if (!j.is_array()) throw std::runtime_error(std::string(what) + " is missing or not an array");
    const auto v = j.get<std::vector<double>>();
    if (expected >= 0 && static_cast<Eigen::Index>(v.size()) != expected)
        throw std::runtime_error(std::string(what) + " has " + std::to_string(v.size()) + " values, expected " +
                                 std::to_string(expected));
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
} // namespace

std::vector<std::uint8_t> Trainer::saveState() const {
    json j;
    j["config"] = json::parse(configToJson(m_cfg));
    j["env_id"] = spec().id;
    j["iteration"] = m_iteration;
    j["env_steps"] = m_envSteps;
    j["wall_seconds"] = m_wallSeconds;
    j["theta"] = vec(m_theta);
    j["value_state"] = vec(m_vf->state());
    j["obs_norm"] = {{"mean", vec(m_obsNorm.rms.mean)}, {"var", vec(m_obsNorm.rms.var)}, {"count", m_obsNorm.rms.count}};
    j["reward_norm"] = {{"mean", vec(m_rewardScaler.rms.mean)},
                        {"var", vec(m_rewardScaler.rms.var)},
                        {"count", m_rewardScaler.rms.count}};
    j["rng"] = rngJson(m_rng.state());
    j["recent_returns"] = std::vector<double>(m_recentReturns.begin(), m_recentReturns.end());
    json copies = json::array();
    for (const CopyState& c : m_sampler->state())
        copies.push_back({{"rng", rngJson(c.rng)},
                          {"episode_seed", c.episodeSeed},
                          {"actions", c.actionsSinceReset},
                          {"episode_return", c.episodeReturn},
                          {"episode_length", c.episodeLength},
                          {"discounted_return", c.discountedReturn},
                          {"held_noise", c.heldNoise},
                          {"held_noise_steps", c.heldNoiseSteps}});
    j["copies"] = copies;
    json ev = json::array();
    for (const ConfigEvent& e : m_events)
        ev.push_back({{"iteration", e.iteration}, {"key", e.key}, {"from", e.from}, {"to", e.to}});
    j["config_events"] = ev;
    return encodeContainer(ContainerKind::Checkpoint, json::to_cbor(j));
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
        // build the new state completely before touching *this
        Trainer fresh(cfg, m_factory);
        fresh.m_iteration = j.at("iteration").get<int>();
        fresh.m_envSteps = j.at("env_steps").get<std::int64_t>();
        fresh.m_wallSeconds = j.at("wall_seconds").get<double>();
        fresh.m_theta = toVec(j.at("theta"), "policy parameters", fresh.m_theta.size());
        fresh.m_vf->setState(toVec(j.at("value_state"), "value function state"));
        const int od = spec().observation.dim();
        fresh.m_obsNorm.rms.mean = toVec(j.at("obs_norm").at("mean"), "observation mean", od);
        fresh.m_obsNorm.rms.var = toVec(j.at("obs_norm").at("var"), "observation variance", od);
        fresh.m_obsNorm.rms.count = j.at("obs_norm").at("count").get<double>();
        fresh.m_rewardScaler.rms.mean = toVec(j.at("reward_norm").at("mean"), "reward mean", 1);
        fresh.m_rewardScaler.rms.var = toVec(j.at("reward_norm").at("var"), "reward variance", 1);
        fresh.m_rewardScaler.rms.count = j.at("reward_norm").at("count").get<double>();
        fresh.m_rng.setState(rngFrom(j.at("rng")));
        const auto rr = j.at("recent_returns").get<std::vector<double>>();
        fresh.m_recentReturns.assign(rr.begin(), rr.end());
        std::vector<CopyState> cs;
        for (const json& c : j.at("copies")) {
            cs.push_back({rngFrom(c.at("rng")), c.at("episode_seed").get<std::uint64_t>(),
                          c.at("actions").get<std::vector<double>>(), c.at("episode_return").get<double>(),
                          c.at("episode_length").get<int>(), c.at("discounted_return").get<double>()});
            // held exploration noise (absent from checkpoints written before noise_hold_steps)
            if (c.contains("held_noise")) {
                cs.back().heldNoise = c.at("held_noise").get<std::vector<double>>();
                cs.back().heldNoiseSteps = c.at("held_noise_steps").get<int>();
            }
        }
        fresh.m_sampler->setState(cs);
        for (const json& e : j.at("config_events"))
            fresh.m_events.push_back({e.at("iteration").get<int>(), e.at("key").get<std::string>(),
                                      e.at("from").get<std::string>(), e.at("to").get<std::string>()});
        // commit
        m_cfg = fresh.m_cfg;
        m_sampler = std::move(fresh.m_sampler);
        m_policy = fresh.m_policy;
        m_theta = std::move(fresh.m_theta);
        m_vf = std::move(fresh.m_vf);
        m_obsNorm = fresh.m_obsNorm;
        m_rewardScaler = fresh.m_rewardScaler;
        m_rng = fresh.m_rng;
        m_iteration = fresh.m_iteration;
        m_envSteps = fresh.m_envSteps;
        m_wallSeconds = fresh.m_wallSeconds;
        m_recentReturns = fresh.m_recentReturns;
        m_events = fresh.m_events;
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("checkpoint is missing data or has a wrong type: ") + e.what());
    } catch (const ConfigError& e) {
        throw std::runtime_error(std::string("checkpoint configuration is invalid: ") + e.what());
    }
}

} // namespace core
