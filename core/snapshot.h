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

    // raw observation in, action out (clipped to the action bounds, ready for the env)
    void act(std::span<const double> rawObs, Rng& rng, bool deterministic, std::span<double> action) const {
        MatrixXd x = Eigen::Map<const VectorXd>(rawObs.data(), static_cast<Eigen::Index>(rawObs.size()));
        normalizer.normalize(x);
        MlpWorkspace ws;
        DistBatch d;
        policy.distribution(theta, x, ws, d);
        policy.sample(d, 0, rng, deterministic, action.data());
        clipAction(action);
    }
    // network outputs for raw observations (obsDim x N): logits or means
    MatrixXd outputs(const MatrixXd& rawObs) const {
        MatrixXd x = rawObs;
        normalizer.normalize(x);
        MlpWorkspace ws;
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
