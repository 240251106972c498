#include "ui/training_session.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <QDateTime>
#include <QDir>
#include <QTimer>
#include <algorithm>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <tuple>
#include <type_traits>

#include "core/guardrail.h"
#include "run/run_store.h"
#include "sim/registry.h"

namespace ui {

namespace {

// <base>/<env>-<date-time>[-n]: a directory name no run uses yet
QString newRunDirectory(const QString& base, const std::string& env) {
    const QString stamp = QDateTime::currentDateTime().toString("yyyyMMdd-hhmmss");
    QString dir = QDir(base).filePath(QString::fromStdString(env) + "-" + stamp);
    for (int n = 2; QDir(dir).exists(); ++n)
        dir = QDir(base).filePath(QString::fromStdString(env) + "-" + stamp + "-" + QString::number(n));
    return dir;
}

} // namespace

TrainingWorker::TrainingWorker(const std::atomic<bool>& runFlag, const std::atomic<bool>& stopFlag,
                               const std::atomic<bool>& cancelFlag)
    : m_runFlag(runFlag), m_stopFlag(stopFlag), m_cancelFlag(cancelFlag), m_paceTimer(new QTimer(this)) {
    m_paceTimer->setSingleShot(true);
    m_paceTimer->setTimerType(Qt::PreciseTimer); // ±1 ms, not the coarse timer's ±5 %
    connect(m_paceTimer, &QTimer::timeout, this, &TrainingWorker::runLoop);
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::resetTrainer(const core::TrpoConfig& cfg, const QString& runDirBase) {
    m_trainer.reset();
    m_run.reset();
    m_solvedReported = false;
    try {
        m_trainer = std::make_unique<core::Trainer>(cfg, sim::environmentFactory(cfg.env));
        m_trainer->setProbeEvery(m_probeEvery);
        m_divergence.reset();
        m_lastRecordedProbe = 0;
        m_rollbacks.clear();
        m_unsavedProbes.clear();
        QString runDir;
        if (!runDirBase.isEmpty()) {
            const QString dir = newRunDirectory(runDirBase, cfg.env);
            m_run = std::make_unique<run::RunStore>(run::RunStore::create(dir.toStdString(), cfg, "trpo-studio"));
            runDir = dir;
        }
        emit resetFinished(cfg, runDir);
    } catch (const std::exception& e) {
        m_trainer.reset();
        m_run.reset();
        emit resetFailed(tr("Cannot start a run: %1").arg(QString::fromStdString(e.what())));
    }
    // a loop waiting for its next slot sees the reset now; a new run starts at once
    m_lastStart.reset();
    wake();
}

void TrainingWorker::startLoop() {
    if (m_loopActive) return; // a loop is already queued or waiting; it reads the run flag
    m_loopActive = true;
    m_lastStart.reset();
    QMetaObject::invokeMethod(this, &TrainingWorker::runLoop, Qt::QueuedConnection);
}

void TrainingWorker::runLoop() {
    const bool halt = m_haltLoop;
    m_haltLoop = false;
    if (halt || !m_runFlag.load() || m_stopFlag.load()) {
        stopLoop();
        return;
    }
    // the pace: iterations start pace.interval() apart on the steady clock, so the time an
    // iteration takes is part of the interval (it is not a sleep after each one). The wait
    // is a single-shot timer on this thread: queued requests (pause, reset, hot changes, a
    // new pace) run during it, and wake() cuts it short.
    const Clock::time_point now = Clock::now();
    if (m_lastStart && !m_pace.isMax()) {
        const Clock::duration left = *m_lastStart + m_pace.interval() - now;
        if (left >= std::chrono::milliseconds(1)) {
            m_paceTimer->start(std::chrono::ceil<std::chrono::milliseconds>(left));
            return;
        }
    }
    // an iteration longer than the interval delays the next one; there is no catching up
    m_lastStart = now;
    if (iterateOnce() != Outcome::Continue) {
        stopLoop();
        return;
    }
    if (m_pace.isMax())
        // re-queue, so that queued requests (hot changes, pause, reset) run between iterations
        QMetaObject::invokeMethod(this, &TrainingWorker::runLoop, Qt::QueuedConnection);
    else
        m_paceTimer->start(std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(
                                                                       *m_lastStart + m_pace.interval() - Clock::now())));
}

void TrainingWorker::stopLoop() {
    m_paceTimer->stop();
    m_loopActive = false;
    emit loopStopped();
}

void TrainingWorker::wake() {
    if (!m_paceTimer->isActive()) return; // running an iteration, queued, or no loop
    m_paceTimer->stop();
    runLoop();
}

void TrainingWorker::setPace(Pace pace) {
    m_pace = pace;
    wake();
}

void TrainingWorker::setPauseWhenSolved(bool on) {
    if (on && !m_pauseWhenSolved) m_solvedReported = false;
    m_pauseWhenSolved = on;
}

void TrainingWorker::setSolvedThresholdOverride(std::optional<double> threshold) { m_thresholdOverride = threshold; }

void TrainingWorker::stepOnce() {
    if (m_loopActive || m_stopFlag.load()) return;
    iterateOnce();
    emit loopStopped();
}

bool TrainingWorker::solvedNow(const core::IterationStats& s) const {
    if (!m_pauseWhenSolved || m_solvedReported || !s.recentReturnMean) return false;
    const std::optional<double> threshold = m_thresholdOverride ? m_thresholdOverride : m_trainer->spec().rewardThreshold;
    // a mean of fewer than 20 episodes is not yet "the last 20" (as trpo-train's --target-return)
    return threshold && static_cast<int>(m_trainer->recentReturns().size()) >= core::Trainer::kRecentEpisodes &&
           *s.recentReturnMean >= *threshold;
}

TrainingWorker::Outcome TrainingWorker::iterateOnce() {
    if (!m_trainer) {
        emit failed(tr("No trainer: reset with a valid configuration first."));
        return Outcome::Failed;
    }
    try {
        // phase by phase (Trainer::iterate() is this loop), telling the UI which one runs:
        // every phase at a set pace; at max pace at most ten a second, since each queued
        // signal wakes the UI thread, which preempts this (lower-priority) one: eight per
        // iteration of a few milliseconds cost about 1 % of the throughput, for a status
        // bar that says "max pace" anyway
        core::PhaseResult r;
        do {
            const Clock::time_point now = Clock::now();
            if (!m_pace.isMax() || now - m_lastPhaseSignal >= std::chrono::milliseconds(100)) {
                m_lastPhaseSignal = now;
                emit phaseStarted({m_trainer->iteration() + 1, m_trainer->nextPhase()});
            }
            r = m_trainer->runPhase(&m_cancelFlag);
        } while (r.phase != core::Phase::Report);
        return finishIteration(r.stats);
    } catch (const core::Interrupted&) {
        // the trainer is back at the iteration boundary: nothing of this iteration is kept
        emit iterationInterrupted(m_trainer->iteration() + 1);
        return Outcome::Interrupted;
    } catch (const std::exception& e) {
        emit failed(tr("Training stopped: %1").arg(QString::fromStdString(e.what())));
        return Outcome::Failed;
    }
}

TrainingWorker::Outcome TrainingWorker::finishIteration(const core::IterationStats& s) {
    if (m_run) m_run->appendIteration(s);
    const core::IterationEpisodes& episodes = m_trainer->sampledEpisodes();
    if (m_run) {
        try {
            m_run->appendEpisodes(episodes);
        } catch (const std::exception&) {
            // the episodes are still replayable in the studio; their record is what is lost
        }
    }
    emit episodesRecorded(episodes);
    emit iterationFinished(s);
    emit snapshotReady(m_trainer->snapshot());
    // the probe the trainer computed during this iteration (every n-th one); asking for
    // another iteration's would compute it now, outside the iteration and its timing
    if (m_probeEvery > 0 && s.iteration % m_probeEvery == 0) sendProbe();
    // the divergence guardrail: the loop stops after this iteration and the UI explains
    if (s.divergence != core::Divergence::None) {
        reportDivergence(s);
        return Outcome::Diverged;
    }
    m_divergence.reset();
    if (solvedNow(s)) {
        m_solvedReported = true;
        const double threshold = m_thresholdOverride ? *m_thresholdOverride : *m_trainer->spec().rewardThreshold;
        emit solved(s.iteration, *s.recentReturnMean, threshold);
        return Outcome::Solved;
    }
    return Outcome::Continue;
}

void TrainingWorker::stepPhase() {
    if (m_loopActive || m_stopFlag.load()) return;
    if (!m_trainer) {
        emit failed(tr("No trainer: reset with a valid configuration first."));
        return;
    }
    try {
        emit phaseStarted({m_trainer->iteration() + 1, m_trainer->nextPhase()});
        core::PhaseResult r = m_trainer->runPhase(&m_cancelFlag);
        emit phaseStepped(makePhaseSnapshot(r, *m_trainer));
        // the report only closes the iteration: it runs with the value fit
        if (r.phase == core::Phase::ValueFit) {
            r = m_trainer->runPhase();
            finishIteration(r.stats);
        }
    } catch (const core::Interrupted&) {
        // a reset or a shutdown during the phase: the half-done iteration is discarded
        emit iterationInterrupted(m_trainer->iteration() + 1);
    } catch (const std::exception& e) {
        emit failed(tr("Training stopped: %1").arg(QString::fromStdString(e.what())));
    }
    emit loopStopped();
}

void TrainingWorker::applyConfig(const core::TrpoConfig& cfg) {
    if (!m_trainer) return;
    try {
        std::vector<core::ConfigEvent> events = m_trainer->applyHotConfig(cfg);
        if (events.empty()) return;
        if (m_run) {
            for (const core::ConfigEvent& e : events) m_run->appendEvent(run::hyperparameterEvent(e));
            m_run->writeConfig(m_trainer->config());
        }
        emit configApplied(events);
    } catch (const std::exception& e) {
        emit failed(QString::fromStdString(e.what()));
    }
}

RunStatePtr TrainingWorker::captureState() {
    if (!m_trainer) return nullptr;
    if (m_trainer->midIteration()) {
        try {
            core::PhaseResult r;
            do r = m_trainer->runPhase();
            while (r.phase != core::Phase::Report);
            finishIteration(r.stats);
        } catch (const std::exception& e) {
            emit failed(tr("Training stopped: %1").arg(QString::fromStdString(e.what())));
            return nullptr;
        }
    }
    auto st = std::make_shared<RunState>();
    st->config = m_trainer->config();
    st->checkpoint = m_trainer->saveState();
    st->events = m_trainer->configEvents();
    st->rollbacks = m_rollbacks;
    st->probes = m_unsavedProbes;
    st->iteration = m_trainer->iteration();
    st->envSteps = m_trainer->envSteps();
    st->snapshot = m_trainer->snapshot();
    if (m_run) {
        // the live run directory already holds the history (appended each iteration): with
        // this checkpoint it is a complete run that a save can copy
        try {
            m_run->saveCheckpointBytes(st->checkpoint, st->config, st->iteration, st->envSteps);
            st->liveRunDir = QString::fromStdString(m_run->path().string());
        } catch (const std::exception&) {
            // the copy falls back to writing the run from this state
        }
    }
    return st;
}

void TrainingWorker::loadRun(const RunStatePtr& state, const QString& runDirBase) {
    if (!state) return;
    const QString ckpt = QDir(state->source).filePath("checkpoints/latest.ckpt");
    try {
        auto trainer = std::make_unique<core::Trainer>(state->config, sim::environmentFactory(state->config.env));
        try {
            trainer->loadState(state->checkpoint);
        } catch (const std::exception& e) {
            throw std::runtime_error(ckpt.toStdString() + ": " + e.what());
        }
        if (trainer->iteration() != state->iteration)
            throw std::runtime_error(ckpt.toStdString() + ": the checkpoint is at iteration " + std::to_string(trainer->iteration()) +
                                     " but the saved history ends at iteration " + std::to_string(state->iteration));
        // commit: the previous trainer (and its run directory) goes
        m_trainer = std::move(trainer);
        m_trainer->setProbeEvery(m_probeEvery);
        m_divergence.reset();
        m_lastRecordedProbe = state->probes.empty() ? 0 : state->probes.back().iteration;
        m_rollbacks = state->rollbacks;
        m_unsavedProbes.clear();
        m_run.reset();
        // with a run directory base, the opened run goes on in a new run directory that
        // starts with its history
        QString runDir;
        if (!runDirBase.isEmpty()) {
            try {
                const QString dir = newRunDirectory(runDirBase, m_trainer->config().env);
                m_run = std::make_unique<run::RunStore>(
                    run::RunStore::create(dir.toStdString(), m_trainer->config(), "trpo-studio"));
                appendRunRecords(*m_run, state->history, m_trainer->configEvents(), m_rollbacks, state->probes);
                for (const core::IterationEpisodes& e : state->episodes) m_run->appendEpisodes(e);
                m_run->appendEvent({m_trainer->iteration(), run::Opened{state->source.toStdString()}});
                m_run->saveCheckpoint(*m_trainer);
                runDir = dir;
            } catch (const std::exception&) {
                m_run.reset(); // the run itself is fine; it is just not recorded
            }
        }
        if (!m_run) m_unsavedProbes = state->probes;
        m_solvedReported = false;
        if (m_loopActive) {
            m_haltLoop = true;
            wake();
        }
        auto loaded = std::make_shared<RunState>(*state);
        loaded->config = m_trainer->config();
        loaded->events = m_trainer->configEvents();
        loaded->envSteps = m_trainer->envSteps();
        loaded->snapshot = m_trainer->snapshot();
        loaded->checkpoint.clear();
        emit runLoaded(loaded, runDir);
    } catch (const std::exception& e) {
        emit loadFailed(QString::fromStdString(e.what()));
    }
}

void TrainingWorker::setProbeEvery(int n) {
    m_probeEvery = std::max(0, n);
    if (m_trainer) m_trainer->setProbeEvery(m_probeEvery);
}

void TrainingWorker::sendProbe() {
    std::optional<core::TrustRegionProbe> p = m_trainer->probeLastIteration();
    if (p) emit probeReady(recordProbe(std::move(*p)));
}

ProbePtr TrainingWorker::recordProbe(core::TrustRegionProbe p) {
    // the live run directory keeps each probed iteration once (trust_region.jsonl); without
    // one, the worker keeps them for a save
    if (p.iteration != m_lastRecordedProbe) {
        if (!m_run) {
            m_unsavedProbes.push_back(p);
            m_lastRecordedProbe = p.iteration;
        } else {
            try {
                m_run->appendProbe(p);
                m_lastRecordedProbe = p.iteration;
            } catch (const std::exception&) {
                // the probe is still shown; the record of it is what is lost
            }
        }
    }
    return std::make_shared<const core::TrustRegionProbe>(std::move(p));
}

void TrainingWorker::inspectLatest() {
    if (!m_trainer) {
        emit probeUnavailable(tr("There is no run to inspect."));
        return;
    }
    const int last = m_trainer->iteration();
    if (last == 0) {
        emit probeUnavailable(tr("No iteration has finished yet: press Step, then Inspect latest."));
        return;
    }
    if (m_trainer->midIteration()) {
        emit probeUnavailable(tr("Iteration %1 is in progress: pause, then Inspect latest.").arg(last + 1));
        return;
    }
    try {
        std::optional<core::TrustRegionProbe> p = m_trainer->probeLastIteration();
        if (p)
            emit probeReady(recordProbe(std::move(*p)));
        else
            emit probeUnavailable(tr("Iteration %1 has no step to inspect: its update stopped before the line search, "
                                     "it was rolled back, or a pause stopped iteration %2 part way, whose sampling "
                                     "replaced this one's batch (choose 'every iteration' to keep every probe).")
                                      .arg(last)
                                      .arg(last + 1));
    } catch (const std::exception& e) {
        emit probeUnavailable(tr("Iteration %1 could not be inspected: %2").arg(last).arg(QString::fromStdString(e.what())));
    }
}

void TrainingWorker::reportDivergence(const core::IterationStats& s) {
    const std::string why = core::explainDivergence(s, m_trainer->guardMemory(), m_trainer->config());
    m_divergence = DivergenceReport{s.iteration, s.divergence, why};
    emit divergenceDetected(s, QString::fromStdString(why));
}

void TrainingWorker::rollBack() {
    if (!m_trainer) {
        emit rollBackFailed(tr("There is no run to roll back."));
        return;
    }
    if (m_trainer->midIteration()) {
        emit rollBackFailed(tr("An iteration is half done (phase stepping): finish it first, then roll back."));
        return;
    }
    const int diverged = m_trainer->iteration();
    const std::optional<int> restored = m_trainer->rollBack();
    if (!restored) {
        emit rollBackFailed(tr("There is no earlier state to roll back to."));
        return;
    }
    const bool reported = m_divergence && m_divergence->iteration == diverged;
    const run::RolledBack what{*restored, core::divergenceName(reported ? m_divergence->divergence : core::Divergence::None),
                               reported ? m_divergence->explanation : std::string("rolled back from the studio")};
    m_rollbacks.push_back({diverged, what});
    if (m_run) {
        try {
            m_run->appendEvent(m_rollbacks.back());
        } catch (const std::exception&) {
            // the rollback itself is done; only its record is missing
        }
    }
    m_divergence.reset();
    emit rolledBack(diverged, *restored);
    emit snapshotReady(m_trainer->snapshot());
}

template <typename... Args, typename Slot>
void TrainingSession::relay(void (TrainingWorker::*signal)(Args...), Slot slot) {
    // a direct connection: this runs on the training thread as the worker emits, copies the
    // arguments into the closure and hands it over; the UI thread runs slot with them
    connect(
        m_worker, signal, this,
        [this, slot](Args... args) {
            toUi([slot, values = std::make_tuple(std::decay_t<Args>(args)...)] { std::apply(slot, values); });
        },
        Qt::DirectConnection);
}

namespace {

// Linux (6.12 and later) lets a thread of the normal policy ask for a shorter time slice than
// the default: once woken, it then preempts a thread whose slice is longer at
// once, instead of waiting for that slice to run out. The UI thread wakes for a frame every
// 16.7 ms and runs for well under a millisecond. Over `trpo-studio --bench 1000` on two busy
// cores, 0.25-0.5 ms slices brought the 95th percentile of the frame timer's interval from
// 18.1-18.2 to 17.9-18.0 ms; 0.1 ms slices let training preempt the UI thread in turn, and a
// 1 ms slice made no difference. Other kernels ignore the request.
void askForShortSlice() {
    struct { // the kernel's struct sched_attr, first version (48 bytes)
        std::uint32_t size, policy;
        std::uint64_t flags;
        std::int32_t nice;
        std::uint32_t priority;
        std::uint64_t runtime, deadline, period; // ns
    } a{};
    a.size = sizeof a;
    a.policy = SCHED_OTHER;
    a.nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); // kept as it is
    a.runtime = 300'000;
    ::syscall(SYS_sched_setattr, 0, &a, 0);
}

} // namespace

