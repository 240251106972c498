// The other policy updates on TRPO's pipeline (docs/algorithm.md §11): they share the sampler,
// GAE, the critic, the normalisers and the statistics, and differ only in how θ moves after
// the surrogate gradient of phase 3.
//   npg          natural policy gradient: the TRPO direction x and scale β, no line search
//   vpg          vanilla policy gradient: one Adam step on J = mean_i Â_i log π_θ(a_i|s_i)
//   kl_penalty   Adam on J = mean_i r_i Â_i − β·mean_i KL(π_old‖π_θ), fixed β
//   kl_adaptive  the same, with β adapted after each update (Schulman et al. 2017, §4)
//   ppo          Adam on J = mean_i min(r_i Â_i, clip(r_i, 1 ± ε) Â_i) (Schulman et al. 2017, §3)
// Each objective also carries the entropy term c_H·mean_i H_i. Adam ascends J; its moments
// and the adaptive β persist from one update to the next (PolicyOptimizerState).
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/policy.h"
#include "core/rng.h"
#include "core/trpo.h"
#include "core/value_function.h"

namespace core {

// Algorithm, algorithmName and algorithmFromName are in core/config.h
// the algorithms that move θ by Adam on an objective (vpg, kl_penalty, kl_adaptive, ppo)
inline bool firstOrder(Algorithm a) { return a != Algorithm::Trpo && a != Algorithm::Npg; }

// the objective of one first-order algorithm on a set of samples
struct ObjectiveSettings {
    Algorithm algo = Algorithm::Ppo;
    double klBeta = 1.0;      // β of the KL penalty (kl_penalty, kl_adaptive)
    double clipRange = 0.2;   // ε of ppo
    double entropyCoeff = 0.0; // c_H
};
struct ObjectiveValue {
    double value = 0;        // J(θ)
    VectorXd grad;           // ∇θ J (P)
    double klMean = 0;       // mean KL(π_old‖π_θ) on the samples
    double clipFraction = 0; // ppo: fraction of samples with |r_i − 1| > ε
};
// J and its gradient at θ on the samples obs (obsDim x n), actions (actionDim x n),
// adv (n), oldLogp (n); oldDist holds π_old on the same samples (used by the KL term and the
// reported KL; vpg and ppo may leave it empty, and klMean is then 0). ws and dist are
// scratch (a recurrent policy's sequences are set in ws).
// Given floatPass, the network's forward and backward passes run in single precision in it
// (Policy::distributionFloat), everything else in double. docs/algorithm.md §11 gives each J.
ObjectiveValue policyObjective(const Policy& policy, const VectorXd& theta, const Eigen::Ref<const MatrixXd>& obs,
                               const Eigen::Ref<const MatrixXd>& actions, const Eigen::Ref<const VectorXd>& adv,
                               const Eigen::Ref<const VectorXd>& oldLogp, const DistBatch& oldDist,
                               const ObjectiveSettings& settings, NetworkWorkspace& ws, DistBatch& dist,
                               Policy::FloatPass* floatPass = nullptr);

// the adaptive β rule of Schulman et al. 2017 §4, with d_targ = δ: β/2 when the update's KL
// d < d_targ/1.5, 2β when d > 1.5·d_targ, otherwise unchanged
double adaptKlBeta(double beta, double kl, double klTarget);

// Adam's moments and step count for θ, and the KL-penalty β in force; kept between updates
// (in the trainer's state and its checkpoints)
struct PolicyOptimizerState {
    std::int64_t t = 0; // Adam steps taken
    double klBeta = 0;  // β in force (kl_adaptive); 0 until the first update sets it
    VectorXd m, v;      // first and second moments (P), empty before the first step
    bool empty() const { return t == 0 && klBeta == 0 && m.size() == 0; }
    // [t, klBeta, m, v] as one vector, and back (throws std::runtime_error on a bad size)
    VectorXd toVector() const;
    static PolicyOptimizerState fromVector(const VectorXd& v, Eigen::Index numParams);
};

struct FirstOrderSettings {
    Algorithm algo = Algorithm::Ppo;
    double lr = 3e-4;          // Adam step size (β₁ 0.9, β₂ 0.999, ε 1e-5 as SB3)
    int epochs = 10;           // passes over the batch (kl_*, ppo; vpg takes one full-batch step)
    int minibatch = 64;        // samples per Adam step (kl_*, ppo)
    double clipRange = 0.2;
    double klBeta = 1.0;       // fixed β, or the first β of kl_adaptive
    double klTarget = 0.01;    // d_targ of kl_adaptive (δ)
    double maxGradNorm = 0.5;  // the gradient is scaled down to this global norm (0 = off)
    double entropyCoeff = 0.0;
    bool normalizeAdvantages = true; // ppo: standardise Â in each minibatch, as SB3
    // the minibatches' network passes in double instead of float (policyObjective's
    // floatPass): float is faster, and its gradients agree within 1e-5 (test_algorithms)
    bool doublePrecision = false;
};

struct FirstOrderResult {
    LineSearchResult search; // accepted, one trial (fraction 1) with the KL reached and L after
    double klBeta = 0;       // β in force during the update (kl_*); 0 otherwise
    double clipFraction = 0; // ppo: mean over minibatches of the fraction clipped
    double stepNorm = 0;     // |θ − θ_old|
    int adamSteps = 0;
};
// The critic trained in the same Adam steps as the policy (value_coeff > 0; Stable-Baselines3's
// PPO, vf_coef): each minibatch's loss is −J + c_V·mean_i (V(s_i) − R_i)², the gradient clip
// covers both networks' gradients together, and the critic takes its Adam step beside the
// policy's at the same learning rate (docs/algorithm.md §11.6)
struct JointCritic {
    NetworkValueFunction* critic = nullptr;
    const VectorXd* returns = nullptr; // R_i, the targets (n)
    double coeff = 0.5;                // c_V
    std::vector<double> epochLosses = {}; // out: each epoch's mean (V − R)², each minibatch before its step
};

// Runs the algorithm's Adam steps from θ = θ_old, then evaluates L and KL(π_old‖π_θ) on the
// whole batch (evaluateTrial, with the θ_old distributions surrogateGradient() left in ws).
// Minibatches are drawn by Fisher-Yates from `shuffle`. Each minibatch is one single-threaded
// pass, so the result does not depend on the thread count. A non-finite result leaves θ (and
// a joint critic) unchanged (outcome non_finite). Given `critic`, the critic learns in the
// same steps (kl_*, ppo).
FirstOrderResult firstOrderUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                                  const FirstOrderSettings& settings, const UpdateSettings& update,
                                  const SurrogateGradient& gradient, PolicyOptimizerState& opt, Rng& shuffle,
                                  UpdateWorkspace& ws, JointCritic* critic = nullptr);

// npg: θ ← θ_old + βx without a line search; reports the KL and L the step reached.
// A non-finite trial leaves θ unchanged (outcome non_finite).
LineSearchResult naturalStep(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                             const SurrogateGradient& gradient, const StepScale& step, const UpdateSettings& update,
                             UpdateWorkspace& ws);

} // namespace core
