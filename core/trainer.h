// The training loop. One iteration is eight phases (docs/algorithm.md numbers them):
// sample, advantages, surrogate gradient, natural direction, step scale, line search, value
// fit, report. iterate() runs them all and returns the iteration's IterationStats;
// runPhase() runs just the next one and hands back its result, so a teacher can stop
// between phases. Both run the same code, so a phase-by-phase iteration is bit for bit a
// normal one. Not thread-safe: own it from one thread (the CLI main thread or the studio's
// worker thread).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/algorithms.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/episode_record.h"
#include "core/environment.h"
#include "core/guardrail.h"
#include "core/sampler.h"
#include "core/snapshot.h"
#include "core/stats.h"
#include "core/trpo.h"
#include "core/trust_region.h"
#include "core/value_function.h"

namespace core {

// a hyperparameter change applied at an iteration boundary
struct ConfigEvent {
    int iteration = 0; // the first iteration that used the new value
    std::string key, from, to;
    bool operator==(const ConfigEvent&) const = default;
};

// The whole mutable training state, as one value: roll back is an assignment of an earlier
// copy, a fork a copy given to another trainer, a checkpoint its serialisation. Safe to
// keep and to pass between threads (it holds no pointers).
struct TrainerState {
    TrpoConfig config;                // hot values change during a run; cold ones never do
    VectorXd theta;                   // policy parameters θ (P)
    VectorXd critic;                  // critic parameters and optimiser state (ValueFunction::state())
    RunningMeanStd obsStats;          // observation normaliser statistics
    RunningMeanStd rewardStats;       // reward scaler statistics (1-d)
    Rng::State criticRng;             // critic minibatch shuffling
    std::vector<CopyState> copies;    // each environment copy: RNG, episode seed and actions since its
                                      // reset (the copy is rebuilt by replaying them), held noise
    int iteration = 0;                // iterations completed
    std::int64_t envSteps = 0;
    double wallSeconds = 0;           // time spent in phases, over all resumes
    std::deque<double> recentReturns; // the last 20 finished episodes' returns
    std::vector<ConfigEvent> events;  // hot changes so far
    GuardMemory guard;                // what the divergence guardrail remembers of the returns
    VectorXd policyOptimizer;         // the first-order algorithms' Adam moments and β
                                      // (PolicyOptimizerState::toVector); empty for trpo and npg
};

// the phases of one iteration, in order
enum class Phase { Sample, Advantages, SurrogateGradient, NaturalDirection, StepScale, LineSearch, ValueFit, Report };
constexpr int kPhaseCount = 8;
const char* phaseName(Phase p); // "sample", "advantages", "surrogate_gradient", ...
const char* phaseTitle(Phase p); // "Sampling", "Advantages (GAE)", ... for people

// phase 1's result: what the policy did in the environments
struct SampleResult {
    int steps = 0;
    std::vector<Episode> episodes; // finished in this batch, copy by copy in time order
    double seconds = 0;
};
// phase 2's result: GAE advantages before standardisation
struct AdvantagesResult {
    VectorXd advantages; // N, as computed (standardised only for the update when configured)
    double mean = 0, std = 0;
    double seconds = 0;
};
// phase 7's result
struct ValueFitResult {
    FitResult fit;
    double seconds = 0;
};
// what runPhase() hands back: the phase that ran, its own result, and the iteration's
// statistics so far (complete once `phase` is Report)
struct PhaseResult {
    Phase phase = Phase::Sample;
    std::variant<SampleResult, AdvantagesResult, SurrogateGradient, NaturalDirection, StepScale, LineSearchResult,
                 ValueFitResult, std::monostate>
        result;
    IterationStats stats;
};

class Trainer {
public:
    // validates cfg (throws ConfigError) and builds policy, critic and environment copies
    Trainer(const TrpoConfig& cfg, EnvFactory factory);
    ~Trainer();
    Trainer(Trainer&&) noexcept;
    Trainer& operator=(Trainer&&) noexcept;

