// LessonPanel: plays a lesson (run/lesson.h, README "Lessons") in a side dock: the lesson's
// title, "Step 2 of 6", the step's title and text in large type (read from the back of a
// classroom), Back and Next, and a line saying what the step's actions are doing. Entering a
// step runs its actions in order: hot settings as if typed in the Hyperparameters dock (undo
// and plot markers included), the pace, N iterations stepped one at a time at the pace and then
// paused, the inspector, presentation mode, a new run with the lesson's settings. Back enters
// the step before and runs its actions again. Everything happens on the UI thread through the
// window's own actions; the training thread only sees the usual hot changes and steps.
#pragma once

#include <QElapsedTimer>
#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <deque>
#include <optional>

#include "run/lesson.h"

class QLabel;
class QPushButton;

namespace ui {

class MainWindow;

class LessonPanel : public QWidget {
    Q_OBJECT
public:
    explicit LessonPanel(MainWindow* window, QWidget* parent = nullptr);

    // plays `lesson` from its first step, once the run with its settings is ready (the owner
    // resets the run and calls runReady when runReset comes)
    void play(const run::Lesson& lesson, const QString& path);
    void runReady();
    // ends the lesson: no more actions (the owner shows every control again)
    void stop();

    bool isPlaying() const { return m_lesson.has_value(); }
    const run::Lesson* lesson() const { return m_lesson ? &*m_lesson : nullptr; }
    const QString& path() const { return m_path; }
    int stepIndex() const { return m_step; }
    // the step's actions are still running (a train action waiting for iterations, a restart
    // waiting for its run)
    bool isBusy() const { return !m_queue.empty() || m_waiting != Waiting::Nothing; }

    // train and fork actions step at once instead of at the pace (tests, screenshots)
    void setTrainAtOnce(bool on) { m_trainAtOnce = on; }

    QPushButton* backButton() const { return m_back; }
    QPushButton* nextButton() const { return m_next; }
    QLabel* stepText() const { return m_text; }
    QLabel* stepNumber() const { return m_number; }
    QLabel* activity() const { return m_activity; }

public slots:
    void next();
    void back();

signals:
    // the step's actions have all run (a train action's iterations included)
    void stepFinished(int index);

private:
    enum class Waiting { Nothing, Iterations, RunReset, LoopStopped, Fork };
    void enterStep(int index);
    void cancelActions();
    void runNextAction();
    void startTraining();
    void stepOnce();
    void onIterationFinished();
    void finishAction();
    void showStep();
    void startFork(const run::LessonAction& a); // a fork action: waits for the fork to finish

    MainWindow* m_window;
    std::optional<run::Lesson> m_lesson;
    QString m_path;
    int m_step = -1;
    std::deque<run::LessonAction> m_queue;
    Waiting m_waiting = Waiting::Nothing;
    bool m_awaitingFirstRun = false;
    int m_trainLeft = 0, m_trainTotal = 0;
    bool m_trainAtOnce = false;
    QTimer m_paceTimer;       // the wait before the next step of a train action
    QElapsedTimer m_stepClock; // since the last step started
    QPointer<QObject> m_fork;  // the fork a fork action waits for (a ForkSession)

    QLabel* m_title = nullptr;
    QLabel* m_number = nullptr;
    QLabel* m_stepTitle = nullptr;
    QLabel* m_text = nullptr;
    QLabel* m_activity = nullptr;
    QPushButton* m_back = nullptr;
    QPushButton* m_next = nullptr;
};

} // namespace ui
