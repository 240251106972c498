// PolicySnapshot: an immutable copy of a policy (layout, θ, observation normaliser) that
// can act on raw observations. Emitted by the trainer after each update; safe to keep and
// to share between threads (act() uses only local state).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/environment.h"
#include "core/normalizer.h"
#include "core/policy.h"
#include "core/rng.h"

namespace core {

struct PolicySnapshot {
    std::string envId;
    Space observationSpace;
    Space actionSpace;
    Policy policy;
    VectorXd theta;
    ObsNormalizer normalizer;
    int iteration = 0;
    std::int64_t envSteps = 0;
    int noiseHoldSteps = 1; // the training's noise_hold_steps, so a viewer explores the same way

    // What act() carries from one step of an episode to the next, one per episode being
    // played; reset() at each episode start, as the sampler does then:
    // - the Gaussian exploration noise held across calls (noise_hold_steps > 1);
    // - a recurrent policy's state (zero at an episode's first step).
    struct ActState {
        VectorXd eps;
        int left = 0;
        VectorXd hidden;
        void reset() {
            left = 0;
            hidden.resize(0);
        }
    };

    // raw observation in, action out (clipped to the action bounds, ready for the env).
    // With `state`, a continuous action's noise is redrawn only every noiseHoldSteps calls
    // (the sampler's noise_hold_steps; otherwise fresh every call), and a recurrent policy
    // remembers the episode's steps so far (otherwise each call is an episode's first step).
    void act(std::span<const double> rawObs, Rng& rng, bool deterministic, std::span<double> action,
             ActState* state = nullptr) const {
        MatrixXd x = Eigen::Map<const VectorXd>(rawObs.data(), static_cast<Eigen::Index>(rawObs.size()));
        normalizer.normalize(x);
        NetworkWorkspace ws;
        DistBatch d;
        VectorXd h = state && state->hidden.size() == policy.stateSize() ? state->hidden
                                                                         : VectorXd::Zero(policy.stateSize());
        policy.step(theta, x, h, ws, d);
        if (state && policy.recurrent()) state->hidden = std::move(h);
        if (!deterministic && state && noiseHoldSteps > 1 && !policy.discrete()) {
            if (state->eps.size() != policy.outputs()) { // first use, or another environment
                state->eps.resize(policy.outputs());
                state->left = 0;
            }
            policy.sampleHeld(d, 0, rng, noiseHoldSteps, state->eps, state->left, action.data());
        } else {
            policy.sample(d, 0, rng, deterministic, action.data());
        }
        clipAction(action);
    }
    // network outputs for raw observations (obsDim x N): logits or means (a recurrent
    // policy reads the N observations as one episode from its first step)
    MatrixXd outputs(const MatrixXd& rawObs) const {
        MatrixXd x = rawObs;
        normalizer.normalize(x);
        NetworkWorkspace ws;
        DistBatch d;
        policy.distribution(theta, x, ws, d);
        return d.out;
    }
    void clipAction(std::span<double> action) const {
        if (actionSpace.isDiscrete()) return;
        for (size_t j = 0; j < action.size(); ++j)
            action[j] = std::min(std::max(action[j], actionSpace.low[j]), actionSpace.high[j]);
    }
};

using SnapshotPtr = std::shared_ptr<const PolicySnapshot>;

} // namespace core
