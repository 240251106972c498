// The TRPO policy update (Schulman et al. 2015, arXiv:1502.05477) in the paper's steps, one
// function each; docs/algorithm.md numbers them as phases 3-6 of an iteration:
//   3. surrogateGradient  g = ∇θ L(θ_old), L(θ) = mean_i r_i(θ) A_i (+ entropy term)
//   4. naturalDirection   x ≈ (F + damping·I)⁻¹ g by conjugate gradient (Nocedal & Wright, Alg. 5.2)
//   5. stepScale          β = sqrt(2δ / xᵀ(F + damping·I)x), full step βx, expected improvement β gᵀx
//   6. lineSearch         the first fraction c^j with mean KL(π_old‖π_new) ≤ δ and L improved
// Each returns its result as a value. They share an UpdateWorkspace (the batch cut into
// shards, with each shard's activations and distributions at θ_old), which the caller owns
// and which may be reused between updates. trpoUpdate() runs the four in order.
#pragma once

#include <cmath>
#include <functional>

#include "core/cancel.h"
#include "core/collective.h"
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
    // the batch is cut into shards of about this many samples (at most 8), a fixed cut
    // that depends on the batch size only; 256 gives a free core work to take over from one
    // the OS preempts (4 tasks for 1024 samples) while keeping the products efficient
    int samplesPerShard = 256;
    int threads = 1; // results do not depend on it (the shards are fixed)
    // when set, CG (before each Fisher-vector product) and the line search (before each
    // trial) throw Interrupted (core/cancel.h); null: never
    CancelFlag cancel = nullptr;
    // Data-parallel update (core/collective.h): with several ranks, each computes its
    // contiguous share of the shards (gradient, Fisher-vector products, line-search trials)
    // and the per-shard partial sums are exchanged, so every rank sums all shards in shard
    // order, as one process does. A one-shard batch is computed whole on every rank. Only
    // phases 3-6 of TRPO honour it: the shards' θ_old activations then exist only on their
    // own rank, so the trust-region probe and the other algorithms' steps run without it.
    Collective* collective = nullptr;
};

// the batch the update sees: obs (obsDim x N, as the policy sees them), actions
// (actionDim x N), advantages (N, already standardised if wanted), oldLogp (N), and for a
// recurrent policy how its steps form sequences (each shard's are cut at the shard's start)
struct UpdateBatch {
    const MatrixXd& obs;
    const MatrixXd& actions;
    const VectorXd& advantages;
    const VectorXd& oldLogp;
    BatchSequences sequences = {};
};

// sums over one shard at a line-search trial θ: Σ r_i A_i, Σ H_i (when wanted),
// Σ KL(π_old,i ‖ π_trial,i) and its maximum
struct TrialSums {
    double surrogate = 0, entropy = 0, kl = 0, klMax = -INFINITY;
};

// one fixed slice [first, first + count) of the batch and the buffers its work needs
struct UpdateShard {
    int first = 0, count = 0;
    NetworkWorkspace ws;      // activations at θ_old (kept for the Fisher-vector products)
    NetworkWorkspace wsTrial; // activations at a line-search trial
    DistBatch distOld;    // π_old on the shard
    DistBatch distTrial;  // π at a line-search trial
    // the Fisher subsample of the shard (every k-th sample of the batch) when k > 1
    int fisherCount = 0;
    NetworkWorkspace wsFisher;
    DistBatch distFisher;
    Policy::FloatFisherCache floatFisher; // the single-precision copy the FVPs use
    Policy::FloatForwardCache floatTrial; // the probe's single-precision trials (evaluateTrialFloat)
    VectorXd grad;         // this shard's part of g (P)
    VectorXd fisherTimesV; // this shard's F v (P)
    double surrogateSum = 0, entropySum = 0; // at θ_old
    TrialSums trial;                         // at the current line-search trial
};

// The update's working memory, owned by the caller (the trainer keeps one for the whole
// run, so each update reuses the buffers instead of faulting in fresh pages). Not for two
// updates at once. surrogateGradient() fills it; the later phases read it.
struct UpdateWorkspace {
    std::vector<UpdateShard> shards;
    int fisherStride = 1;       // k of the Fisher subsample
    double fisherSamples = 0;   // samples the Fisher-vector products average over
    VectorXd thetaTrial;        // θ_old + fraction · βx during the line search
};

// phase 3: the surrogate and its gradient at θ_old
struct SurrogateGradient {
    VectorXd g;                    // ∇θ L(θ_old) (P)
    double surrogate = 0;          // L(θ_old), entropy term included
    double entropy = 0;            // mean policy entropy at θ_old (nats)
    std::vector<double> stdPerDim; // Gaussian std per action dimension (empty for discrete)
    double stdMean = 0;
    double gradNorm = 0;
    LineSearchOutcome guard = LineSearchOutcome::Accepted; // NonFinite or ZeroGradient stop the update
    double seconds = 0;
};
SurrogateGradient surrogateGradient(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                    const UpdateSettings& settings, UpdateWorkspace& ws);