    // runs the rest of the current iteration (all of it when none is in progress)
    IterationStats iterate(CancelFlag cancel = nullptr);
    // runs the next phase only; phases a guard makes pointless (a non-finite or zero
    // gradient, a non-positive curvature) are skipped, straight to the value fit.
    // A prompt stop (docs/design.md §3): with a cancel flag, the phase looks at it between
    // shards of its work (the sampler before every environment step, CG before every
    // Fisher-vector product, the line search before every trial, the value fit before every
    // minibatch, and every phase before it starts). Once it is set the whole iteration in
    // progress is discarded and Interrupted (core/cancel.h) is thrown: state() then equals,
    // bit for bit, what it was at the iteration's start, and the next iteration is the one
    // a trainer loaded from that state would run. Looking at the flag changes no arithmetic.
    PhaseResult runPhase(CancelFlag cancel = nullptr);
    // the phase runPhase() would run next (Sample between iterations)
    Phase nextPhase() const { return m_pending.next; }
    bool midIteration() const { return m_pending.next != Phase::Sample; }

    const TrpoConfig& config() const { return m_cfg; }
    const EnvSpec& spec() const { return m_sampler->spec(); }
    // applies the hot fields of `next` (cold ones are ignored); validates first (throws
    // ConfigError and changes nothing on a bad value); returns and records what changed.
    // An iteration in progress finishes with the settings it started with.
    std::vector<ConfigEvent> applyHotConfig(const TrpoConfig& next);
    const std::vector<ConfigEvent>& configEvents() const { return m_events; }

    int iteration() const { return m_iteration; }
    std::int64_t envSteps() const { return m_envSteps; }
    double wallSeconds() const { return m_wallSeconds; }
    std::optional<double> recentReturnMean() const; // mean of the last 20 finished episodes
    const std::deque<double>& recentReturns() const { return m_recentReturns; }

    // The trust-region probe (core/trust_region.h) of every n-th iteration, computed in its
    // line-search phase (0: none; then only on demand). Its cost shows in
    // IterationStats::secondsProbe. It changes nothing: a run is bit for bit the same with it.
    void setProbeEvery(int n) { m_probeEvery = std::max(0, n); }
    int probeEvery() const { return m_probeEvery; }
    // the probe of the last completed iteration: the one computed during it, or one computed
    // now from its batch, which the trainer keeps until the next iteration starts; nullopt
    // when no iteration has completed or the last one took no step to probe (a guard
    // stopped its update), and while an iteration is in progress
    std::optional<TrustRegionProbe> probeLastIteration();

    // The divergence guardrail (core/guardrail.h) checks every iteration and reports what it
    // saw in IterationStats::divergence; it changes nothing by itself. rollBack() then puts
    // the policy, the critic (with its optimiser state and minibatch RNG) and the normalisers
    // back, bit for bit, to the last good state: for a collapse, the state before the update
    // that produced the collapsed policy (two iteration boundaries back); otherwise the state
    // before the last iteration. The environments, the counters and the recent returns go
    // on (the episodes happened; the next batch is new data). Returns the iteration whose end
    // state was restored, or nullopt mid-iteration or before any iteration.
    std::optional<int> rollBack();
    Divergence lastDivergence() const { return m_lastDivergence; }
    const GuardMemory& guardMemory() const { return m_guard; }

    // the batch the current (or last) iteration sampled: obs as the policy saw them, actions,
    // rewards; valid until the next iteration's sample phase
    const Batch& batch() const { return m_batch; }
    // the best, median and worst episode that finished in the batch the current (or last)
    // iteration sampled, as seeds and actions (core/episode_record.h); valid until the next
    // iteration's sample phase
    const IterationEpisodes& sampledEpisodes() const { return m_sampledEpisodes; }

    const Policy& policy() const { return m_policy; }
    const VectorXd& theta() const { return m_theta; }
    SnapshotPtr snapshot() const;

    // The whole training state at the last iteration boundary (an iteration in progress is
    // not part of it). setState() throws std::runtime_error naming the problem and changes
    // nothing when the state does not fit this trainer (another environment, other cold
    // settings, wrong sizes); otherwise it discards any iteration in progress, rebuilds the
    // environment copies from their logs and continues exactly where the state was taken.
    TrainerState state() const;
    void setState(const TrainerState& s);

    // state() in the checkpoint container format; loadState throws std::runtime_error with a
    // message naming the problem and leaves *this unchanged. A checkpoint may carry other
    // cold settings (say, a seed): the trainer then takes them.
    std::vector<std::uint8_t> saveState() const;
    void loadState(const std::vector<std::uint8_t>& bytes);

    static constexpr int kRecentEpisodes = 20;

