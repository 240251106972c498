// TrainingSession: the one owner of the training thread. A TrainingWorker (QObject, moved to
// a QThread) owns the core::Trainer; the UI talks to it only through queued calls and hears
// back only value snapshots (IterationStats, shared_ptr<const PolicySnapshot>, ConfigEvents).
// Both directions go through a HandOff (ui/hand_off.h): a call is a closure the UI queues for
// the worker, and each of the worker's signals is turned, on the training thread, into a
// closure that the UI thread runs, re-emitting it as the session's signal of the same name.
// Run/stop flags are atomics read between iterations, and a cancel flag the trainer reads
// between shards of an iteration's work, so Pause, Reset and closing take effect within a
// fraction of a second even in a long iteration, which is then discarded (docs/design.md
// §3, "A prompt stop"); hot hyperparameter changes are applied
// by the worker at the next iteration boundary. The worker starts iterations at the session's
// pace (ui/pace.h) and waits between them on a timer of its own thread, never blocking it, so
// a pause, a reset, a pace change or a shutdown is handled at once (docs/design.md §3). The
// trust-region probe is computed by the worker too and crosses as a ProbePtr (immutable,
// shared); the divergence guardrail's verdict crosses as the iteration's stats plus the
// worker's plain-words explanation, and the loop stops after that iteration.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ui/hand_off.h"
#include "ui/metatypes.h"
#include "ui/teach/phase_snapshot.h"
#include "ui/pace.h"

class QTimer;

namespace run {
class RunStore;
}

namespace ui {

// lives on the training thread; every method below runs there (invoked by TrainingSession)
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    // cancelFlag: set by the session to stop the iteration in progress (core::Trainer::runPhase)
    TrainingWorker(const std::atomic<bool>& runFlag, const std::atomic<bool>& stopFlag,
                   const std::atomic<bool>& cancelFlag);
    ~TrainingWorker() override;

    void resetTrainer(const core::TrpoConfig& cfg, const QString& runDirBase);
    void startLoop();
    void stepOnce();
    // phase stepping: runs the next phase of the iteration and stops (phaseStepped follows);
    // after the value fit the iteration is reported as after a Step
    void stepPhase();
    void applyConfig(const core::TrpoConfig& cfg);
    // the trainer's state as a value (config, checkpoint bytes, events, iteration, policy);
    // null without a trainer. The iteration history is not in it: the UI's RunHistory holds
    // it (every iteration this worker emitted before the state). An iteration that phase
    // stepping left half done is finished first (a state is taken between iterations).
    RunStatePtr captureState();
    // replaces the trainer by one restored from state (keeps the current one on any error);
    // a running loop stops after the load. With runDirBase, the run goes on in a new run
    // directory holding its history.
    void loadRun(const RunStatePtr& state, const QString& runDirBase);
    // probes every n-th iteration while it runs (core::Trainer::setProbeEvery) and sends
    // each probe after its iteration (probeReady); 0: none. Kept across resets and loads.
    void setProbeEvery(int n);
    // sends the last completed iteration's probe (probeReady), computed here from the batch
    // the trainer still holds, or probeUnavailable with the reason
    void inspectLatest();
    // restores the trainer's last good learned state (core::Trainer::rollBack) and records
    // it in the live run directory: rolledBack, or rollBackFailed with the reason
    void rollBack();
    // the pace of the loop; a wait in progress is shortened or lengthened at once
    void setPace(Pace pace);
    // pause the loop the first time the run is solved (see solved); on again re-arms it
    void setPauseWhenSolved(bool on);
    // the solved threshold to use instead of the environment's (tests); nullopt: the env's
    void setSolvedThresholdOverride(std::optional<double> threshold);
    // a waiting loop looks at its flags and its pace now instead of when its timer fires
    void wake();

signals:
    // the phase about to run: before each of an iteration's phases at a set pace, at most ten
    // a second at max pace
    void phaseStarted(const ui::RunningPhase& phase);
    // the iteration's best, median and worst episode (seeds and actions), just before
    // iterationFinished
    void episodesRecorded(const core::IterationEpisodes& episodes);
    void iterationFinished(const core::IterationStats& stats);
    void snapshotReady(const core::SnapshotPtr& snapshot);
    void configApplied(const std::vector<core::ConfigEvent>& events);
    void loopStopped();
    // a pause, a reset or a shutdown stopped this iteration part way; it was discarded and
    // the trainer is at the end of the iteration before it (loopStopped follows)
    void iterationInterrupted(int iteration);
    void resetFinished(const core::TrpoConfig& cfg, const QString& runDir);
    void resetFailed(const QString& message);
    void failed(const QString& message);
    void stateCaptured(int requestId, const RunStatePtr& state);
    void runLoaded(const RunStatePtr& state, const QString& runDir);
    void loadFailed(const QString& message);
    void probeReady(const ProbePtr& probe);
    void probeUnavailable(const QString& reason);
    // the guardrail flagged this iteration (stats.divergence); the loop stopped after it
    void divergenceDetected(const core::IterationStats& stats, const QString& explanation);
    // iterations restoredIteration + 1 .. divergedIteration were undone
    void rolledBack(int divergedIteration, int restoredIteration);
    void rollBackFailed(const QString& reason);
    // with pause-when-solved on: the mean return of the last 20 episodes reached the
    // environment's threshold at this iteration (the first time in this run); the loop stops
    void solved(int iteration, double recentReturnMean, double threshold);
    // phase stepping: the phase that has just run, as a snapshot
    void phaseStepped(const ui::PhaseSnapshotPtr& snapshot);

private:
    using Clock = std::chrono::steady_clock;
    enum class Outcome { Continue, Failed, Solved, Diverged, Interrupted };
    void runLoop();
    void stopLoop();
    Outcome iterateOnce(); // the loop goes on only after Continue
    Outcome finishIteration(const core::IterationStats& s); // records and reports a completed iteration
    // the iteration just finished solves the run (pause-when-solved on, not yet reported)
    bool solvedNow(const core::IterationStats& s) const;
    void sendProbe();   // the last iteration's probe, when there is one
    ProbePtr recordProbe(core::TrustRegionProbe p); // into the run directory; shared for the UI
    void reportDivergence(const core::IterationStats& s); // the explanation, to the UI