TrainingSession::TrainingSession(QObject* parent) : QObject(parent) {
    askForShortSlice(); // on the UI thread, which owns the session
    registerMetaTypes();
    qRegisterMetaType<ui::PhaseSnapshotPtr>();
    m_thread.setObjectName("trpo-training");
    m_worker = new TrainingWorker(m_runFlag, m_stopFlag, m_cancelFlag);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // the training thread (and the sampling threads it spawns, which inherit its niceness)
    // yields to the UI thread: the viewer keeps its frame rate while training uses the rest
    connect(&m_thread, &QThread::started, m_worker, [] { ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10); },
            Qt::DirectConnection);
    // the two hand-off queues: each push is followed by a signal without arguments that
    // makes the receiving thread run what is queued
    connect(this, &TrainingSession::commandsPosted, m_worker, [this] { m_commands.drain(*m_worker); }, Qt::QueuedConnection);
    connect(this, &TrainingSession::resultsPosted, this, [this] { m_results.drain(); }, Qt::QueuedConnection);
    relay(&TrainingWorker::phaseStepped, [this](const PhaseSnapshotPtr& p) {
        if (m_pendingResets == 0) emit phaseStepped(p);
    });
    relay(&TrainingWorker::phaseStarted, [this](const RunningPhase& p) {
        if (m_pendingResets == 0) emit phaseStarted(p);
    });
    relay(&TrainingWorker::episodesRecorded, [this](const core::IterationEpisodes& e) {
        if (m_pendingResets == 0) emit episodesRecorded(e);
    });
    relay(&TrainingWorker::iterationFinished, [this](const core::IterationStats& s) {
        if (m_pendingResets == 0) emit iterationFinished(s);
    });
    relay(&TrainingWorker::solved, [this](int iteration, double mean, double threshold) {
        if (m_pendingResets != 0) return;
        m_runFlag = false;
        setRunning(false);
        emit solved(iteration, mean, threshold);
    });
    relay(&TrainingWorker::snapshotReady, [this](const core::SnapshotPtr& p) {
        if (m_pendingResets == 0) emit snapshotReady(p);
    });
    relay(&TrainingWorker::configApplied, [this](const std::vector<core::ConfigEvent>& e) {
        if (m_pendingResets == 0) emit configApplied(e);
    });
    relay(&TrainingWorker::resetFailed, [this](const QString& msg) {
        --m_pendingResets;
        emit failed(msg);
    });
    relay(&TrainingWorker::iterationInterrupted, [this](int iteration) {
        if (m_pendingResets == 0) emit iterationInterrupted(iteration);
    });
    relay(&TrainingWorker::loopStopped, [this] {
        if (!m_runFlag.load()) setRunning(false);
        emit loopStopped();
    });
    relay(&TrainingWorker::resetFinished, [this](const core::TrpoConfig& cfg, const QString& dir) {
        --m_pendingResets;
        m_runDir = dir;
        if (m_pendingResets == 0) emit resetFinished(cfg);
    });
    relay(&TrainingWorker::stateCaptured, [this](int id, const RunStatePtr& st) { emit stateCaptured(id, st); });
    relay(&TrainingWorker::loadFailed, [this](const QString& msg) { emit loadFailed(msg); });
    relay(&TrainingWorker::runLoaded, [this](const RunStatePtr& st, const QString& runDir) {
        if (m_pendingResets != 0) return; // a reset requested after the load wins
        m_runFlag = false;
        setRunning(false);
        m_config = st->config;
        m_runDir = runDir;
        emit runLoaded(st);
    });
    relay(&TrainingWorker::failed, [this](const QString& msg) {
        m_runFlag = false;
        setRunning(false);
        emit failed(msg);
    });
    relay(&TrainingWorker::probeReady, [this](const ProbePtr& p) {
        if (m_pendingResets == 0) emit probeReady(p);
    });
    relay(&TrainingWorker::probeUnavailable, [this](const QString& why) {
        if (m_pendingResets == 0) emit probeUnavailable(why);
    });
    // the worker has stopped its loop after the diverged iteration: the session pauses too
    relay(&TrainingWorker::divergenceDetected, [this](const core::IterationStats& s, const QString& why) {
        if (m_pendingResets != 0) return;
        m_runFlag = false;
        setRunning(false);
        emit divergenceDetected(s, why);
    });
    relay(&TrainingWorker::rolledBack, [this](int diverged, int restored) {
        if (m_pendingResets == 0) emit rolledBack(diverged, restored);
    });
    relay(&TrainingWorker::rollBackFailed, [this](const QString& why) {
        if (m_pendingResets == 0) emit rollBackFailed(why);
    });
    m_thread.start();
}

