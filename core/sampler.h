// The sampler: N environment copies stepped with the current policy until the batch holds
// stepsPerIteration steps, spread over worker threads. Each copy has its own RNG stream
// derived from (seed, index) and its own slice of the batch (copy-major), and every copy's
// arithmetic is the same whatever the thread count, so results do not depend on it.
//
// Held exploration noise (noise_hold_steps = k > 1, Gaussian policies only): each copy draws
// its noise ε ~ N(0, I) at the start of every episode and then every k steps, and holds it in
// between, so the action a_t = μ(s_t) + σ ⊙ ε is correlated in time (like gSDE with
// sde_sample_freq k, but with state-independent noise). Each step's log-probability is still
// that of the ordinary diagonal Gaussian, the same approximation gSDE makes. k = 1 is the
// ordinary white noise (bit-identical to sampling without the option).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/cancel.h"
#include "core/collective.h"
#include "core/environment.h"
#include "core/normalizer.h"
#include "core/policy.h"
#include "core/rng.h"

namespace core {

struct Episode {
    double ret = 0; // undiscounted, unscaled return
    int length = 0;
    // what replays it exactly (core/episode_record.h): the seed the environment was reset
    // with and the actions applied to it since (clipped to the bounds, actionDim per step,
    // length steps; an episode begun in an earlier batch includes that batch's actions)
    std::uint64_t seed = 0;
    std::vector<double> actions;
};

// one iteration's data; sample k of copy e is column e*T + k
struct Batch {
    int numEnvs = 0, stepsPerEnv = 0;
    MatrixXd obs;     // obsDim x N, as the policy saw them (normalised if on)
    MatrixXd rawObs;  // obsDim x N, raw (for the normaliser update)
    MatrixXd actions; // actionDim x N, unclipped samples
    VectorXd logp;    // log π_old(a|s), N
    VectorXd rewards; // N, scaled if reward normalisation is on
    VectorXd rawReturnsForScaler; // N, running discounted returns (reward normaliser update)
    std::vector<std::uint8_t> terminated, truncated, segmentEnd;
    Eigen::VectorXi timestep; // step index within the episode, N
    // a recurrent policy's state before each step (state size x N; zero at an episode's
    // first step), what the update's sequences start from; empty otherwise
    MatrixXd states;
    // observations to bootstrap from (truncations and batch cuts): their step index in the batch
    MatrixXd bootObs;         // obsDim x B
    std::vector<int> bootIndex;
    Eigen::VectorXi bootTimestep;
    std::vector<Episode> episodes; // finished in this batch, copy by copy in time order
    // steps whose observation or reward came back NaN or inf: each such step ends its episode
    // there (terminated, reward 0, the episode not reported) and the copy starts a new one, so
    // the batch itself stays finite; the trainer learns nothing from a batch that has any
    int nonFiniteSteps = 0;
    int size() const { return numEnvs * stepsPerEnv; }
    // how the update reads the steps as sequences (not recurrent when states is empty)
    BatchSequences sequences(int bpttSteps) const {
        if (states.size() == 0) return {};
        return {&states, &timestep, stepsPerEnv, bpttSteps};
    }
};

// replayable state of one environment copy (for checkpoints): the seed of the running
// episode and the actions taken since its reset
struct CopyState {
    Rng::State rng;
    std::uint64_t episodeSeed = 0;
    std::vector<double> actionsSinceReset;
    double episodeReturn = 0;
    int episodeLength = 0;
    double discountedReturn = 0; // reward normaliser's running return
    // held exploration noise (noise_hold_steps > 1): the current ε and how many more steps
    // it is used before a new one is drawn (0: draw at the next step)
    std::vector<double> heldNoise = {};
    int heldNoiseSteps = 0;
    // a recurrent policy's state before the copy's next step (empty: zero, or not recurrent)
    std::vector<double> hidden = {};
};

// how collect() samples one iteration's batch
struct SampleSettings {
    double gamma = 0.99;    // discount of the running return the reward normaliser is fitted to
    int steps = 2048;       // environment steps in the batch (over all copies)
    int threads = 1;        // worker threads; results do not depend on it
    int noiseHoldSteps = 1; // held exploration noise: a new ε every k steps (1: white noise; must be >= 1)
    // looked at before every environment step of every copy; when set, collect() throws
    // Interrupted (core/cancel.h) and the copies are as they were when it was called
    CancelFlag cancel = nullptr;
};

class Sampler {
public:
    Sampler(EnvFactory factory, int numEnvs, std::uint64_t seed);
    ~Sampler();

    const EnvSpec& spec() const { return m_spec; }
    int numEnvs() const { return static_cast<int>(m_copies.size()); }

    // one iteration's batch of settings.steps steps (rounded down to a multiple of the copy
    // count, at least one per copy) with the policy at theta, the normalisers frozen.
    // Interrupted (settings.cancel) it throws Interrupted and discards the steps it took,
    // as rewind() does.
    void collect(const Policy& policy, const VectorXd& theta, const ObsNormalizer& obsNorm,
                 const RewardScaler& rewardScaler, const SampleSettings& settings, Batch& out);

    // Puts the copies back to where the last collect() started, as setState() would from
    // state() taken then: state() answers so at once, and the environments themselves are
    // rebuilt at the start of the next collect() (replaying an episode takes time a stop
    // should not). Does nothing when there is no collect() to undo (none yet, or undone).
    void rewind();

    // With a collective of several ranks (core/collective.h) each rank steps only its
    // contiguous share of the copies and the batch is gathered in copy order, so every rank
    // holds the whole batch, bit for bit what one process samples. state() is then collective
    // (it gathers each copy's state from its rank) and setState() replays only this rank's
    // copies. A stop (settings.cancel) seen by any rank stops all of them. Null: one process.
    void setCollective(Collective* c) { m_collective = c; }

    std::vector<CopyState> state() const;
    // restores the copies by replaying each episode's actions since its reset
    void setState(const std::vector<CopyState>& s);

private:
    std::vector<CopyState> localState() const; // the copies of this process (all of them without a collective)
    Share ownCopies() const;
    // gives every rank the other ranks' copies' columns, episodes and bootstrap observations
    void exchange(Batch& out, int T, std::vector<std::vector<Episode>>& eps,
                  std::vector<std::vector<std::pair<int, VectorXd>>>& boots, std::vector<int>& nonFinite,
                  std::vector<char>& stopped);
    struct Copy;
    void runCopy(int e, const Policy& policy, const VectorXd& theta, const ObsNormalizer& obsNorm,
                 const RewardScaler& rewardScaler, double gamma, int T, int noiseHoldSteps, Batch& out,
                 std::vector<Episode>& episodes, std::vector<std::pair<int, VectorXd>>& boots, int& nonFinite,
                 CancelFlag cancel, bool& stopped);
    EnvSpec m_spec;
    std::vector<std::unique_ptr<Copy>> m_copies;
    // the copies when the last collect() started, until rewind() or the next collect()
    std::optional<std::vector<CopyState>> m_start;
    // a rewound collect()'s starting state, put back at the next collect()
    std::optional<std::vector<CopyState>> m_restore;
    Collective* m_collective = nullptr;
};

} // namespace core
