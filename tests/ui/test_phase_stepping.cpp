// Phase stepping in the studio: Run → Step phase (F10) stops after each of the seven phases,
// each once per iteration and in order, shows its equation with the iteration's numbers and
// its picture, and stepping through every phase gives exactly the iteration a Step gives.
#include <QDockWidget>
#include <QLabel>
#include <QToolBar>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "support/studio_test_util.h"
#include "support/test_util.h"
#include "ui/env_view.h"
#include "ui/run_history.h"
#include "ui/teach/phase_view.h"

using namespace ui;

namespace {
StudioOptions options() {
    StudioOptions o;
    o.useSettings = false;
    o.autosave = false;
    o.stepsPerIteration = 512;
    return o;
}

// clicks the toolbar button of an action, as a user would
void click(MainWindow& w, QAction* a) {
    QWidget* button = w.runToolBar()->widgetForAction(a);
    QVERIFY(button && button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
}

// one click of Step phase, waiting for its snapshot
PhaseSnapshotPtr stepPhase(MainWindow& w) {
    QSignalSpy spy(w.session(), &TrainingSession::phaseStepped);
    QSignalSpy stopped(w.session(), &TrainingSession::loopStopped);
    click(w, w.stepPhaseAction());
    if (!spy.wait(15000)) return nullptr;
    if (!QTest::qWaitFor([&] { return stopped.count() > 0; }, 5000)) return nullptr;
    return spy.last().at(0).value<PhaseSnapshotPtr>();
}
} // namespace

class TestPhaseStepping : public QObject {
    Q_OBJECT
private slots:
    void everyPhaseOnceThenTheSameIteration() {
        MainWindow stepped(options());
        QVERIFY(testutil::waitForRun(stepped));
        QSignalSpy iterations(stepped.session(), &TrainingSession::iterationFinished);
        const core::Phase order[] = {core::Phase::Sample,           core::Phase::Advantages, core::Phase::SurrogateGradient,
                                     core::Phase::NaturalDirection, core::Phase::StepScale,  core::Phase::LineSearch,
                                     core::Phase::ValueFit};
        for (int it = 1; it <= 2; ++it) {
            for (int k = 0; k < 7; ++k) {
                const PhaseSnapshotPtr p = stepPhase(stepped);
                QVERIFY(p);
                QCOMPARE(p->phase, order[k]);
                QCOMPARE(p->iteration, it);
                QCOMPARE(p->index, k + 1);
                // the iteration is reported after the value fit, not before
                QCOMPARE(iterations.count(), k == 6 ? it : it - 1);
                // the view shows it: the phase dock is in front, with title, equation and picture
                QVERIFY(stepped.phaseDock()->isVisible());
                QVERIFY(stepped.phaseView()->titleLabel()->text().contains(core::phaseTitle(order[k])));
                QVERIFY(!stepped.phaseView()->equationLabel()->text().isEmpty());
                QVERIFY(stepped.phaseView()->picture()->plottableCount() + stepped.phaseView()->picture()->itemCount() > 0);
                if (order[k] == core::Phase::StepScale) {
                    // the numbers substituted: δ and xᵀFx
                    QVERIFY2(p->equation.contains("β = √(2·0.01 / "), qPrintable(p->equation));
                }
                if (order[k] == core::Phase::NaturalDirection) {
                    QVERIFY(p->residuals.size() >= 2);
                    QVERIFY(p->residuals.back() < p->residuals.front());
                    QVERIFY(p->angleDegrees >= 0 && p->angleDegrees < 90);
                    QVERIFY(stepped.phaseView()->secondPicture()->isVisible());
                }
                if (order[k] == core::Phase::Advantages) QCOMPARE(p->advantages.size(), size_t(512));
                // from the advantages to the end of the iteration, the viewer paints the batch's
                // states over the cart-pole: each at its pole tip, coloured by its advantage
                if (k >= 1 && k < 6) {
                    QCOMPARE(stepped.envView()->shownStates(), 512);
                    QVERIFY(stepped.envView()->statesCaption().contains("orange"));
                } else {
                    QCOMPARE(stepped.envView()->shownStates(), 0);
                }
                if (order[k] == core::Phase::Advantages) {
                    QCOMPARE(p->stateDim, 4);
                    QCOMPARE(p->states.size(), size_t(4 * 512));
                    const std::vector<sim::Vec2>& at = stepped.envView()->statePoints();
                    for (int i : {0, 100, 511}) {
                        const double x = p->states[4 * i], theta = p->states[4 * i + 2];
                        QCOMPARE(at[i].x, static_cast<float>(x + std::sin(theta))); // the pole is 1 m long
                        QCOMPARE(p->xs[i], x);
                    }
                    // the best state orange, the worst blue
                    const auto best = std::max_element(p->advantages.begin(), p->advantages.end()) - p->advantages.begin();
                    const auto worst = std::min_element(p->advantages.begin(), p->advantages.end()) - p->advantages.begin();
                    const std::vector<QColor> colours = ui::advantageColours(p->advantages);
                    QVERIFY(colours[best].red() > colours[best].blue());
                    QVERIFY(colours[worst].blue() > colours[worst].red());
                }
                if (order[k] == core::Phase::ValueFit) QVERIFY(!p->values.empty()); // loss per epoch
            }
        }

        // the same two iterations by Step: bit for bit the same statistics
        MainWindow plain(options());
        QVERIFY(testutil::waitForRun(plain));
        testutil::stepIterations(plain, 2);
        QCOMPARE(stepped.history()->size(), 2);
        QCOMPARE(plain.history()->size(), 2);
        for (int i = 0; i < 2; ++i)
            QCOMPARE(testutil::statsWithoutTiming(stepped.history()->iterations()[i]),
                     testutil::statsWithoutTiming(plain.history()->iterations()[i]));
    }

