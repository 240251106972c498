// RunStatus: the run's vital signs in the status bar (the phase running, iteration, steps,
// speed, KL against δ, the line search's verdict) and the run summary in the Run dock. Both
// follow the run's RunHistory, the phase the TrainingSession's phaseStarted; the summary also
// says where the run is being written and why training stopped.
#pragma once

#include <QObject>
#include <QTimer>
#include <optional>

#include "ui/metatypes.h"

class QLabel;
class QStatusBar;

namespace ui {

class RunHistory;
class TrainingSession;

class RunStatus : public QObject {
    Q_OBJECT
public:
    // adds its labels to statusBar; writes the summary into summary
    RunStatus(RunHistory* history, TrainingSession* session, QStatusBar* statusBar, QLabel* summary,
              QObject* parent = nullptr);

    QLabel* iterationLabel() const { return m_iteration; }
    // "Iteration 12 · Natural direction (CG)" while a phase runs at a set pace
    QLabel* phaseLabel() const { return m_phase; }
    QLabel* summaryLabel() const { return m_summary; }

    // a failure in red in the summary and, for a while, in the status bar
    void showFailure(const QString& message);

private:
    void onReset();
    void onLoaded();
    // at the max pace, at most every kMaxPaceRefreshMs (see onIterationAppended)
    void onIterationAppended(const core::IterationStats& s);
    void showIteration(const core::IterationStats& s);
    void onPhaseStarted(const RunningPhase& phase);
    void onInterrupted(int iteration); // a pause, reset or close discarded this iteration
    // the phase label from the phase in progress, the running state and the pace
    void showPhase();
    QString runDirectoryLine() const;

    RunHistory* m_history;
    TrainingSession* m_session;
    QStatusBar* m_statusBar;
    QLabel* m_summary;
    QLabel* m_phase = nullptr;
    std::optional<RunningPhase> m_running; // the phase in progress, until its iteration is in the history
    QLabel* m_iteration = nullptr;
    QLabel* m_steps = nullptr;
    QLabel* m_speed = nullptr;
    QLabel* m_kl = nullptr;
    QLabel* m_lineSearch = nullptr;
    QTimer m_refresh; // single shot: the latest iteration, coalesced at the max pace
};

} // namespace ui
