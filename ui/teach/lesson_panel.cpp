#include "ui/teach/lesson_panel.h"

#include <QAction>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_controller.h"
#include "ui/compare/fork_session.h"
#include "ui/hyperparameter_panel.h"
#include "ui/main_window.h"
#include "ui/pace.h"
#include "ui/run_lifecycle.h"
#include "ui/teach/inspector_dock.h"
#include "ui/training_session.h"

namespace ui {

namespace {

QLabel* makeLabel(const QString& objectName, double pointScale, bool bold) {
    auto* l = new QLabel;
    l->setObjectName(objectName);
    l->setWordWrap(true);
    l->setTextFormat(Qt::PlainText);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont f = l->font();
    // sizes relative to the application's type, so presentation mode's larger type grows them too
    f.setPointSizeF(f.pointSizeF() * pointScale);
    f.setBold(bold);
    l->setFont(f);
    return l;
}

QString describe(const run::LessonAction& a) {
    switch (a.kind) {
    case run::LessonAction::Kind::Set: {
        QStringList parts;
        for (const auto& [key, value] : a.settings)
            parts << QString("%1 = %2").arg(HyperparameterPanel::displayName(key), QString::fromStdString(value));
        return QObject::tr("Set %1").arg(parts.join(", "));
    }
    case run::LessonAction::Kind::Restart: {
        QStringList parts;
        for (const auto& [key, value] : a.settings)
            parts << QString("%1 = %2").arg(HyperparameterPanel::displayName(key), QString::fromStdString(value));
        return parts.isEmpty() ? QObject::tr("New run with the lesson's settings")
                               : QObject::tr("New run with %1").arg(parts.join(", "));
    }
    case run::LessonAction::Kind::Pace: return QObject::tr("Pace: %1").arg(Pace::parse(QString::fromStdString(a.pace))->label());
    case run::LessonAction::Kind::Train:
        return a.iterations == 1 ? QObject::tr("Training 1 iteration") : QObject::tr("Training %1 iterations").arg(a.iterations);
    case run::LessonAction::Kind::Pause: return QObject::tr("Paused");
    case run::LessonAction::Kind::Inspector: return a.on ? QObject::tr("Inspector open") : QObject::tr("Inspector closed");
    case run::LessonAction::Kind::Presentation:
        return a.on ? QObject::tr("Presentation mode on") : QObject::tr("Presentation mode off");
    case run::LessonAction::Kind::Fork: {
        QStringList values;
        for (const std::string& v : a.forkValues) values << QString::fromStdString(v);
        return QObject::tr("Fork: %1 = %2, %3 iterations each")
            .arg(HyperparameterPanel::displayName(a.forkKey), values.join(", "))
            .arg(a.iterations);
    }
    }
    return {};
}

} // namespace

LessonPanel::LessonPanel(MainWindow* window, QWidget* parent) : QWidget(parent), m_window(window) {
    setObjectName("lessonPanel");
    m_title = makeLabel("lessonTitle", 1.5, true);
    m_number = makeLabel("lessonStepNumber", 1.2, false);
    m_stepTitle = makeLabel("lessonStepTitle", 1.6, true);
    m_text = makeLabel("lessonStepText", 1.45, false);
    m_text->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_activity = makeLabel("lessonActivity", 1.15, false);
    m_activity->setStyleSheet("QLabel { color: #555555; }");

    m_back = new QPushButton(tr("◀ Back"));
    m_back->setObjectName("lessonBack");
    m_next = new QPushButton(tr("Next ▶"));
    m_next->setObjectName("lessonNext");
    for (QPushButton* b : {m_back, m_next}) {
        QFont f = b->font();
        f.setPointSizeF(f.pointSizeF() * 1.3);
        b->setFont(f);
        b->setMinimumHeight(40);
    }
    m_back->setToolTip(tr("The step before (its actions run again)"));
    m_next->setToolTip(tr("The next step: its actions run when it opens"));
    connect(m_back, &QPushButton::clicked, this, &LessonPanel::back);
    connect(m_next, &QPushButton::clicked, this, &LessonPanel::next);

    auto* rule = new QFrame;
    rule->setFrameShape(QFrame::HLine);
    auto* textColumn = new QWidget;
    auto* tc = new QVBoxLayout(textColumn);
    tc->setContentsMargins(0, 0, 0, 0);
    tc->addWidget(m_stepTitle);
    tc->addWidget(m_text);
    tc->addStretch(1);
    auto* scroll = new QScrollArea;
    scroll->setWidget(textColumn);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_back);
    buttons->addWidget(m_number, 1, Qt::AlignCenter);
    buttons->addWidget(m_next);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(rule);
    layout->addWidget(scroll, 1);
    layout->addWidget(m_activity);
    layout->addLayout(buttons);
    m_number->setAlignment(Qt::AlignCenter);

