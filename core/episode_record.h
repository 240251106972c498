// Episodes kept for replay, and the π_old / π_new comparison ("ghost") of one update.
//
// The environments are deterministic given the reset seed and the actions (the sampler's
// checkpoints rebuild a running episode the same way), so an episode is stored as its seed
// and the actions applied to it: a few bytes a step, and replaying them gives back the
// recorded return exactly. Every iteration keeps three of the episodes that finished in its
// batch: the best, the median and the worst by return.
//
// The ghost plays π_old (the policy before an update) and π_new (after it) from the same
// reset seed, and measures how far the update moved the action distribution in each state
// that π_new visits, with the trainer's own KL(π_old ‖ π_new) (Policy::kl, the per-sample
// term of the mean KL that the trust region bounds by δ; docs/algorithm.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/environment.h"
#include "core/rng.h"
#include "core/sampler.h"
#include "core/snapshot.h"

namespace core {

// one finished episode, replayable: reset(seed), then step() with each action in turn
struct EpisodeRecord {
    std::uint64_t seed = 0;
    int actionDim = 1;
    std::vector<double> actions; // actionDim x length, step-major, as applied (clipped)
    double ret = 0;              // the return the sampler recorded
    int length = 0;              // steps
    bool operator==(const EpisodeRecord&) const = default;
};

enum class EpisodeRank { Best, Median, Worst };
const char* episodeRankName(EpisodeRank r); // "best", "median", "worst"

// the episodes of one iteration kept for replay (none when no episode finished in it)
struct IterationEpisodes {
    int iteration = 0;
    std::optional<EpisodeRecord> best, median, worst;
    const std::optional<EpisodeRecord>& get(EpisodeRank r) const {
        return r == EpisodeRank::Best ? best : r == EpisodeRank::Median ? median : worst;
    }
    bool empty() const { return !best; }
    // bytes held by the action logs (the memory bound of the studio's episode store)
    std::size_t actionBytes() const;
    bool operator==(const IterationEpisodes&) const = default;
};

// The best, median and worst of a batch's finished episodes (Batch::episodes): the highest
// and lowest return (the first in batch order on a tie) and the lower median of the returns
// sorted (a stable sort, so ties keep batch order). actionDim is the action space's dim().
IterationEpisodes pickEpisodes(int iteration, const std::vector<Episode>& episodes, int actionDim);

// JSON form (one object per iteration); fromJson throws std::runtime_error naming the
// problem (a missing or mistyped field, an action count that does not match the length)
nlohmann::json episodesToJson(const IterationEpisodes& e);
IterationEpisodes episodesFromJson(const nlohmann::json& j);

// What replaying a record gives: the return summed from the environment's rewards and the
// steps until it terminated or was truncated (or the actions ran out).
struct ReplayOutcome {
    double ret = 0;
    int length = 0;
    bool ended = false; // the last action ended the episode, as it did when recorded
};
// Replays the record on env (reset with its seed, then its actions); throws
// std::invalid_argument when the record's action size does not fit env's action space.
ReplayOutcome replayEpisode(Environment& env, const EpisodeRecord& record);

// ---- the ghost ----------------------------------------------------------------------------

// one policy played from a reset seed: the raw observation before each step, the actions
// applied and the return
struct Rollout {
    int obsDim = 0, actionDim = 1;
    std::vector<double> obs;     // obsDim x length, step-major: the state each action was taken in
    std::vector<double> actions; // actionDim x length, as applied
    double ret = 0;
    int length = 0;
};
// Plays `policy` on env from reset(seed) until the episode ends (or maxSteps). Actions are
// sampled with rng (deterministic: the mean or the most likely action), so two policies
// given equal rngs share their random numbers.
Rollout rollout(const PolicySnapshot& policy, Environment& env, std::uint64_t seed, Rng rng, bool deterministic,
                int maxSteps);

// KL(π_old ‖ π_new) in each state, rawObs obsDim x N: both policies evaluated on the
// observations normalised as π_old saw them (its normaliser, frozen for the iteration's
// batch and its update), with Policy::kl, the trainer's per-sample KL. The mean over a
// batch's states is the update's mean KL (IterationStats::klMean). The two snapshots must
// share the policy layout (throws std::invalid_argument otherwise).
VectorXd perStateKl(const PolicySnapshot& oldPolicy, const PolicySnapshot& newPolicy, const MatrixXd& rawObs);

} // namespace core
