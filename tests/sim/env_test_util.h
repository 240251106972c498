// Helpers shared by the sim/ tests: rollouts, golden hashes and bound checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "sim/box2d_env.h"
#include "sim/sim_environment.h"

namespace simtest {

// chooses an action for step `t` from the last observation
using Policy = std::function<void(int t, std::span<const double> obs, std::span<double> action)>;

// a uniformly random action from `rng`
inline void randomAction(const core::Space& space, core::Rng& rng, std::span<double> action) {
    if (space.isDiscrete()) {
        action[0] = static_cast<double>(rng.below(static_cast<std::uint64_t>(space.n)));
        return;
    }
    for (std::size_t i = 0; i < space.low.size(); ++i) action[i] = rng.uniform(space.low[i], space.high[i]);
}

// runs `steps` steps, resetting with seed, seed+1, ... at episode ends, and hashes every
// observation's bytes and every reward (FNV-1a)
inline std::uint64_t rolloutHash(sim::SimEnvironment& env, std::uint64_t seed, int steps, const Policy& policy) {
    const auto& spec = env.spec();
    std::vector<double> obs(static_cast<std::size_t>(spec.observation.dim()));
    std::vector<double> act(static_cast<std::size_t>(spec.action.dim()));
    std::uint64_t episodeSeed = seed;
    env.reset(episodeSeed, obs);
    std::uint64_t h = sim::fnv1a(obs.data(), obs.size() * sizeof(double));
    for (int t = 0; t < steps; ++t) {
        policy(t, obs, act);
        const core::StepResult r = env.step(act, obs);
        h = sim::fnv1a(obs.data(), obs.size() * sizeof(double), h);
        h = sim::fnv1a(&r.reward, sizeof r.reward, h);
        if (r.terminated || r.truncated) {
            env.reset(++episodeSeed, obs);
            h = sim::fnv1a(obs.data(), obs.size() * sizeof(double), h);
        }
    }
    return h;
}

// a fixed, seeded action sequence usable for any action space
inline Policy fixedRandomPolicy(const core::Space& space, std::uint64_t seed) {
    auto rng = std::make_shared<core::Rng>(seed);
    return [space, rng](int, std::span<const double>, std::span<double> a) { randomAction(space, *rng, a); };
}

// `steps` random steps across resets; returns an empty string, or a description of the
// first non-finite value or out-of-bounds observation (with slack `tol`); dimensions in
// `finiteOnly` are checked for finiteness only
inline std::string checkRandomRollout(sim::SimEnvironment& env, int steps, std::uint64_t seed, double tol = 1e-6,
                                      int* episodes = nullptr, const std::vector<std::size_t>& finiteOnly = {}) {
    const auto& spec = env.spec();
    const auto& lo = spec.observation.low;
    const auto& hi = spec.observation.high;
    std::vector<double> obs(static_cast<std::size_t>(spec.observation.dim()));
    std::vector<double> act(static_cast<std::size_t>(spec.action.dim()));
    core::Rng rng(seed);
    std::uint64_t episodeSeed = seed;
    env.reset(episodeSeed, obs);
    int eps = 1;
    auto check = [&](int t) -> std::string {
        for (std::size_t i = 0; i < obs.size(); ++i) {
            if (!std::isfinite(obs[i])) return "step " + std::to_string(t) + ": obs[" + std::to_string(i) + "] not finite";
            bool skip = false;
            for (std::size_t k : finiteOnly) skip = skip || k == i;
            if (!skip && (obs[i] < lo[i] - tol || obs[i] > hi[i] + tol))
                return "step " + std::to_string(t) + ": obs[" + std::to_string(i) + "] = " + std::to_string(obs[i]) +
                       " outside [" + std::to_string(lo[i]) + ", " + std::to_string(hi[i]) + "]";
        }
        return {};
    };
    if (auto e = check(-1); !e.empty()) return e;
    for (int t = 0; t < steps; ++t) {
        randomAction(spec.action, rng, act);
        const core::StepResult r = env.step(act, obs);
        if (!std::isfinite(r.reward)) return "step " + std::to_string(t) + ": reward not finite";
        if (auto e = check(t); !e.empty()) return e;
        if (r.terminated || r.truncated) {
            env.reset(++episodeSeed, obs);
            ++eps;
            if (auto e = check(t); !e.empty()) return "after reset: " + e;
        }
    }
    if (episodes) *episodes = eps;
    return {};
}

} // namespace simtest