    m_paceTimer.setSingleShot(true);
    connect(&m_paceTimer, &QTimer::timeout, this, &LessonPanel::stepOnce);

    TrainingSession* session = m_window->session();
    // queued: after the history and the plots have taken the iteration in (their connections
    // are made after this panel's)
    connect(session, &TrainingSession::iterationFinished, this, [this] { onIterationFinished(); },
            Qt::QueuedConnection);
    // the guardrail paused the run: the class reads the banner before anything goes on
    connect(session, &TrainingSession::divergenceDetected, this, [this] {
        if (m_waiting != Waiting::Iterations) return;
        m_paceTimer.stop();
        m_trainLeft = 0;
        m_waiting = Waiting::Nothing;
        m_queue.clear();
        m_activity->setText(tr("The guardrail paused the run: read the banner above the environment."));
        emit stepFinished(m_step);
    });
    // a stopped iteration (Pause mid-iteration) ends the train action
    connect(session, &TrainingSession::iterationInterrupted, this, [this] {
        if (m_waiting == Waiting::Iterations) finishAction();
    });
    connect(session, &TrainingSession::runningChanged, this, [this](bool running) {
        if (!running && m_waiting == Waiting::LoopStopped) {
            m_waiting = Waiting::Nothing;
            startTraining();
        }
    });
    // Pause or Start pressed during a train action: the teacher has taken over
    for (QAction* a : {m_window->pauseAction(), m_window->startAction()})
        connect(a, &QAction::triggered, this, [this] {
            if (m_waiting == Waiting::Iterations || m_waiting == Waiting::LoopStopped) {
                m_paceTimer.stop();
                m_trainLeft = 0;
                m_waiting = Waiting::Nothing;
                runNextAction();
            }
        });
    showStep();
}

void LessonPanel::play(const run::Lesson& lesson, const QString& path) {
    cancelActions();
    m_lesson = lesson;
    m_path = path;
    m_step = -1;
    m_awaitingFirstRun = true;
    m_title->setText(QString::fromStdString(lesson.title));
    m_activity->setText(tr("Starting a new run with the lesson's settings…"));
    showStep();
}

void LessonPanel::runReady() {
    if (m_awaitingFirstRun) {
        m_awaitingFirstRun = false;
        enterStep(0);
        return;
    }
    if (m_waiting == Waiting::RunReset) finishAction();
}

void LessonPanel::stop() {
    cancelActions();
    m_lesson.reset();
    m_path.clear();
    m_step = -1;
    m_awaitingFirstRun = false;
    showStep();
}

void LessonPanel::next() {
    if (m_lesson && m_step + 1 < static_cast<int>(m_lesson->steps.size())) enterStep(m_step + 1);
}

void LessonPanel::back() {
    if (m_lesson && m_step > 0) enterStep(m_step - 1);
}

void LessonPanel::cancelActions() {
    m_fork = nullptr; // a fork goes on in its window; the lesson no longer waits for it
    m_paceTimer.stop();
    m_queue.clear();
    m_trainLeft = 0;
    m_waiting = Waiting::Nothing;
}

void LessonPanel::enterStep(int index) {
    cancelActions();
    m_step = index;
    const run::LessonStep& s = m_lesson->steps[static_cast<size_t>(index)];
    m_queue.assign(s.actions.begin(), s.actions.end());
    showStep();
    runNextAction();
}

void LessonPanel::showStep() {
    const bool playing = m_lesson.has_value() && m_step >= 0;
    const int n = m_lesson ? static_cast<int>(m_lesson->steps.size()) : 0;
    if (!m_lesson) {
        m_title->setText(tr("No lesson"));
        m_activity->setText(tr("File → Open lesson… opens a .trpolesson file."));
    }
    m_number->setText(playing ? tr("Step %1 of %2").arg(m_step + 1).arg(n) : QString());
    m_stepTitle->setText(playing ? QString::fromStdString(m_lesson->steps[static_cast<size_t>(m_step)].title) : QString());
    m_text->setText(playing ? QString::fromStdString(m_lesson->steps[static_cast<size_t>(m_step)].text) : QString());
    m_back->setEnabled(playing && m_step > 0);
    m_next->setEnabled(playing && m_step + 1 < n);
}