    const std::atomic<bool>& m_runFlag;
    const std::atomic<bool>& m_stopFlag;
    const std::atomic<bool>& m_cancelFlag;
    bool m_loopActive = false;
    bool m_haltLoop = false; // a load replaced the trainer: the running loop stops
    std::unique_ptr<core::Trainer> m_trainer;
    std::unique_ptr<run::RunStore> m_run;
    int m_probeEvery = 0;
    int m_lastRecordedProbe = 0; // the last iteration whose probe trust_region.jsonl holds
    std::vector<run::Event> m_rollbacks; // this run's rolled_back events (a save writes them)
    std::vector<core::TrustRegionProbe> m_unsavedProbes; // the probes, when there is no run directory
    // the last divergence the guardrail reported, until it is rolled back or the run goes on
    struct DivergenceReport {
        int iteration = 0;
        core::Divergence divergence = core::Divergence::None;
        std::string explanation;
    };
    std::optional<DivergenceReport> m_divergence;
    // pacing: iterations start pace.interval() apart, measured from the start of the last
    // one (none: the next starts at once); the timer ends the wait on this thread
    Pace m_pace = Pace::max();
    std::optional<Clock::time_point> m_lastStart;
    QTimer* m_paceTimer = nullptr; // a child: it moves to the worker's thread with it
    Clock::time_point m_lastPhaseSignal; // phaseStarted's last emission
    bool m_pauseWhenSolved = false;
    bool m_solvedReported = false; // solved was emitted for this run
    std::optional<double> m_thresholdOverride;
};

class TrainingSession : public QObject {
    Q_OBJECT
public:
    explicit TrainingSession(QObject* parent = nullptr);
    ~TrainingSession() override;

    // builds a fresh trainer for cfg (pausing first); resetFinished or failed follows
    void reset(const core::TrpoConfig& cfg);
    void start();
    void pause();
    // one iteration (ignored while running); after phase stepping, the rest of the iteration
    void step();
    // the next phase of the iteration only (ignored while running); phaseStepped follows
    void stepPhase();
    // hot fields of cfg take effect at the next iteration boundary; configApplied follows
    void applyHotConfig(const core::TrpoConfig& cfg);
    // asks the worker for the whole run between two iterations; stateCaptured(id, state)
    // follows (state null when there is no trainer). Returns the request id.
    int requestState();
    // the same, waiting for the worker (pauses first; used when closing). Null if shut down.
    // The iterations the worker finished before it are delivered (iterationFinished) first.
    RunStatePtr captureStateNow();
    // restores a saved run (see readRun): runLoaded with the restored run, or loadFailed with
    // the reason and the current run untouched (it keeps running if it was)
    void loadRun(const RunStatePtr& state);
    // the trust-region probe: of every iteration (n = 1) or of every n-th, each sent by
    // probeReady after its iteration; 0 = only on request (inspectLatest)
    void setProbeEvery(int n);
    // asks for the last completed iteration's probe: probeReady or probeUnavailable follows
    void inspectLatest();
    // after divergenceDetected: back to the last good state; rolledBack or rollBackFailed
    // follows. The next Start or Step continues from the restored state.
    void rollBack();
    // stops the loop and joins the thread (idempotent); called by the destructor
    void shutdown();
    // iterations started per second while running (max by default); takes effect at once,
    // also in the middle of a wait between two iterations
    void setPace(Pace pace);
    Pace pace() const { return m_pace; }
    // pause when the mean return of the last 20 finished episodes first reaches the
    // environment's solved threshold (none: never); solved follows
    void setPauseWhenSolved(bool on);
    bool pauseWhenSolved() const { return m_pauseWhenSolved; }
    // a threshold used instead of the environment's (tests); nullopt restores the env's
    void setSolvedThresholdOverride(std::optional<double> threshold);

