// One TRPO policy update (Schulman et al. 2015, arXiv:1502.05477), DESIGN.md §3 steps 3-6:
//   g = ∇θ L(θ_old), L(θ) = mean_i r_i(θ) A_i (+ entropy term)
//   x ≈ (F + damping·I)⁻¹ g by conjugate gradient (Nocedal & Wright, Alg. 5.2)
//   β = sqrt(2δ / xᵀ(F + damping·I)x), full step βx, expected improvement β gᵀx
//   backtracking line search: first fraction c^j with mean KL(π_old||π_new) <= δ and L improved.
#pragma once

#include <functional>

#include "core/policy.h"
#include "core/stats.h"

namespace core {

struct CgResult {
    VectorXd x;
    std::vector<double> residualNorms; // |b| first, then |r| after each iteration
    int iterations = 0;
};

// solves A x = b from x = 0; Avp(v, out) writes A v. Stops after maxIters or when rᵀr < tol.
CgResult conjugateGradient(const std::function<void(const VectorXd&, VectorXd&)>& Avp, const VectorXd& b,
                           int maxIters, double tol);

struct UpdateSettings {
    double delta = 0.01;
    int cgIters = 15;
    double cgDamping = 0.1;
    double cgTolerance = 1e-10;
    double backtrackCoeff = 0.8;
    int maxBacktracks = 10; // trials = 1 (full step) + maxBacktracks
    double entropyCoeff = 0.0;
    // CG's Fisher-vector products in double instead of float (the golden PyTorch check
    // needs 1e-9; float is ~2x faster and accurate to ~1e-6, and every step is still
    // checked against δ in double by the line search)
    bool fvpDoublePrecision = false;
    // Fisher-vector products use every k-th sample of the batch (SB3-contrib's
    // sub_sampling_factor; the TRPO paper used 10%): CG then costs 1/k as much, while the
    // gradient and the line search still see the whole batch
    int fvpSubsample = 1;
    int threads = 1; // results do not depend on it (fixed shards of the batch)
};

// the batch the update sees: obs (obsDim x N, as the policy sees them), actions
// (actionDim x N), advantages (N, already standardised if wanted), oldLogp (N)
struct UpdateBatch {
    const MatrixXd& obs;
    const MatrixXd& actions;
    const VectorXd& advantages;
    const VectorXd& oldLogp;
};

// Performs the update on theta in place (theta is left bit-for-bit unchanged when no step
// is accepted). Fills the policy-update fields of `stats` (surrogate, KL, line search,
// CG, norms, β, entropy, std, seconds for gradient/CG/line search).
void trpoUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch, const UpdateSettings& settings,
                IterationStats& stats);

// evaluation helpers (also used by tests and the trust-region inspector)
struct SurrogateEval {
    double surrogate = 0;
    double klMean = 0, klMax = 0;
};
// surrogate and KL(π_ref || π_theta) where refDist holds π_ref on batch.obs (one shard)
SurrogateEval evaluateSurrogate(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                const DistBatch& refDist, double entropyCoeff);

} // namespace core