    // an environment whose observation holds no position (the walker) keeps its picture
    // clean: the states stay in the Phase view's scatter only
    void walkerStatesStayInThePhaseView() {
        StudioOptions o = options();
        o.env = "BipedalWalker-v3";
        o.stepsPerIteration = 256;
        MainWindow w(o);
        QVERIFY(testutil::waitForRun(w));
        QVERIFY(stepPhase(w));
        const PhaseSnapshotPtr p = stepPhase(w);
        QVERIFY(p && p->phase == core::Phase::Advantages);
        QCOMPARE(p->stateDim, 24);
        QCOMPARE(w.envView()->shownStates(), 0);
        QVERIFY(w.phaseView()->picture()->plottableCount() > 0);
    }

    // Step after a few phases finishes the iteration; closing mid-iteration loses nothing
    void stepFinishesAHalfDoneIteration() {
        MainWindow w(options());
        QVERIFY(testutil::waitForRun(w));
        for (int k = 0; k < 3; ++k) QVERIFY(stepPhase(w));
        const core::IterationStats s = testutil::stepIterations(w, 1);
        QCOMPARE(s.iteration, 1);
        QCOMPARE(w.history()->size(), 1);
        for (int k = 0; k < 2; ++k) QVERIFY(stepPhase(w));
        const RunStatePtr st = w.session()->captureStateNow(); // finishes iteration 2 first
        QVERIFY(st);
        QCOMPARE(st->iteration, 2);
        QCOMPARE(w.history()->size(), 2);
        // the next phase step starts iteration 3 with its sample
        const PhaseSnapshotPtr p = stepPhase(w);
        QVERIFY(p);
        QCOMPARE(p->phase, core::Phase::Sample);
        QCOMPARE(p->iteration, 3);
    }

    // the F10 shortcut is Step phase, and it is disabled while training runs
    void shortcutAndEnabling() {
        MainWindow w(options());
        QVERIFY(testutil::waitForRun(w));
        QCOMPARE(w.stepPhaseAction()->shortcut(), QKeySequence(Qt::Key_F10));
        QSignalSpy spy(w.session(), &TrainingSession::phaseStepped);
        QTest::keyClick(&w, Qt::Key_F10);
        QVERIFY(spy.wait(15000));
        w.startAction()->trigger();
        QTRY_VERIFY(!w.stepPhaseAction()->isEnabled());
        w.pauseAction()->trigger();
        QTRY_VERIFY(w.stepPhaseAction()->isEnabled());
    }
};

QTEST_MAIN(TestPhaseStepping)
#include "test_phase_stepping.moc"