void LessonPanel::runNextAction() {
    while (!m_queue.empty() && m_waiting == Waiting::Nothing) {
        const run::LessonAction a = m_queue.front();
        m_queue.pop_front();
        m_activity->setText(describe(a));
        switch (a.kind) {
        case run::LessonAction::Kind::Set:
            for (const auto& [key, value] : a.settings)
                if (!m_window->hyperparameterPanel()->requestChange(key, value))
                    m_activity->setText(tr("%1 = %2 was refused").arg(HyperparameterPanel::displayName(key),
                                                                      QString::fromStdString(value)));
            break;
        case run::LessonAction::Kind::Pace:
            m_window->setPace(*Pace::parse(QString::fromStdString(a.pace)));
            break;
        case run::LessonAction::Kind::Pause:
            m_window->lifecycle()->pause();
            break;
        case run::LessonAction::Kind::Inspector:
            if (a.on) {
                m_window->showInspector();
                if (m_window->iterationCount() > 0) m_window->inspector()->inspectLatest();
            } else {
                m_window->inspector()->hide();
            }
            break;
        case run::LessonAction::Kind::Presentation:
            m_window->setPresentationMode(a.on);
            break;
        case run::LessonAction::Kind::Restart:
            m_waiting = Waiting::RunReset;
            m_window->lifecycle()->reset(m_lesson->restartConfig(a));
            break;
        case run::LessonAction::Kind::Fork:
            startFork(a);
            break;
        case run::LessonAction::Kind::Train:
            m_trainLeft = m_trainTotal = a.iterations;
            if (m_window->session()->isRunning()) {
                // the loop finishes its iteration first; then exactly N more, one at a time
                m_waiting = Waiting::LoopStopped;
                m_window->lifecycle()->pause();
            } else {
                startTraining();
            }
            break;
        }
    }
    if (m_queue.empty() && m_waiting == Waiting::Nothing) emit stepFinished(m_step);
}

void LessonPanel::startFork(const run::LessonAction& a) {
    m_waiting = Waiting::Fork;
    ComparisonView* view = m_window->forks()->fork(run::VarySpec{a.forkKey, a.forkValues}, a.iterations);
    ForkSession* session = view ? view->findChild<ForkSession*>() : nullptr;
    if (!session) {
        m_waiting = Waiting::Nothing;
        m_activity->setText(tr("The fork could not be made (see the message)."));
        return;
    }
    m_fork = session;
    if (m_trainAtOnce) session->setPace(Pace::max());
    const int total = a.iterations;
    auto counts = std::make_shared<std::vector<int>>(a.forkValues.size(), 0);
    connect(session, &ForkSession::variantIteration, this, [this, session, counts, total](int m) {
        if (m_fork != session) return;
        ++(*counts)[static_cast<size_t>(m)];
        m_activity->setText(tr("Fork: iteration %1 of %2 in each of %3 variants")
                                .arg(*std::min_element(counts->begin(), counts->end()))
                                .arg(total)
                                .arg(counts->size()));
    });
    connect(session, &ForkSession::finished, this, [this, session] {
        if (m_fork != session || m_waiting != Waiting::Fork) return;
        m_fork = nullptr;
        m_waiting = Waiting::Nothing;
        m_activity->setText(tr("The fork has finished: its comparison is in its own window."));
        runNextAction();
    });
}

void LessonPanel::startTraining() {
    m_waiting = Waiting::Iterations;
    stepOnce();
}

void LessonPanel::stepOnce() {
    if (m_waiting != Waiting::Iterations || m_trainLeft <= 0) return;
    m_activity->setText(tr("Training: iteration %1 of %2").arg(m_trainTotal - m_trainLeft + 1).arg(m_trainTotal));
    m_stepClock.start();
    m_window->lifecycle()->step();
}

void LessonPanel::onIterationFinished() {
    if (m_waiting != Waiting::Iterations) return;
    if (--m_trainLeft <= 0) {
        finishAction();
        return;
    }
    // the next iteration starts one pace interval after this one started (as the pace does)
    const Pace pace = m_window->pace();
    qint64 waitMs = 0;
    if (!m_trainAtOnce && !pace.isMax()) {
        const qint64 intervalMs = std::chrono::duration_cast<std::chrono::milliseconds>(pace.interval()).count();
        waitMs = std::max<qint64>(0, intervalMs - m_stepClock.elapsed());
    }
    m_paceTimer.start(static_cast<int>(waitMs));
}

void LessonPanel::finishAction() {
    m_paceTimer.stop();
    const int done = m_trainTotal - std::max(0, m_trainLeft); // an interrupted iteration is not done
    m_trainLeft = 0;
    const bool trained = m_waiting == Waiting::Iterations;
    m_waiting = Waiting::Nothing;
    if (trained)
        m_activity->setText(done == 1 ? tr("Trained 1 iteration; paused") : tr("Trained %1 iterations; paused").arg(done));
    runNextAction();
}

} // namespace ui
