// GuardrailBanner: what the studio shows when the divergence guardrail (core/guardrail.h)
// flags an iteration. The worker has already stopped training after that iteration; the
// banner, large enough to read on a projector, gives the plain-words explanation the worker
// computed (core::explainDivergence) and two choices: Roll back (the worker restores the last
// good learned state; the undone iterations stay in the plots, greyed, and Start continues
// from the restored state) or Keep going (dismiss, nothing changes). It sits above the
// environment view.
#pragma once

#include <QFrame>

class QLabel;
class QPushButton;

namespace ui {

class RunHistory;
class TrainingSession;

class GuardrailBanner : public QFrame {
    Q_OBJECT
public:
    // follows the session's divergence and rollback signals; marks rollbacks in history
    GuardrailBanner(TrainingSession* session, RunHistory* history, QWidget* parent = nullptr);

    QLabel* textLabel() const { return m_text; }
    QPushButton* rollBackButton() const { return m_rollBack; }
    QPushButton* keepGoingButton() const { return m_keepGoing; }

private:
    void onDivergence(int iteration, const QString& explanation);
    void onRolledBack(int diverged, int restored);
    void setMessage(const QString& headline, const QString& body);

    TrainingSession* m_session;
    RunHistory* m_history;
    QLabel* m_text = nullptr;
    QPushButton* m_rollBack = nullptr;
    QPushButton* m_keepGoing = nullptr;
};

} // namespace ui
