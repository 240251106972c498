#include "ui/run_controller.h"

#include <QDateTime>
#include <algorithm>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QSaveFile>
#include <QStandardPaths>

#include "core/serialization.h"
#include "run/run_store.h"
#include "ui/dialogs.h"
#include "ui/env_view.h"
#include "ui/run_file.h"
#include "ui/run_history.h"
#include "ui/run_lifecycle.h"
#include "ui/training_session.h"

namespace ui {

RunController::RunController(TrainingSession* session, RunHistory* history, RunLifecycle* lifecycle, EnvView* envView,
                             QLabel* watchBanner, Dialogs* dialogs, const Options& options, QObject* parent)
    : QObject(parent), m_session(session), m_history(history), m_lifecycle(lifecycle), m_envView(envView),
      m_watchBanner(watchBanner), m_dialogs(dialogs), m_options(options) {
    connect(m_session, &TrainingSession::snapshotReady, this, [this](const core::SnapshotPtr& p) {
        m_liveSnapshot = p;
        if (!m_watching) m_envView->setSnapshot(p);
    });
    connect(m_session, &TrainingSession::stateCaptured, this, &RunController::onStateCaptured);
    connect(m_session, &TrainingSession::runLoaded, this, &RunController::onRunLoaded);
    connect(m_session, &TrainingSession::loadFailed, this, [this](const QString& msg) {
        m_dialogs->showError(tr("Open run"), tr("Could not open the run:\n%1\n\nThe current run is unchanged.").arg(msg));
    });
    connect(m_history, &RunHistory::iterationAppended, this, &RunController::onIterationAppended);
    connect(m_history, &RunHistory::reset, this, [this] { m_liveSnapshot.reset(); });
    connect(m_lifecycle, &RunLifecycle::trainingRequested, this, &RunController::leaveWatchMode);
}

// ---------------------------------------------------------------------------------------
// save, export, open

void RunController::saveRun(const QString& dir) {
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Run, dir};
    m_dialogs->showStatus(tr("Saving the run to %1…").arg(dir), 0);
}

void RunController::exportPolicy(const QString& path) {
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Policy, path};
}

void RunController::writeRunState(const QString& dir, const RunState& state) {
    // the worker's state carries no history: RunHistory's goes with it, which ends at the
    // state's iteration unless a reset or an open came in between
    if (m_history->iteration() != state.iteration)
        throw std::runtime_error(tr("the run changed while it was being saved (the trainer is at iteration %1, the "
                                    "history at %2); nothing was written")
                                     .arg(state.iteration)
                                     .arg(m_history->iteration())
                                     .toStdString());
    // "Save run as" copies the worker's live run directory (atomically); without one, the
    // run is written from this state and the history
    if (!state.liveRunDir.isEmpty() && QFileInfo(state.liveRunDir) != QFileInfo(dir)) {
        run::copyRun(state.liveRunDir.toStdString(), dir.toStdString());
        return;
    }
    RunState st = state;
    st.history = m_history->iterations();
    st.episodes = m_history->allEpisodes();
    st.savedAtMs = QDateTime::currentMSecsSinceEpoch();
    writeRun(dir.toStdString(), st);
}

void RunController::autosave(const RunState& state) {
    // with a live run directory, autosave appends: the history is already there (one line per
    // iteration) and the worker has just added the checkpoint; only a note of where it is
    // is written
    if (!state.liveRunDir.isEmpty()) {
        if (m_history->iteration() != state.iteration) return; // a reset or open overtook it
        QDir().mkpath(autosaveDirectory());
        QSaveFile f(liveRunPointerPath());
        if (!f.open(QIODevice::WriteOnly) || f.write(state.liveRunDir.toUtf8() + "\n") < 0 || !f.commit())
            throw std::runtime_error(tr("cannot write %1").arg(liveRunPointerPath()).toStdString());
        emit autosaved(state.liveRunDir);
        return;
    }
    writeRunState(autosavePath(), state);
    emit autosaved(autosavePath());
}

QString RunController::liveRunPointerPath() const { return QDir(autosaveDirectory()).filePath("live-run"); }

QString RunController::lastAutosave() const {
    // the newer of the live run directory named by live-run and autosave.trporun
    QString live;
    QFile pointer(liveRunPointerPath());
    if (pointer.open(QIODevice::ReadOnly)) live = QString::fromUtf8(pointer.readAll()).trimmed();
    const std::optional<std::int64_t> liveAt = live.isEmpty() ? std::nullopt : runSavedAt(live.toStdString());
    std::optional<std::int64_t> fileAt = runSavedAt(autosavePath().toStdString());
    if (!fileAt) fileAt = runSavedAt(autosavePath().toStdString() + ".old"); // a save interrupted mid-swap
    if (liveAt && (!fileAt || *liveAt > *fileAt)) return live;
    return autosavePath();
}

