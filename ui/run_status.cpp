#include "ui/run_status.h"

#include <QLabel>
#include <QLocale>
#include <QStatusBar>

#include "ui/run_history.h"
#include "ui/training_session.h"

namespace ui {

namespace {
QString withThousands(std::int64_t v) { return QLocale(QLocale::English).toString(static_cast<qlonglong>(v)); }

// At the max pace iterations arrive every few milliseconds, faster than anyone reads, and
// every new text makes Qt lay out the status bar and the Run dock again (the summary is
// word-wrapped rich text, a few milliseconds of layout each time): showing the latest
// iteration four times a second saves the UI thread that work, which it would otherwise
// take from training, and still reads as live.
constexpr int kMaxPaceRefreshMs = 250;
} // namespace

RunStatus::RunStatus(RunHistory* history, TrainingSession* session, QStatusBar* statusBar, QLabel* summary,
                     QObject* parent)
    : QObject(parent), m_history(history), m_session(session), m_statusBar(statusBar), m_summary(summary) {
    auto make = [statusBar](const QString& name, int minWidth) {
        auto* l = new QLabel;
        l->setObjectName(name);
        l->setMinimumWidth(minWidth);
        statusBar->addPermanentWidget(l);
        return l;
    };
    // wide enough for the longest phase title, so the labels after it do not jump
    m_phase = make("statusPhase", 330);
    m_iteration = make("statusIteration", 110);
    m_steps = make("statusSteps", 140);
    m_speed = make("statusSpeed", 120);
    m_kl = make("statusKl", 190);
    m_lineSearch = make("statusLineSearch", 260);
    connect(history, &RunHistory::reset, this, &RunStatus::onReset);
    connect(history, &RunHistory::loaded, this, &RunStatus::onLoaded);
    connect(history, &RunHistory::iterationAppended, this, &RunStatus::onIterationAppended);
    m_refresh.setSingleShot(true);
    m_refresh.setInterval(kMaxPaceRefreshMs);
    connect(&m_refresh, &QTimer::timeout, this, [this] {
        if (!m_history->isEmpty()) showIteration(m_history->last());
    });
    connect(session, &TrainingSession::phaseStarted, this, &RunStatus::onPhaseStarted);
    connect(session, &TrainingSession::iterationInterrupted, this, &RunStatus::onInterrupted);
    connect(session, &TrainingSession::runningChanged, this, [this] {
        // a run that stops shows its last iteration at once
        if (m_refresh.isActive()) {
            m_refresh.stop();
            if (!m_history->isEmpty()) showIteration(m_history->last());
        }
        showPhase();
    });
    connect(session, &TrainingSession::paceChanged, this, &RunStatus::showPhase);
}

void RunStatus::onPhaseStarted(const RunningPhase& phase) {
    m_running = phase;
    if (m_session->isRunning() && m_session->pace().isMax()) return; // the label says "max pace"
    showPhase();
}

void RunStatus::onInterrupted(int iteration) {
    m_running.reset();
    showPhase();
    m_statusBar->showMessage(
        tr("Iteration %1 was stopped part way and discarded; the run is at the end of iteration %2.")
            .arg(iteration)
            .arg(iteration - 1),
        15000);
}

void RunStatus::showPhase() {
    const bool running = m_session->isRunning();
    const Pace pace = m_session->pace();
    const core::IterationStats* last = m_history->isEmpty() ? nullptr : &m_history->last();
    if (m_running && m_running->iteration <= m_history->iteration()) m_running.reset();
    QString text;
    if (running && pace.isMax()) {
        // eight phases in a few milliseconds: nothing to read
        text = tr("Training at max pace");
    } else if (m_running) {
        text = tr("Iteration %1 · %2").arg(m_running->iteration).arg(QString::fromUtf8(core::phaseTitle(m_running->phase)));
    } else if (last) {
        // between two iterations: how long the last one took, which makes the pace's wait plain
        const double ms = 1e3 * (last->secondsSampling + last->secondsAdvantages + last->secondsGradient +
                                 last->secondsCg + last->secondsLineSearch + last->secondsValueFit);
        text = tr("Iteration %1 took %2 ms").arg(last->iteration).arg(ms, 0, 'f', ms < 10 ? 1 : 0);
        if (running) text += tr(" · next at %1").arg(pace.label());
    }
    m_phase->setText(text);
}

QString RunStatus::runDirectoryLine() const {
    const QString dir = m_session->runDirectory();
    return dir.isEmpty() ? QString() : tr("<br>Writing %1").arg(dir.toHtmlEscaped());
}

void RunStatus::onReset() {
    const core::TrpoConfig& cfg = m_history->config();
    m_refresh.stop();
    m_running.reset();
    showPhase();
    m_iteration->setText(tr("Iteration 0"));
    m_steps->setText(tr("0 steps"));
    m_speed->setText(tr("— steps/s"));
    m_kl->setText(tr("KL — / δ %1").arg(cfg.delta));
    m_lineSearch->setText(tr("Line search: —"));
    const QString summary = tr("New run: <b>%1</b>, seed %2, %3 steps per iteration.")
                                .arg(QString::fromStdString(cfg.env))
                                .arg(cfg.seed)
                                .arg(cfg.stepsPerIteration);
    m_summary->setText(summary + runDirectoryLine() + tr("<br>Press <b>Space</b> to start."));
}

void RunStatus::onLoaded() {
    m_running.reset();
    showPhase();
    if (!m_history->isEmpty()) {
        showIteration(m_history->last());
    } else {
        m_iteration->setText(tr("Iteration 0"));
        m_steps->setText(tr("0 steps"));
    }
    const QString summary = tr("Opened <b>%1</b>: %2, iteration %3, %4 steps.")
                                .arg(m_history->source().toHtmlEscaped(), QString::fromStdString(m_history->config().env))
                                .arg(m_history->iteration())
                                .arg(withThousands(m_history->envSteps()));
    m_summary->setText(summary + runDirectoryLine() + tr("<br>Press <b>Space</b> to continue training."));
}

void RunStatus::onIterationAppended(const core::IterationStats& s) {
    if (m_session->isRunning() && m_session->pace().isMax()) {
        if (!m_refresh.isActive()) m_refresh.start();
        return;
    }
    m_refresh.stop();
    showIteration(s);
}

void RunStatus::showIteration(const core::IterationStats& s) {
    showPhase();
    m_iteration->setText(tr("Iteration %1").arg(s.iteration));
    m_steps->setText(tr("%1 steps").arg(withThousands(s.envSteps)));
    m_speed->setText(tr("%1 steps/s").arg(withThousands(static_cast<std::int64_t>(s.stepsPerSecond))));
    m_kl->setText(tr("KL %1 / δ %2").arg(s.klMean, 0, 'g', 3).arg(s.delta, 0, 'g', 3));
    if (s.accepted)
        m_lineSearch->setText(tr("Line search: accepted, %n backtrack(s)", nullptr, s.backtracks));
    else
        m_lineSearch->setText(tr("<span style='color:#b00020'>Line search: rejected (%1)</span>")
                                  .arg(QString::fromLatin1(core::outcomeName(s.outcome))));
    QString summary = tr("Iteration <b>%1</b>, %2 steps").arg(s.iteration).arg(withThousands(s.envSteps));
    if (s.recentReturnMean) summary += tr("<br>Mean return (last 20 episodes): <b>%1</b>").arg(*s.recentReturnMean, 0, 'f', 1);
    m_summary->setText(summary);
}

void RunStatus::showFailure(const QString& message) {
    m_statusBar->showMessage(message, 15000);
    m_summary->setText(QString("<span style='color:#b00020'>%1</span>").arg(message.toHtmlEscaped()));
}

} // namespace ui