    // Data-parallel training (core/collective.h, README "Running on several machines (MPI)"):
    // every rank owns a trainer built from the same settings and makes the same calls; the
    // sampler steps only this rank's share of the environment copies and TRPO's update
    // computes only its share of the shards, as the value fit does with its minibatches'
    // shards, and the exchanges make every rank's state bit for bit that of one process.
    // state() and saveState() are then collective calls too. A cancel flag is looked at
    // only as an iteration starts, by all ranks together (one exchange: any rank's set flag
    // interrupts every rank there; a rank may pass none); inside an iteration it is not.
    // With the trust-region probe on (setProbeEvery) or another algo the update is not split.
    // Null (the default): one process.
    void setCollective(std::shared_ptr<Collective> c);
    Collective* collective() const { return m_collective.get(); }

private:
    void runSample(PhaseResult& r);
    void runAdvantages(PhaseResult& r);
    void runValueFit(PhaseResult& r);
    void discardIteration(); // after Interrupted: back to the iteration boundary
    PhaseResult runPhaseUnguarded(CancelFlag cancel);
    void runReport(PhaseResult& r);
    void runPolicyStep(PhaseResult& r); // phase 6 for npg and the first-order algorithms
    // the critic that learns in the first-order algorithms' Adam steps (value_coeff > 0 in the
    // iteration's settings; validate() allows it only with kl_*, ppo and a network critic),
    // or null when the critic has its own fit
    NetworkValueFunction* jointCritic() const;

    TrpoConfig m_cfg;
    EnvFactory m_factory;
    std::shared_ptr<Collective> m_collective;
    std::unique_ptr<Sampler> m_sampler;
    Policy m_policy;
    VectorXd m_theta;
    std::unique_ptr<ValueFunction> m_vf;
    ObsNormalizer m_obsNorm;
    RewardScaler m_rewardScaler;
    Rng m_rng; // critic minibatch shuffling
    PolicyOptimizerState m_policyOpt; // vpg, kl_*, ppo: Adam's moments and the KL β
    int m_iteration = 0;
    std::int64_t m_envSteps = 0;
    double m_wallSeconds = 0;
    std::deque<double> m_recentReturns;
    std::vector<ConfigEvent> m_events;

    // the iteration in progress: its frozen settings and what its phases computed so far
    struct Pending {
        Phase next = Phase::Sample;
        TrpoConfig cfg;          // the settings the iteration started with
        UpdateSettings update;
        IterationStats stats;
        double seconds = 0;      // time spent in its phases
        VectorXd values, advantages, advantagesUsed, returns;
        SurrogateGradient gradient;
        NaturalDirection direction;
        StepScale step;
        VectorXd thetaOld;       // θ before the line search
        LineSearchResult search;
        bool probeable = false;  // the line search ran: its batch and phases can be probed
        // value_coeff > 0: the critic's epoch losses from the policy step (empty when it took none)
        std::vector<double> jointCriticLosses;
    };
    Pending m_pending;
    // the batch as the policy update sees it: the pending iteration's advantages, and for a
    // recurrent policy its sequences (phases 3-6, the other algorithms' step, the probe)
    UpdateBatch updateBatch() const;
    Batch m_batch;               // reused between iterations
    IterationEpisodes m_sampledEpisodes; // of m_batch
    UpdateWorkspace m_updateWs;  // reused between iterations
    int m_probeEvery = 0;
    std::optional<TrustRegionProbe> m_lastProbe;

    // the guardrail: its memory of the returns, and the learned state at the start of this
    // and of the previous iteration (what rollBack() restores)
    struct LearnedState {
        int iteration = 0; // the last good iteration whose end state this is
        VectorXd theta, critic;
        RunningMeanStd obsStats, rewardStats;
        Rng::State criticRng;
        PolicyOptimizerState policyOpt;
    };
    LearnedState learnedState() const;
    void restoreLearnedState(const LearnedState& s); // θ, critic, normalisers, critic RNG
    GuardMemory m_guard;
    std::optional<LearnedState> m_startOfThis, m_startOfPrevious;
    // what the iteration in progress changes besides the learned state and the environment
    // copies (the sampler keeps those): put back when it is interrupted
    struct Boundary {
        bool started = false; // the iteration has begun changing the state
        std::optional<LearnedState> startOfThis, startOfPrevious;
        std::deque<double> recentReturns;
        std::optional<TrustRegionProbe> lastProbe;
    };
    Boundary m_boundary;
    Divergence m_lastDivergence = Divergence::None;
    int m_learnedFrom = 0; // the last good iteration whose end state the learned state is
};

} // namespace core
