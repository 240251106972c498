// The trust-region probe: what one iteration's update looks like along its step direction,
// recomputed from that iteration's batch (docs/algorithm.md §9).
//   curve    for α in [0, αmax]: the surrogate change L(θ_old + αβx) − L(θ_old), the mean and
//            largest KL(π_old‖π_{θ_old+αβx}), the linear model α·β·gᵀx and the quadratic KL
//            model ½(αβ)²·xᵀFx (F without the CG damping: the KL's own second-order term)
//   trials   the iteration's own line-search trials (α = the fraction tried)
//   fan      the δ what-if: x does not depend on δ, so for each δ′ the step the update would
//            have taken is β′ = sqrt(2δ′ / xᵀ(F + damping·I)x) and the same line search from β′x
// The probe runs after the line search and before the next iteration's gradient, on the
// update workspace that still holds the batch's θ_old distributions; it changes no state.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "core/trpo.h"

namespace core {

struct ProbeSettings {
    double alphaMax = 1.5; // the curve spans α in [0, alphaMax] (α = 1 is the full step βx)
    int points = 31;       // curve points, evenly spaced, both ends included (at least 2)
    // the δ values of the fan, as multiples of the iteration's δ
    std::vector<double> fanFactors{0.1, 1.0 / 3.0, 1.0, 3.0, 10.0};
};

struct ProbePoint {
    double alpha = 0;           // fraction of the full step βx
    double surrogateChange = 0; // L(θ_old + αβx) − L(θ_old)
    double klMean = 0, klMax = 0;
    double linearModel = 0;    // α·β·gᵀx
    double quadraticModel = 0; // ½(αβ)²·xᵀFx
};

// what δ′ would have done on the same batch, with the same direction x
struct WhatIfStep {
    double delta = 0;            // δ′
    double beta = 0;             // sqrt(2δ′ / xᵀ(F + damping·I)x)
    LineSearchOutcome outcome = LineSearchOutcome::KlExceeded;
    bool accepted = false;
    double fraction = 0;         // first accepted fraction of β′x (0 when none)
    double alpha = 0;            // the same step as a fraction of the iteration's βx: fraction·β′/β
    double klMean = 0;           // of the accepted step (0 when none)
    double surrogateChange = 0;  // of the accepted step (0 when none)
    int backtracks = 0;
    std::vector<LineSearchTrial> trials;
};

struct TrustRegionProbe {
    int iteration = 0;          // the iteration probed (1-based)
    double delta = 0;           // the iteration's δ
    double beta = 0;            // its β
    double gx = 0;              // gᵀx
    double xFx = 0;             // xᵀFx (no damping)
    double xFxDamped = 0;       // xᵀ(F + damping·I)x, which β is computed from
    double stepNorm = 0;        // |βx|
    double gradNorm = 0;        // |g|
    double directionNorm = 0;   // |x|
    double angleDegrees = 0;    // between g and x
    std::vector<ProbePoint> curve;
    std::vector<LineSearchTrial> trials; // the iteration's line search
    LineSearchOutcome outcome = LineSearchOutcome::Accepted;
    std::vector<WhatIfStep> fan;
    double seconds = 0;         // what computing the probe cost
};

// Recomputes the probe for an update whose phases 3-6 ran on `batch` from thetaOld (the
// line search may have moved θ since: thetaOld is the θ before it). ws is the update's
// workspace as the line search left it; only its trial buffers are overwritten.
TrustRegionProbe probeTrustRegion(const Policy& policy, const VectorXd& thetaOld, const UpdateBatch& batch,
                                  const SurrogateGradient& gradient, const NaturalDirection& direction,
                                  const StepScale& step, const LineSearchResult& search,
                                  const UpdateSettings& settings, UpdateWorkspace& ws,
                                  const ProbeSettings& probe = {});

// one line of trust_region.jsonl (docs/algorithm.md §9 gives the keys); probeFromJson throws
// std::runtime_error naming the missing or malformed key
nlohmann::json probeToJson(const TrustRegionProbe& p);
TrustRegionProbe probeFromJson(const nlohmann::json& j);

} // namespace core
