// The training loop: one call to iterate() runs DESIGN.md §3 steps 1-8 (sample, advantages,
// TRPO update, value fit, report) and returns one IterationStats value. Not thread-safe:
// own it from one thread (the CLI main thread or the studio's worker thread).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/environment.h"
#include "core/sampler.h"
#include "core/snapshot.h"
#include "core/stats.h"
#include "core/value_function.h"

namespace core {

// a hyperparameter change applied at an iteration boundary
struct ConfigEvent {
    int iteration = 0; // the first iteration that used the new value
    std::string key, from, to;
};

class Trainer {
public:
    // validates cfg (throws ConfigError) and builds policy, critic and environment copies
    Trainer(const TrpoConfig& cfg, EnvFactory factory);
    ~Trainer();

    IterationStats iterate();

    const TrpoConfig& config() const { return m_cfg; }
    const EnvSpec& spec() const { return m_sampler->spec(); }
    // applies the hot fields of `next` (cold ones are ignored); validates first (throws
    // ConfigError and changes nothing on a bad value); returns and records what changed
    std::vector<ConfigEvent> applyHotConfig(const TrpoConfig& next);
    const std::vector<ConfigEvent>& configEvents() const { return m_events; }

    int iteration() const { return m_iteration; }
    std::int64_t envSteps() const { return m_envSteps; }
    double wallSeconds() const { return m_wallSeconds; }
    std::optional<double> recentReturnMean() const; // mean of the last 20 finished episodes
    const std::deque<double>& recentReturns() const { return m_recentReturns; }

    const Policy& policy() const { return m_policy; }
    const VectorXd& theta() const { return m_theta; }
    SnapshotPtr snapshot() const;

    // full training state (policy, critic, optimiser, normalisers, RNGs, environment
    // replay logs, counters) in the checkpoint container format; loadState throws
    // std::runtime_error with a message naming the problem and leaves *this unchanged
    std::vector<std::uint8_t> saveState() const;
    void loadState(const std::vector<std::uint8_t>& bytes);

    static constexpr int kRecentEpisodes = 20;

private:
    TrpoConfig m_cfg;
    EnvFactory m_factory;
    std::unique_ptr<Sampler> m_sampler;
    Policy m_policy;
    VectorXd m_theta;
    std::unique_ptr<ValueFunction> m_vf;
    ObsNormalizer m_obsNorm;
    RewardScaler m_rewardScaler;
    Rng m_rng; // critic minibatch shuffling
    int m_iteration = 0;
    std::int64_t m_envSteps = 0;
    double m_wallSeconds = 0;
    std::deque<double> m_recentReturns;
    std::vector<ConfigEvent> m_events;
    Batch m_batch;
};

} // namespace core
