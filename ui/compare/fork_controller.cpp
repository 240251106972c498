#include "ui/compare/fork_controller.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLineEdit>
#include <QPushButton>
#include <QStandardPaths>
#include <QThread>
#include <algorithm>
#include <filesystem>
#include <memory>

#include "sim/registry.h"
#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_dialog.h"
#include "ui/compare/fork_session.h"
#include "ui/dialogs.h"
#include "ui/main_window.h"
#include "ui/run_file.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

namespace ui {

namespace {
namespace fs = std::filesystem;

// the first of base, base-2, base-3, ... that does not exist yet
QString unused(const QString& base) {
    QString p = base;
    for (int n = 2; QFileInfo::exists(p); ++n) p = base + "-" + QString::number(n);
    return p;
}
} // namespace

ForkController::ForkController(MainWindow* window, Dialogs* dialogs)
    : QObject(window), m_window(window), m_dialogs(dialogs) {
    setObjectName("forkController");
}

// a fork still training when the window goes is stopped by its view's destruction (the
// ForkSession joins its thread without signals); closeEvent has stopped the others
ForkController::~ForkController() = default;

ForkDialog* ForkController::dialog() const { return m_dialog.data(); }

QString ForkController::defaultDirectory(const std::string& key) const {
    const int at = m_window->iterationCount();
    const QString name = QString("at%1-%2").arg(at).arg(QString::fromStdString(key));
    const QString live = m_window->session()->runDirectory();
    if (!live.isEmpty()) return unused(QDir(live).filePath("forks/" + name));
    const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return unused(QDir(data).filePath(
        "forks/" + QString::fromStdString(m_window->session()->config().env) + "-" +
        QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss") + "-" + name));
}

void ForkController::forkWithDialog() {
    if (m_dialog) {
        m_dialog->raise();
        return;
    }
    const core::TrpoConfig base = m_window->session()->config();
    auto* d = new ForkDialog(base, m_window->iterationCount(), defaultDirectory("delta"), m_window);
    d->setAttribute(Qt::WA_DeleteOnClose);
    // the default folder follows the key while the user has not typed one
    connect(d->keyPicker(), &QComboBox::currentIndexChanged, d, [this, d] {
        d->directoryEdit()->setText(defaultDirectory(d->keyPicker()->currentData().toString().toStdString()));
    });
    connect(d, &QDialog::accepted, this, [this, d] {
        if (const std::optional<ForkRequest> r = d->request())
            fork(r->vary, r->iterations, QString::fromStdString(r->directory.string()));
    });
    m_dialog = d;
    d->open();
}

ComparisonView* ForkController::fork(const run::VarySpec& vary, int iterations, const QString& dir) {
    const QString title = tr("Fork");
    // the run's state between two iterations (the run pauses first)
    const RunStatePtr st = m_window->session()->captureStateNow();
    if (!st) {
        m_dialogs->showError(title, tr("There is no run to fork (the last reset failed)."));
        return nullptr;
    }
    const QString outDir = dir.isEmpty() ? defaultDirectory(vary.key) : dir;
    auto session = std::make_unique<ForkSession>();
    session->setPace(m_pace);
    run::RunContents parent;
    try {
        // the parent is a run directory, as for trpo-train --fork: the live one (its history
        // and, after the capture, its checkpoint at this iteration), else the run written out
        if (!st->liveRunDir.isEmpty()) {
            parent = run::readRun(st->liveRunDir.toStdString());
        } else {
            RunState whole = *st;
            whole.history = m_window->history()->iterations();
            whole.episodes = m_window->history()->allEpisodes();
            whole.savedAtMs = QDateTime::currentMSecsSinceEpoch();
            const fs::path parentDir = fs::path(outDir.toStdString()) / "parent";
            writeRun(parentDir, whole);
            parent = run::readRun(parentDir);
        }
        if (static_cast<int>(parent.history.size()) != st->iteration || parent.manifest.checkpointIteration != st->iteration)
            throw core::FileError(parent.dir.string() + ": the run directory is not at iteration " +
                                  std::to_string(st->iteration) + " (it has " + std::to_string(parent.history.size()) +
                                  " iterations); nothing was forked");
        // the values again, against the settings in force now
        run::checkSettingValues("Values", vary.key, vary.values, vary.key, parent.config);
        const core::EnvFactory factory = sim::environmentFactory(parent.config.env);
        const core::TrainerState forkState = run::stateAt(parent, st->iteration, factory, std::max(1, parent.config.threads));
        session->start(parent, st->iteration, forkState, vary, outDir.toStdString(), iterations,
                       std::max(1, parent.config.threads));
    } catch (const std::exception& e) {
        m_dialogs->showError(title, tr("Could not fork the run:\n%1").arg(QString::fromStdString(e.what())));
        return nullptr;
    }

    auto* view = new ComparisonView(m_window);
    view->setWindowFlag(Qt::Window);
    view->setAttribute(Qt::WA_DeleteOnClose);
    std::vector<core::IterationStats> shared(parent.history.begin(), parent.history.begin() + st->iteration);
    view->beginLive(session->manifest(), shared, parent.rolledBackIterations(), iterations);
    view->setWindowTitle(view->title());
    view->resize(1100, 800);
    ForkSession* s = session.release();
    s->setParent(view); // the view owns the fork: closing it stops the fork
    offerContinue(view, outDir);
    attach(view, s);
    view->show();
    m_dialogs->showStatus(tr("Forked at iteration %1 into %2 variants: %3").arg(st->iteration).arg(vary.values.size()).arg(outDir), 10000);
    emit forkStarted(view, s);
    return view;
}

void ForkController::offerContinue(ComparisonView* view, const QString& dir) {
    connect(view, &ComparisonView::continueRequested, this,
            [this, view, dir](int iterations) { continueFork(view, dir, iterations); });
}

bool ForkController::continueFork(ComparisonView* view, const QString& dir, int iterations) {
    auto session = std::make_unique<ForkSession>();
    session->setPace(m_pace);
    try {
        // results do not depend on the thread count (README "Forks"); the view rereads what the
        // variants go on from, as RunStore::open left it (rows past a checkpoint cut), before
        // the training thread starts writing to the same files
        session->resume(dir.toStdString(), iterations, std::max(1, QThread::idealThreadCount()),
                        [view, &dir] { view->openFork(dir.toStdString()); });
    } catch (const std::exception& e) {
        m_dialogs->showError(tr("Continue the fork"),
                             tr("Could not continue the fork:\n%1").arg(QString::fromStdString(e.what())));
        return false;
    }
    ForkSession* s = session.release();
    s->setParent(view);
    attach(view, s);
    emit forkStarted(view, s);
    return true;
}

void ForkController::attach(ComparisonView* view, ForkSession* session) {
    m_sessions.emplace_back(session);
    view->setContinuable(false);
    const int n = static_cast<int>(session->manifest().variants.size());
    const int at = session->manifest().forkIteration;
    const int from = session->startIteration();
    const int total = session->iterations();
    auto done = std::make_shared<std::vector<int>>(static_cast<size_t>(n), 0);
    const QString folder = QString::fromStdString(session->directory().string());
    auto progress = [view, done, at, from, total, n] {
        const int least = *std::min_element(done->begin(), done->end());
        view->setStatus(tr("Training %1 variants side by side: iteration %2 of %3 (forked at %4, %5 more each)")
                            .arg(n)
                            .arg(from + least)
                            .arg(from + total)
                            .arg(at)
                            .arg(total));
    };
    progress();
    connect(session, &ForkSession::variantIteration, view, [view, done, progress](int m, const core::IterationStats& s) {
        view->appendIteration(m, s);
        ++(*done)[static_cast<size_t>(m)];
        progress();
    });
    connect(session, &ForkSession::variantRolledBack, view,
            [view](int m, int diverged, int restored, const QString&) { view->markRolledBack(m, restored + 1, diverged); });
    connect(session, &ForkSession::failed, this, [this](const QString& msg) {
        m_dialogs->showError(tr("Fork"), tr("The fork stopped:\n%1").arg(msg));
    });
    connect(session, &ForkSession::finished, view, [this, view, session, folder, done, total] {
        const std::vector<std::string>& why = session->outcomes();
        const bool interrupted = std::find(why.begin(), why.end(), "interrupted") != why.end();
        const int least = *std::min_element(done->begin(), done->end());
        // every variant's last iteration reached the view before this (one queue, in order):
        // show them now, not at the next coalesced refresh
        view->refreshNow();
        view->setStatus(interrupted ? tr("Stopped after %1 of %2 iterations per variant. The fork is in %3 "
                                         "(Continue trains it on; File → Open comparison opens it again).")
                                          .arg(least)
                                          .arg(total)
                                          .arg(folder)
                                    : tr("Done: every variant trained %1 iterations. The fork is in %2 (Continue "
                                         "trains it on; File → Open comparison opens it again).")
                                          .arg(total)
                                          .arg(folder));
        view->stopButton()->hide();
        view->setContinuable(true);
        emit forkFinished(session);
    });
    view->stopButton()->show();
    connect(view->stopButton(), &QPushButton::clicked, session, &ForkSession::stop);
    connect(view, &ComparisonView::closing, session, &ForkSession::stop);
}

void ForkController::setPace(Pace pace) {
    m_pace = pace;
    for (ForkSession* s : sessions()) s->setPace(pace);
}

void ForkController::stopAll() {
    for (ForkSession* s : sessions()) s->stop();
}

std::vector<ForkSession*> ForkController::sessions() const {
    std::vector<ForkSession*> out;
    for (const QPointer<ForkSession>& s : m_sessions)
        if (s && s->isRunning()) out.push_back(s);
    return out;
}

} // namespace ui