TrainingSession::~TrainingSession() { shutdown(); }

void TrainingSession::toWorker(std::function<void(TrainingWorker&)> f) {
    m_commands.push(std::move(f));
    emit commandsPosted();
}

void TrainingSession::toUi(std::function<void()> f) {
    m_results.push(std::move(f));
    emit resultsPosted();
}

void TrainingSession::setRunning(bool running) {
    if (m_running == running) return;
    m_running = running;
    emit runningChanged(running);
}

void TrainingSession::reset(const core::TrpoConfig& cfg) {
    if (m_shutDown) return;
    m_runFlag = false;
    m_cancelFlag = true;
    setRunning(false);
    m_config = cfg;
    ++m_pendingResets;
    toWorker([cfg, base = m_runDirBase](TrainingWorker& w) { w.resetTrainer(cfg, base); });
}

void TrainingSession::start() {
    if (m_shutDown || m_running) return;
    m_cancelFlag = false;
    m_runFlag = true;
    setRunning(true);
    toWorker([](TrainingWorker& w) { w.startLoop(); });
}

void TrainingSession::pause() {
    m_runFlag = false;
    m_cancelFlag = true;
    setRunning(false);
    wakeWorker();
}

void TrainingSession::wakeWorker() {
    if (m_shutDown) return;
    toWorker([](TrainingWorker& w) { w.wake(); });
}

