#include "core/guardrail.h"

#include <cmath>
#include <cstdio>

namespace core {

namespace {
// three significant digits, for reading
std::string num3(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

// the mean return fell more than collapseDrop of the progress made, the check armed
bool returnFell(const IterationStats& s, const GuardMemory& m, double collapseDrop, std::optional<double> threshold) {
    if (!(collapseDrop > 0 && threshold && m.baseReturn && m.bestReturn && s.returnMean &&
          s.episodes >= kCollapseMinEpisodes))
        return false;
    const double base = *m.baseReturn, best = *m.bestReturn, target = *threshold;
    const bool armed = target > base && best >= base + 0.5 * (target - base);
    return armed && *s.returnMean < best - collapseDrop * (best - base);
}

} // namespace

Divergence checkDivergence(const IterationStats& s, const GuardMemory& m, double collapseDrop,
                           std::optional<double> threshold) {
    if (s.nonFiniteEnvSteps > 0) return Divergence::NonFiniteEnvironment;
    if (s.outcome == LineSearchOutcome::NonFinite) return Divergence::NonFiniteUpdate;
    if (!std::isfinite(s.valueLossBefore) || !std::isfinite(s.valueLossAfter)) return Divergence::NonFiniteCritic;
    // only a step can be undone: a policy no step changed would come back as it is
    if (m.lastStepAccepted && returnFell(s, m, collapseDrop, threshold)) return Divergence::ReturnCollapse;
    return Divergence::None;
}

void rememberIteration(const IterationStats& s, GuardMemory& m, double collapseDrop, std::optional<double> threshold) {
    if (!m.baseReturn && s.returnMean) m.baseReturn = s.returnMean;
    if (!m.lastStepAccepted && s.recentReturnMean && returnFell(s, m, collapseDrop, threshold))
        m.bestReturn = s.recentReturnMean; // re-based: the level the unchanged policy holds
    else if (s.recentReturnMean && (!m.bestReturn || *s.recentReturnMean > *m.bestReturn))
        m.bestReturn = s.recentReturnMean;
    m.lastStepAccepted = s.accepted;
    m.lastStepKl = s.klMean;
}

std::string explainDivergence(const IterationStats& s, const GuardMemory& m, const TrpoConfig& c) {
    const std::string it = "Iteration " + std::to_string(s.iteration) + ": ";
    switch (s.divergence) {
        case Divergence::None: return {};
        case Divergence::NonFiniteEnvironment:
            return it + "the environment returned NaN or inf in " + std::to_string(s.nonFiniteEnvSteps) +
                   (s.nonFiniteEnvSteps == 1 ? " step" : " steps") +
                   ". Those episodes were cut there, and nothing learned from this batch: the policy, the critic and "
                   "the normalisers are as they were. This comes from the environment (a physics blow-up or a bug), "
                   "not from a setting.";
        case Divergence::NonFiniteUpdate:
            return it + "the policy update produced NaN or inf (|g| = " + num3(s.gradNorm) + ", xᵀFx = " +
                   num3(s.xFx) + "), so no step was taken. With δ = " + num3(c.delta) + " and CG damping " +
                   num3(c.cgDamping) + ", a smaller δ or more damping usually helps.";
        case Divergence::NonFiniteCritic:
            return it + "the critic's fit produced NaN or inf (value loss " + num3(s.valueLossAfter) +
                   "). value_lr = " + num3(c.valueLr) + " is the likely cause: try a smaller one.";
        case Divergence::ReturnCollapse: {
            const std::string fell = "the mean return fell from " + num3(m.bestReturn.value_or(0)) + " to " +
                                     num3(s.returnMean.value_or(0));
            // the collapsed policy came from the previous iteration's step: a large δ that
            // took a large step is δ's doing; a small step points at the data
            if (m.lastStepAccepted && c.delta >= 0.05 && m.lastStepKl > 0.25 * c.delta)
                return it + "δ = " + num3(c.delta) + " let one step change the policy too much: " + fell +
                       " (that step's KL was " + num3(m.lastStepKl) + "). A smaller δ, such as 0.01, keeps each step "
                       "inside the region where the surrogate can be trusted.";
            if (m.lastStepAccepted)
                return it + fell + " after a step of KL " + num3(m.lastStepKl) + " (δ = " + num3(c.delta) +
                       "). The step was well inside the trust region, so the batch was likely too noisy to point the "
                       "right way: more steps per iteration (now " + std::to_string(c.stepsPerIteration) +
                       ") or a smaller δ make each step safer.";
            return it + fell + " with a policy that no step of the last iteration changed (it took none, or it was "
                   "rolled back): a noisy batch, or a policy already on the edge. A smaller δ (now " + num3(c.delta) +
                   ") and more steps per iteration (now " + std::to_string(c.stepsPerIteration) + ") make it steadier.";
        }
    }
    return {};
}

} // namespace core
