// The divergence guardrail (docs/algorithm.md §10): after each iteration it checks for
//   - a non-finite value anywhere: the environment's observations or rewards (the sampler
//     counts them and the trainer learns nothing from that batch), the policy update, the
//     critic's fit;
//   - a collapse of the mean return. With R₀ the mean return of the first iteration that
//     finished an episode, R* the best 20-episode mean so far and T the environment's solved
//     threshold, the check is armed once R* ≥ R₀ + ½(T − R₀) (the run got at least halfway),
//     and fires when an iteration's mean return falls below R* − f·(R* − R₀): it lost more
//     than the fraction f (collapse_drop) of the progress made. f = 0 turns it off. It fires
//     only for a policy a step made (the last iteration's step was accepted): a roll back
//     could not change a policy no step changed, so such a fall re-bases R* to the
//     20-episode mean of now instead.
// What happens then is the caller's choice: trpo-train rolls back and goes on, the studio
// pauses and explains. Trainer::rollBack() restores the last good state.
#pragma once

#include <optional>
#include <string>

#include "core/config.h"
#include "core/stats.h"

namespace core {

constexpr int kCollapseMinEpisodes = 5;

// what the collapse check remembers of the run (part of TrainerState)
struct GuardMemory {
    std::optional<double> baseReturn; // R₀
    std::optional<double> bestReturn; // R*
    // the last good iteration's step: the returns of the next iteration are sampled with the
    // policy it produced, so a collapse there is that step's doing (for the explanation)
    bool lastStepAccepted = false;
    double lastStepKl = 0;
    bool operator==(const GuardMemory&) const = default;
};

// the divergence an iteration shows (None when it is fine); threshold is T
Divergence checkDivergence(const IterationStats& s, const GuardMemory& memory, double collapseDrop,
                           std::optional<double> threshold);
// a good iteration's returns update R₀ and R* (and re-base R* after a fall of a policy no
// step changed, see above)
void rememberIteration(const IterationStats& s, GuardMemory& memory, double collapseDrop,
                       std::optional<double> threshold);
// one paragraph in plain words: what happened, and the setting that most likely caused it
std::string explainDivergence(const IterationStats& s, const GuardMemory& memory, const TrpoConfig& config);

} // namespace core
