// Test-only environments (not in the registry) that misbehave on cue, for the divergence
// guardrail's tests: an environment wrapped so that it returns NaN (or inf) at a chosen step,
// or rescales its rewards by phase.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "core/environment.h"

namespace testutil {

// Wraps an environment. `step` counts every step this instance takes (over episodes):
// observation(step) may overwrite the next observation's first value, reward(step) maps the
// reward. A solved threshold may be given.
class ScriptedEnvironment : public core::Environment {
public:
    using ObsScript = std::function<std::optional<double>(long step)>;
    using RewardScript = std::function<double(long step, double reward)>;
    ScriptedEnvironment(std::unique_ptr<core::Environment> inner, ObsScript obs, RewardScript reward,
                        std::optional<double> threshold = std::nullopt)
        : m_inner(std::move(inner)), m_obs(std::move(obs)), m_reward(std::move(reward)) {
        m_spec = m_inner->spec();
        m_spec.id = "Scripted-" + m_spec.id;
        if (threshold) m_spec.rewardThreshold = threshold;
    }
    const core::EnvSpec& spec() const override { return m_spec; }

protected:
    void doReset(std::uint64_t seed, std::span<double> obs) override { m_inner->reset(seed, obs); }
    core::StepResult doStep(std::span<const double> action, std::span<double> obs) override {
        core::StepResult r = m_inner->step(action, obs);
        const long step = m_steps++;
        if (m_obs)
            if (const std::optional<double> v = m_obs(step)) obs[0] = *v;
        if (m_reward) r.reward = m_reward(step, r.reward);
        return r;
    }

private:
    std::unique_ptr<core::Environment> m_inner;
    ObsScript m_obs;
    RewardScript m_reward;
    core::EnvSpec m_spec;
    long m_steps = 0;
};

// an environment that returns `value` (NaN by default) as its first observation at step `at`
// of each instance's life
inline core::EnvFactory nanAtStep(core::EnvFactory inner, long at,
                                  double value = std::numeric_limits<double>::quiet_NaN()) {
    return [inner, at, value] {
        return std::make_unique<ScriptedEnvironment>(
            inner(), [at, value](long step) { return step == at ? std::optional<double>(value) : std::nullopt; },
            nullptr);
    };
}

} // namespace testutil