void TrainingSession::setPace(Pace pace) {
    if (m_pace == pace) return;
    m_pace = pace;
    emit paceChanged(pace);
    if (m_shutDown) return;
    toWorker([pace](TrainingWorker& w) { w.setPace(pace); });
}

void TrainingSession::setPauseWhenSolved(bool on) {
    m_pauseWhenSolved = on;
    if (m_shutDown) return;
    toWorker([on](TrainingWorker& w) { w.setPauseWhenSolved(on); });
}

void TrainingSession::setSolvedThresholdOverride(std::optional<double> threshold) {
    if (m_shutDown) return;
    toWorker([threshold](TrainingWorker& w) { w.setSolvedThresholdOverride(threshold); });
}

void TrainingSession::stepPhase() {
    if (m_shutDown || m_running) return;
    m_cancelFlag = false;
    toWorker([](TrainingWorker& w) { w.stepPhase(); });
}

void TrainingSession::step() {
    if (m_shutDown || m_running) return;
    m_cancelFlag = false;
    toWorker([](TrainingWorker& w) { w.stepOnce(); });
}

void TrainingSession::applyHotConfig(const core::TrpoConfig& cfg) {
    if (m_shutDown) return;
    // keep the cold fields of the running trainer; only hot ones travel
    for (const core::ConfigChange& c : core::diffConfigs(m_config, cfg, true))
        core::setConfigValue(m_config, c.key, c.to);
    toWorker([next = m_config](TrainingWorker& w) { w.applyConfig(next); });
}