// phase 4: the natural gradient direction x ≈ (F + damping·I)⁻¹ g
struct NaturalDirection {
    VectorXd x;                        // the CG solution (P)
    std::vector<double> residualNorms; // |g| first, then |r| after each CG iteration
    int iterations = 0;
    double xFx = 0;                    // xᵀ(F + damping·I)x
    double gx = 0, gradNorm = 0;       // gᵀx and |g| (the angle between g and x, for teaching)
    // NonFinite; ZeroGradient when CG did no iteration (|g|² below its tolerance);
    // NonPositiveCurvature when xᵀ(F + damping·I)x ≤ 0
    LineSearchOutcome guard = LineSearchOutcome::Accepted;
    double seconds = 0;
};
NaturalDirection naturalDirection(const Policy& policy, const VectorXd& theta, const VectorXd& g,
                                  const UpdateSettings& settings, UpdateWorkspace& ws);

// phase 5: the step that puts the quadratic KL model exactly on the bound δ
struct StepScale {
    double beta = 0;                // sqrt(2δ / xᵀ(F + damping·I)x)
    VectorXd fullStep;              // βx (P)
    double stepNorm = 0;            // |βx|
    double expectedImprovement = 0; // β gᵀx, the linear model's gain for the full step
};
StepScale stepScale(const VectorXd& g, const NaturalDirection& direction, double delta);

// the surrogate and the KL at one θ on the whole batch, summed shard by shard in shard order
// (the line search's trial; the trust-region probe evaluates its curve with it too). Uses
// the shards' θ_old distributions that surrogateGradient() left in ws.
struct TrialEvaluation {
    double surrogate = 0;       // L(θ), entropy term included
    double klMean = 0, klMax = 0; // mean and largest KL(π_old‖π_θ) over the batch
};
TrialEvaluation evaluateTrial(const Policy& policy, const VectorXd& thetaTrial, const UpdateBatch& batch,
                              const UpdateSettings& settings, UpdateWorkspace& ws);
// The same with the network in single precision, relative to θ_old (Policy::floatDistribution):
// about twice as fast, for the trust-region probe's curve, never for the update itself.
// prepareFloatTrials() stores the float inputs and θ_old's float output once per batch.
void prepareFloatTrials(const Policy& policy, const VectorXd& thetaOld, const UpdateBatch& batch,
                        const UpdateSettings& settings, UpdateWorkspace& ws);
TrialEvaluation evaluateTrialFloat(const Policy& policy, const VectorXd& thetaTrial, const UpdateBatch& batch,
                                   const UpdateSettings& settings, UpdateWorkspace& ws);

// phase 6: backtracking along the full step
struct LineSearchResult {
    LineSearchOutcome outcome = LineSearchOutcome::KlExceeded;
    bool accepted = false;
    int backtracks = 0;     // trials before the accepted one (maxBacktracks when none was)
    double fraction = 0;    // of the full step taken (0 when none)
    double klMean = 0, klMax = 0; // of the step taken (0 when none)
    double surrogateAfter = 0;
    double actualImprovement = 0, expectedImprovement = 0, improvementRatio = 0;
    std::vector<LineSearchTrial> trials;
    double seconds = 0;
};
// records trial t (its KL max klMax) as the step taken: accepted, its fraction, KL, surrogate
// and improvements; the caller sets the outcome, the backtracks and θ
void acceptTrial(LineSearchResult& r, const LineSearchTrial& t, double klMax);
// moves theta to the accepted trial; leaves it bit-for-bit unchanged when none is accepted
LineSearchResult lineSearch(const Policy& policy, VectorXd& theta, const UpdateBatch& batch,
                            const SurrogateGradient& gradient, const StepScale& step, const UpdateSettings& settings,
                            UpdateWorkspace& ws);

// each phase's part of the iteration's statistics
void recordUpdateSettings(const UpdateSettings& settings, IterationStats& stats);
void recordGradient(const SurrogateGradient& gradient, IterationStats& stats);
void recordDirection(const NaturalDirection& direction, IterationStats& stats);
void recordStepScale(const StepScale& step, IterationStats& stats);
void recordLineSearch(const LineSearchResult& search, IterationStats& stats);

// Phases 3-6 in order, stopping at a guard. theta is updated in place (left bit-for-bit
// unchanged when no step is accepted); fills the policy-update fields of `stats`. Without a
// workspace, a temporary one is used.
void trpoUpdate(const Policy& policy, VectorXd& theta, const UpdateBatch& batch, const UpdateSettings& settings,
                IterationStats& stats, UpdateWorkspace* ws = nullptr);

// evaluation helpers (also used by tests and the trust-region inspector)
struct SurrogateEval {
    double surrogate = 0;
    double klMean = 0, klMax = 0;
};
// surrogate and KL(π_ref || π_theta) where refDist holds π_ref on batch.obs (one shard)
SurrogateEval evaluateSurrogate(const Policy& policy, const VectorXd& theta, const UpdateBatch& batch,
                                const DistBatch& refDist, double entropyCoeff);

} // namespace core
