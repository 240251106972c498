// TrainingSession: the one owner of the training thread. A TrainingWorker (QObject, moved to
// a QThread) owns the core::Trainer; the UI talks to it only through queued calls and hears
// back only value snapshots (IterationStats, shared_ptr<const PolicySnapshot>, ConfigEvents).
// Run/stop flags are atomics read between iterations; hot hyperparameter changes are applied
// by the worker at the next iteration boundary. The trust-region probe is computed by the
// worker too and crosses as a ProbePtr (immutable, shared); the divergence guardrail's
// verdict crosses as the iteration's stats plus the worker's plain-words explanation.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ui/metatypes.h"

namespace run {
class RunStore;
}

namespace ui {

// lives on the training thread; every method below runs there (invoked by TrainingSession)
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    TrainingWorker(const std::atomic<bool>& runFlag, const std::atomic<bool>& stopFlag);
    ~TrainingWorker() override;

    void resetTrainer(const core::TrpoConfig& cfg, const QString& runDirBase);
    void startLoop();
    void stepOnce();
    void applyConfig(const core::TrpoConfig& cfg);
    // the trainer's state as a value (config, checkpoint bytes, events, iteration, policy);
    // null without a trainer. The iteration history is not in it: the UI's RunHistory holds
    // it (every iteration this worker emitted before the state).
    RunStatePtr captureState() const;
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

signals:
    void iterationFinished(const core::IterationStats& stats);
    void snapshotReady(const core::SnapshotPtr& snapshot);
    void configApplied(const std::vector<core::ConfigEvent>& events);
    void loopStopped();
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

private:
    void runLoop();
    bool iterateOnce(); // false on failure or divergence (the loop then stops)
    void sendProbe();   // the last iteration's probe, when there is one
    ProbePtr recordProbe(core::TrustRegionProbe p); // into the run directory; shared for the UI
    bool stopForDivergence(const core::IterationStats& s); // tells the UI; always false

    const std::atomic<bool>& m_runFlag;
    const std::atomic<bool>& m_stopFlag;
    bool m_loopActive = false;
    bool m_haltLoop = false; // a load replaced the trainer: the running loop stops
    std::unique_ptr<core::Trainer> m_trainer;
    std::unique_ptr<run::RunStore> m_run;
    int m_probeEvery = 0;
    int m_lastRecordedProbe = 0; // the last iteration whose probe trust_region.jsonl holds
    // the last divergence the guardrail reported, until it is rolled back or the run goes on
    struct DivergenceReport {
        int iteration = 0;
        core::Divergence divergence = core::Divergence::None;
        std::string explanation;
    };
    std::optional<DivergenceReport> m_divergence;
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
    // one iteration (ignored while running)
    void step();
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

    // when set, each reset writes a run directory <base>/<env>-<date-time> (config.json,
    // progress.csv, events.jsonl)
    void setRunDirectoryBase(const QString& base) { m_runDirBase = base; }
    QString runDirectory() const { return m_runDir; }

    bool isRunning() const { return m_running; }
    bool isThreadFinished() const { return m_thread.isFinished() || !m_thread.isRunning(); }
    const core::TrpoConfig& config() const { return m_config; }

signals:
    void runningChanged(bool running);
    void iterationFinished(const core::IterationStats& stats);
    void snapshotReady(const core::SnapshotPtr& snapshot);
    void configApplied(const std::vector<core::ConfigEvent>& events);
    // the worker has finished its last iteration after a pause (or a failure)
    void loopStopped();
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

private:
    void setRunning(bool running);

    QThread m_thread;
    TrainingWorker* m_worker = nullptr; // lives on m_thread, deleted when it finishes
    std::atomic<bool> m_runFlag{false};
    std::atomic<bool> m_stopFlag{false};
    bool m_running = false;
    bool m_shutDown = false;
    // resets requested but not yet done: results of the old trainer still in the queue are
    // dropped, so a new run never shows a point or a policy of the previous one
    int m_pendingResets = 0;
    int m_nextRequest = 1;
    core::TrpoConfig m_config;
    QString m_runDirBase, m_runDir;
};

} // namespace ui