int TrainingSession::requestState() {
    const int id = m_nextRequest++;
    if (m_shutDown) return id;
    toWorker([id](TrainingWorker& w) { emit w.stateCaptured(id, w.captureState()); });
    return id;
}

RunStatePtr TrainingSession::captureStateNow() {
    if (m_shutDown || !m_thread.isRunning()) return nullptr;
    pause();
    // the worker captures the state after the calls queued before this one; this thread
    // waits for it on a std::mutex and condition variable
    struct Capture {
        std::mutex mutex;
        std::condition_variable done;
        bool ready = false;
        RunStatePtr state;
    };
    auto capture = std::make_shared<Capture>();
    toWorker([capture](TrainingWorker& w) {
        RunStatePtr st = w.captureState();
        const std::lock_guard<std::mutex> lock(capture->mutex);
        capture->state = std::move(st);
        capture->ready = true;
        capture->done.notify_all();
    });
    {
        std::unique_lock<std::mutex> lock(capture->mutex);
        capture->done.wait(lock, [&] { return capture->ready; });
    }
    // the worker's results of the iterations before the capture are queued here still
    m_results.drain();
    return capture->state;
}

void TrainingSession::loadRun(const RunStatePtr& state) {
    if (m_shutDown || !state) return;
    toWorker([state, base = m_runDirBase](TrainingWorker& w) { w.loadRun(state, base); });
}

void TrainingSession::setProbeEvery(int n) {
    if (m_shutDown) return;
    toWorker([n](TrainingWorker& w) { w.setProbeEvery(n); });
}

void TrainingSession::inspectLatest() {
    if (m_shutDown) return;
    toWorker([](TrainingWorker& w) { w.inspectLatest(); });
}

void TrainingSession::rollBack() {
    if (m_shutDown) return;
    toWorker([](TrainingWorker& w) { w.rollBack(); });
}

void TrainingSession::shutdown() {
    if (m_shutDown) return;
    m_shutDown = true;
    m_runFlag = false;
    m_stopFlag = true;
    m_cancelFlag = true;
    setRunning(false);
    m_thread.quit();
    m_thread.wait();
}

} // namespace ui
