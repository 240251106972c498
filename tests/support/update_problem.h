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

// n samples of obsDim observations; `actions` discrete actions, or a box of `actions`
// dimensions in [-2, 2]
inline UpdateProblem makeUpdateProblem(bool discrete, std::uint64_t seed, int n, int obsDim, int actions) {
    core::Rng rng(seed);
    UpdateProblem p;
    const core::Space as = discrete ? core::Space::discrete(actions)
                                    : core::Space::box(std::vector<double>(static_cast<size_t>(actions), -2.0),
                                                       std::vector<double>(static_cast<size_t>(actions), 2.0));
    p.policy = core::Policy(obsDim, as, {16, 16}, core::Activation::Tanh);
    p.theta = p.policy.initialParams(rng, 0.0);
    p.theta.head(p.policy.net().numParams()) += randomVector(p.policy.net().numParams(), rng, 0.2);
    p.obs = randomMatrix(obsDim, n, rng);
    core::MlpWorkspace ws;
    core::DistBatch d;
    p.policy.distribution(p.theta, p.obs, ws, d);
    p.actions.resize(p.policy.actionDim(), n);
    for (int i = 0; i < n; ++i) p.policy.sample(d, i, rng, false, p.actions.col(i).data());
    p.oldLogp = p.policy.logProb(d, p.actions);
    p.adv = randomVector(n, rng);
    return p;
}

} // namespace testutil
