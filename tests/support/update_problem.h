// A random policy-update problem for the update's unit tests: a small tanh policy at
// perturbed initial weights, random observations, actions sampled from the policy itself
// (so oldLogp is exact) and random advantages.
#pragma once

#include <cstdint>

#include "core/policy.h"
#include "core/rng.h"
#include "core/trpo.h"
#include "support/test_util.h"

namespace testutil {

struct UpdateProblem {
    core::Policy policy;
    core::VectorXd theta;
    core::MatrixXd obs, actions;
    core::VectorXd adv, oldLogp;
    core::UpdateBatch batch() const { return {obs, actions, adv, oldLogp}; }
};

// the CNN of the CNN tests: images of 2 channels of 7 x 6 pixels, 3 filters 3x3 stride 2
// (3 x 2 maps), 4 filters 2x2 stride 1 (2 x 1 maps), then a head of 5 units
inline core::NetworkSpec smallCnnSpec() {
    return {core::NetworkKind::Cnn, 2 * 7 * 6, {2, 7, 6}, {{3, 3, 2}, {4, 2, 1}}, {5}, core::Activation::Tanh};
}

// n samples of obsDim observations; `actions` discrete actions, or a box of `actions`
// dimensions in [-2, 2]. The policy is a 16-16 tanh MLP, or the network `cnn` describes
// (then obsDim must be its input size).
inline UpdateProblem makeUpdateProblem(bool discrete, std::uint64_t seed, int n, int obsDim, int actions,
                                       const core::NetworkSpec* cnn = nullptr) {
    core::Rng rng(seed);
    UpdateProblem p;
    const core::Space as = discrete ? core::Space::discrete(actions)
                                    : core::Space::box(std::vector<double>(static_cast<size_t>(actions), -2.0),
                                                       std::vector<double>(static_cast<size_t>(actions), 2.0));
    p.policy = cnn ? core::Policy(*cnn, as) : core::Policy(obsDim, as, {16, 16}, core::Activation::Tanh);
    p.theta = p.policy.initialParams(rng, 0.0);
    p.theta.head(p.policy.net().numParams()) += randomVector(p.policy.net().numParams(), rng, 0.2);
    p.obs = randomMatrix(obsDim, n, rng);
    core::NetworkWorkspace ws;
    core::DistBatch d;
    p.policy.distribution(p.theta, p.obs, ws, d);
    p.actions.resize(p.policy.actionDim(), n);
    for (int i = 0; i < n; ++i) p.policy.sample(d, i, rng, false, p.actions.col(i).data());
    p.oldLogp = p.policy.logProb(d, p.actions);
    p.adv = randomVector(n, rng);
    return p;
}

} // namespace testutil