void RunController::onStateCaptured(int requestId, const RunStatePtr& state) {
    auto it = m_pendingSaves.find(requestId);
    if (it == m_pendingSaves.end()) return;
    const PendingSave job = it->second;
    m_pendingSaves.erase(it);
    if (job.kind == SaveKind::Autosave) {
        m_autosavePending = false;
        // a reset came in between: never replace the autosave by an empty run
        if (!state || state->iteration == 0) return;
    }
    const QString title = job.kind == SaveKind::Run ? tr("Save run") : tr("Export policy");
    if (!state) {
        if (job.kind != SaveKind::Autosave)
            m_dialogs->showError(title, tr("%1: nothing to save, there is no trainer (the last reset failed).").arg(job.path));
        return;
    }
    try {
        switch (job.kind) {
        case SaveKind::Run:
            writeRunState(job.path, *state);
            m_dialogs->showStatus(tr("Run saved to %1 (iteration %2)").arg(job.path).arg(state->iteration));
            emit runSaved(job.path);
            break;
        case SaveKind::Autosave:
            autosave(*state);
            break;
        case SaveKind::Policy:
            writePolicyFile(job.path.toStdString(), *state->snapshot, policyMetadata(state->config, state->events));
            m_dialogs->showStatus(tr("Policy of iteration %1 written to %2").arg(state->iteration).arg(job.path));
            emit policyExported(job.path);
            break;
        }
    } catch (const std::exception& e) {
        const QString msg = QString::fromStdString(e.what());
        if (job.kind == SaveKind::Autosave)
            m_dialogs->showStatus(tr("Autosave failed: %1").arg(msg), 15000);
        else
            m_dialogs->showError(title, tr("Could not write %1:\n%2").arg(job.path, msg));
    }
}

bool RunController::openRun(const QString& dir) {
    RunState st;
    try {
        st = readRun(dir.toStdString());
    } catch (const std::exception& e) {
        m_dialogs->showError(tr("Open run"), tr("Could not open the run %1:\n%2\n\nThe current run is unchanged.")
                                                 .arg(dir, QString::fromStdString(e.what())));
        return false;
    }
    m_dialogs->showStatus(tr("Opening %1…").arg(dir), 0);
    m_session->loadRun(std::make_shared<RunState>(std::move(st)));
    return true;
}

void RunController::onRunLoaded(const RunStatePtr& st) {
    leaveWatchMode();
    m_lifecycle->showRunConfig(st->config, true);
    m_liveSnapshot = st->snapshot;
    m_envView->setSnapshot(st->snapshot);
    m_history->load(st->history, st->events, st->config, st->iteration, st->envSteps, st->source,
                    rolledBackRanges(st->rollbacks), st->episodes);
    if (!st->probes.empty()) {
        std::vector<ProbePtr> probes;
        probes.reserve(st->probes.size());
        for (const core::TrustRegionProbe& p : st->probes) probes.push_back(std::make_shared<const core::TrustRegionProbe>(p));
        emit probesOpened(probes);
    }
    m_dialogs->showStatus(tr("Opened %1 at iteration %2").arg(st->source).arg(st->iteration));
    emit runOpened(st->source);
}

bool RunController::exportMetrics(const QString& path) {
    try {
        std::string csv = core::csvHeader() + "\n";
        for (std::size_t i = 0; i < static_cast<std::size_t>(m_history->size()); ++i)
            csv += core::csvRow(m_history->record(i)) + "\n";
        core::writeFileAtomic(path.toStdString(), csv);
    } catch (const std::exception& e) {
        m_dialogs->showError(tr("Export metrics"), tr("Could not write %1:\n%2").arg(path, QString::fromStdString(e.what())));
        return false;
    }
    m_dialogs->showStatus(tr("%n iteration(s) written to %1", nullptr, m_history->size()).arg(path));
    return true;
}

// ---------------------------------------------------------------------------------------
// watch mode

bool RunController::watchPolicy(const QString& path) {
    core::SnapshotPtr snap;
    try {
        snap = readPolicyFile(path.toStdString());
    } catch (const std::exception& e) {
        m_dialogs->showError(tr("Watch policy"), tr("Cannot play %1:\n%2").arg(path, QString::fromStdString(e.what())));
        return false;
    }
    m_session->pause();
    m_watching = true;
    m_watchFile = path;
    const QString env = QString::fromStdString(snap->envId);
    m_envView->setEnvironment(env);
    m_envView->setSnapshot(snap);
    m_watchBanner->setText(tr("▶ Watching <b>%1</b> (%2, iteration %3). Training is paused; <b>Start</b>, <b>Step</b> or "
                              "<b>Reset</b> returns to the run.")
                               .arg(QFileInfo(path).fileName().toHtmlEscaped(), env.toHtmlEscaped())
                               .arg(snap->iteration));
    m_watchBanner->setToolTip(path);
    m_watchBanner->show();
    m_dialogs->showStatus(tr("Watching %1").arg(path));
    emit watchStarted(path);
    return true;
}

void RunController::leaveWatchMode() {
    if (!m_watching) return;
    m_watching = false;
    m_watchFile.clear();
    m_watchBanner->hide();
    m_envView->setEnvironment(QString::fromStdString(m_session->config().env));
    if (m_liveSnapshot) m_envView->setSnapshot(m_liveSnapshot);
}