    // when set, each reset writes a run directory <base>/<env>-<date-time> (config.json,
    // progress.csv, events.jsonl)
    void setRunDirectoryBase(const QString& base) { m_runDirBase = base; }
    QString runDirectory() const { return m_runDir; }

    bool isRunning() const { return m_running; }
    bool isThreadFinished() const { return m_thread.isFinished() || !m_thread.isRunning(); }
    const core::TrpoConfig& config() const { return m_config; }

signals:
    void runningChanged(bool running);
    void paceChanged(ui::Pace pace);
    // the worker is about to run this phase (every phase at a set pace, at most ten a second
    // at max pace)
    void phaseStarted(const ui::RunningPhase& phase);
    // the iteration's best, median and worst episode (seeds and actions), just before
    // iterationFinished
    void episodesRecorded(const core::IterationEpisodes& episodes);
    void iterationFinished(const core::IterationStats& stats);
    void snapshotReady(const core::SnapshotPtr& snapshot);
    void configApplied(const std::vector<core::ConfigEvent>& events);
    // the worker has finished its last iteration after a pause (or a failure), or has
    // discarded the one a pause interrupted (iterationInterrupted first)
    void loopStopped();
    // a pause, a reset or a shutdown stopped this iteration part way: it was discarded and
    // the run is at the end of the iteration before it
    void iterationInterrupted(int iteration);
    void resetFinished(const core::TrpoConfig& cfg);
    void failed(const QString& message);
    void stateCaptured(int requestId, const RunStatePtr& state);
    void runLoaded(const RunStatePtr& state);
    void loadFailed(const QString& message);
    void probeReady(const ProbePtr& probe);
    void probeUnavailable(const QString& reason);
    // training has paused itself after the diverged iteration (runningChanged(false) first)
    void divergenceDetected(const core::IterationStats& stats, const QString& explanation);
    void rolledBack(int divergedIteration, int restoredIteration);
    void rollBackFailed(const QString& reason);
    // training paused because the run is solved (see setPauseWhenSolved)
    void solved(int iteration, double recentReturnMean, double threshold);
    void phaseStepped(const ui::PhaseSnapshotPtr& snapshot);

    // internal: the hand-off queues have something for the worker (commandsPosted, queued to
    // the training thread) or for the UI thread (resultsPosted, emitted on the training thread)
    void commandsPosted();
    void resultsPosted();

private:
    void setRunning(bool running);
    // queues f to run on the training thread, in order with every other call
    void toWorker(std::function<void(TrainingWorker&)> f);
    // on the training thread: queues f to run on the UI thread, in order with the other results
    void toUi(std::function<void()> f);
    // runs slot on the UI thread, with copies of the arguments, each time the worker emits signal
    template <typename... Args, typename Slot>
    void relay(void (TrainingWorker::*signal)(Args...), Slot slot);
    // the worker re-reads the run flag now (a pause ends a wait between iterations at once)
    void wakeWorker();

    QThread m_thread;
    TrainingWorker* m_worker = nullptr; // lives on m_thread, deleted when it finishes
    std::atomic<bool> m_runFlag{false};
    std::atomic<bool> m_stopFlag{false};
    // set by pause, reset and shutdown, cleared by start, step and phase step: the worker's
    // iteration in progress stops at its next look (between shards of its work)
    std::atomic<bool> m_cancelFlag{false};
    bool m_running = false;
    bool m_shutDown = false;
    // resets requested but not yet done: results of the old trainer still in the queue are
    // dropped, so a new run never shows a point or a policy of the previous one
    int m_pendingResets = 0;
    int m_nextRequest = 1;
    Pace m_pace = Pace::max();
    bool m_pauseWhenSolved = false;
    core::TrpoConfig m_config;
    QString m_runDirBase, m_runDir;
    HandOff<TrainingWorker&> m_commands; // UI thread -> training thread
    HandOff<> m_results;                 // training thread -> UI thread
};

} // namespace ui