// ---------------------------------------------------------------------------------------
// autosave

void RunController::onIterationAppended(const core::IterationStats& s) {
    if (m_options.autosave && m_autosaveEvery > 0 && s.iteration % m_autosaveEvery == 0) requestAutosave();
}

void RunController::requestAutosave() {
    if (m_autosavePending) return; // the previous one is still on its way
    m_autosavePending = true;
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Autosave, autosavePath()};
}

QString RunController::autosaveDirectory() const {
    if (!m_options.autosaveDir.isEmpty()) return m_options.autosaveDir;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("autosave");
}

QString RunController::autosavePath() const { return QDir(autosaveDirectory()).filePath("autosave.trporun"); }

void RunController::setAutosaveInterval(int iterations) {
    iterations = std::clamp(iterations, 0, 100000);
    if (iterations == m_autosaveEvery) return;
    m_autosaveEvery = iterations;
    emit autosaveIntervalChanged(iterations);
}

void RunController::autosaveOnExit() {
    if (!m_options.autosave || m_autosaveEvery <= 0) return;
    // the worker hands over its state after the iteration in flight
    const RunStatePtr st = m_session->captureStateNow();
    if (!st || st->iteration == 0) return;
    try {
        autosave(*st);
    } catch (const std::exception& e) {
        qWarning("trpo-studio: autosave on exit failed: %s", e.what());
    }
}

void RunController::markCleanExit() {
    if (!m_options.autosave) return;
    QDir().mkpath(autosaveDirectory());
    QSaveFile f(QDir(autosaveDirectory()).filePath("clean-exit"));
    if (f.open(QIODevice::WriteOnly)) {
        f.write(QByteArray::number(QDateTime::currentMSecsSinceEpoch()) + "\n");
        f.commit();
    }
}

bool RunController::hasUnfinishedAutosave() const {
    const std::string path = lastAutosave().toStdString();
    std::optional<std::int64_t> saved = runSavedAt(path);
    if (!saved) saved = runSavedAt(path + ".old"); // a save interrupted mid-swap
    if (!saved) return false;
    QFile marker(QDir(autosaveDirectory()).filePath("clean-exit"));
    qint64 cleanExit = 0;
    if (marker.open(QIODevice::ReadOnly)) cleanExit = marker.readAll().trimmed().toLongLong();
    return *saved > cleanExit;
}

bool RunController::offerAutosaveRestore() {
    if (!hasUnfinishedAutosave()) return false;
    const QString last = lastAutosave();
    const std::optional<std::int64_t> saved = runSavedAt(last.toStdString());
    const QString when = saved ? QLocale().toString(QDateTime::fromMSecsSinceEpoch(*saved), QLocale::ShortFormat) : tr("an unknown time");
    if (!m_dialogs->ask(tr("Restore the last run?"),
                        tr("The previous session did not end normally. Its run was autosaved at %1.\n\nRestore it?").arg(when)))
        return false;
    return openRun(last);
}

// ---------------------------------------------------------------------------------------
// the File menu's dialogs

void RunController::saveRunWithDialog(QWidget* dialogParent) {
    QString dir = QFileDialog::getSaveFileName(dialogParent, tr("Save run"), "run.trporun", tr("TRPO Studio run (*.trporun)"));
    if (dir.isEmpty()) return;
    if (!dir.endsWith(".trporun")) dir += ".trporun";
    saveRun(dir);
}

void RunController::openRunWithDialog(QWidget* dialogParent) {
    const QString dir = QFileDialog::getExistingDirectory(dialogParent, tr("Open run (a .trporun folder)"));
    if (!dir.isEmpty()) openRun(dir);
}

void RunController::exportPolicyWithDialog(QWidget* dialogParent) {
    QStringList filters{tr("Policy JSON (*.json)")};
    if (onnxAvailable()) filters << tr("ONNX model (*.onnx)");
    QString selected;
    QString path = QFileDialog::getSaveFileName(dialogParent, tr("Export policy"), "policy.json", filters.join(";;"), &selected);
    if (path.isEmpty()) return;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != "json" && suffix != "onnx") path += selected.contains("onnx") ? ".onnx" : ".json";
    exportPolicy(path);
}

void RunController::exportMetricsWithDialog(QWidget* dialogParent) {
    QString path = QFileDialog::getSaveFileName(dialogParent, tr("Export metrics"), "progress.csv", tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += ".csv";
    exportMetrics(path);
}

void RunController::watchPolicyWithDialog(QWidget* dialogParent) {
    QString filter = tr("Policies (*.json *.ckpt%1);;Policy JSON (*.json);;Checkpoints (*.ckpt)").arg(onnxAvailable() ? " *.onnx" : "");
    if (onnxAvailable()) filter += tr(";;ONNX models (*.onnx)");
    const QString path = QFileDialog::getOpenFileName(dialogParent, tr("Watch policy"), QString(), filter);
    if (!path.isEmpty()) watchPolicy(path);
}

} // namespace ui
