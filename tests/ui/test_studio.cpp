// The studio window driven through its real widgets and actions, offscreen: start / pause /
// step / reset, live hyperparameter changes and their plot markers, shutdown timing, the
// environment view's rendering of every registered environment, refused input and the
// reset question for cold settings.
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>

#include <limits>

#include "core/stats.h"
#include "ui/run_lifecycle.h"
#include "core/presets.h"
#include "sim/heuristics.h"
#include "core/rng.h"
#include "sim/registry.h"
#include "ui/env_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/plot_widget.h"
#include "ui/main_window.h"
#include "ui/plot_panel.h"
#include "ui/run_history.h"
#include "ui/training_session.h"
#include "support/test_util.h"

using ui::MainWindow;
using ui::TrainingSession;

namespace {

ui::StudioOptions fastOptions() {
    ui::StudioOptions o;
    o.env = "CartPole-v1";
    o.stepsPerIteration = 256; // fast iterations
    o.useSettings = false;
    o.pace = ui::Pace::max(); // a fresh install's teaching pace would make every test slow
    return o;
}

// clicks the toolbar button of `action`, as a user would
void clickToolbar(MainWindow& w, QAction* action) {
    QWidget* button = w.runToolBar()->widgetForAction(action);
    QVERIFY(button);
    QVERIFY(button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
}

// answers the next modal message box with `answer` as soon as it appears (gives up after 2 s);
// with `text`, the box's question is copied there
void answerNextDialog(QMessageBox::StandardButton answer, QString* text = nullptr) {
    auto* timer = new QTimer;
    timer->setInterval(20);
    QObject::connect(timer, &QTimer::timeout, timer, [timer, answer, text, ticks = 0]() mutable {
        if (++ticks > 100) {
            timer->stop();
            timer->deleteLater();
            return;
        }
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            timer->stop();
            timer->deleteLater();
            if (text) *text = box->text() + "\n" + box->informativeText();
            box->button(answer)->click();
        }
    });
    timer->start();
}

// an iteration with only its number, its steps and one value (klMean) set
core::IterationStats sample(int iteration, std::int64_t envSteps, double value) {
    core::IterationStats s;
    s.iteration = iteration;
    s.envSteps = envSteps;
    s.klMean = value;
    return s;
}

// waits for the window's initial run to be ready
bool waitForRun(MainWindow& w, QSignalSpy& resets) {
    w.show();
    if (!QTest::qWaitForWindowExposed(&w)) return false;
    return resets.count() > 0 || resets.wait(10000);
}

} // namespace

class TestStudio : public QObject {
    Q_OBJECT
private slots:
    void flatSeriesKeepsAReadableRange() {
        // every update accepted at once: the backtracks series stays at 0 for hundreds of
        // refreshes, and its axis must stay a small range around 0 (it once grew by 12% per
        // refresh, to ±500,000 after 110 iterations)
        ui::RunHistory history;
        ui::PlotWidget plot("Line-search backtracks", "backtracks");
        plot.setHistory(&history);
        plot.addSeries({"backtracks", Qt::gray}, [](const core::IterationStats& s) { return s.klMean; });
        for (int i = 0; i < 300; ++i) {
            history.append(sample(i, 1024LL * i, 0.0));
            plot.refresh(false);
        }
        QVERIFY2(plot.yAxis->range().contains(0.0), qPrintable(QString::number(plot.yAxis->range().lower)));
        QVERIFY2(plot.yAxis->range().size() <= 2.0, qPrintable(QString::number(plot.yAxis->range().size())));
        // and a series that moves gets its data range plus a small margin
        history.append(sample(300, 1024LL * 300, 10.0));
        plot.refresh(false);
        QVERIFY(plot.yAxis->range().contains(0.0) && plot.yAxis->range().contains(10.0));
        QVERIFY(plot.yAxis->range().size() < 12.0);
    }

    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("trpo-studio-test");
        QApplication::setApplicationName("test_studio");
    }

    void startPauseStepReset() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        QSignalSpy stopped(w.session(), &TrainingSession::loopStopped);

        // Start: iterations arrive, and each plot holds one point per iteration
        clickToolbar(w, w.startAction());
        QVERIFY(w.session()->isRunning());
        QVERIFY(!w.startAction()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 3, 30000);
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QVERIFY2(p->pointCount() >= 3, qPrintable(p->title()));

        // Pause: once the iteration in flight is done, nothing more arrives
        clickToolbar(w, w.pauseAction());
        QTRY_VERIFY_WITH_TIMEOUT(stopped.count() >= 1, 10000);
        const int afterPause = iterations.count();
        QTest::qWait(600);
        QCOMPARE(iterations.count(), afterPause);
        QCOMPARE(w.iterationCount(), afterPause);
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->pointCount(), afterPause);
        QVERIFY(w.plotPanel()->cgPlot()->pointCount() >= 2); // the residual history of the last solve

        // Step: exactly one more
        iterations.clear();
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(10000));
        QTest::qWait(500);
        QCOMPARE(iterations.count(), 1);
        QCOMPARE(iterations.at(0).at(0).value<core::IterationStats>().iteration, afterPause + 1);
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->pointCount(), afterPause + 1);

        // Reset: plots and counters clear
        resets.clear();
        clickToolbar(w, w.resetAction());
        QVERIFY(resets.wait(10000));
        QCOMPARE(w.iterationCount(), 0);
        QCOMPARE(w.envSteps(), std::int64_t(0));
        for (ui::PlotWidget* p : w.plotPanel()->plots()) {
            QCOMPARE(p->pointCount(), 0);
            QCOMPARE(p->markerCount(), 0);
        }
        QVERIFY(!w.envView()->hasSnapshot());

        // after a reset, a step starts again from iteration 1
        iterations.clear();
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(10000));
        QCOMPARE(iterations.at(0).at(0).value<core::IterationStats>().iteration, 1);
        QTRY_VERIFY(w.envView()->hasSnapshot());
    }

    // the history is held once, by RunHistory: the plots and the status bar show what it
    // holds (also an iteration appended to it directly), and a reset clears all of them
    void runHistoryFeedsPlotsAndStatusBar() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        ui::RunHistory* history = w.history();
        QSignalSpy appended(history, &ui::RunHistory::iterationAppended);
        for (int i = 1; i <= 2; ++i) {
            clickToolbar(w, w.stepAction());
            QTRY_COMPARE_WITH_TIMEOUT(appended.count(), i, 15000);
        }
        QCOMPARE(history->size(), 2);
        QCOMPARE(w.iterationCount(), 2);
        auto* statusIteration = w.findChild<QLabel*>("statusIteration");
        auto* statusKl = w.findChild<QLabel*>("statusKl");
        QVERIFY(statusIteration && statusKl);
        QCOMPARE(statusIteration->text(), QString("Iteration 2"));
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) {
            QCOMPARE(p->sampleCount(), 2);
            QCOMPARE(p->pointCount(), 2);
        }
        QCOMPARE(w.plotPanel()->klPlot()->rawValues(0),
                 (std::vector<double>{history->iterations()[0].klMean, history->iterations()[1].klMean}));

        core::IterationStats third = history->iterations().back();
        third.iteration = 3;
        third.envSteps += 256;
        third.klMean = 0.00123;
        history->append(third);
        QCOMPARE(statusIteration->text(), QString("Iteration 3"));
        QVERIFY2(statusKl->text().contains("0.00123"), qPrintable(statusKl->text()));
        QVERIFY(w.runSummary()->text().contains("<b>3</b>"));
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->pointCount(), 3);
        QCOMPARE(w.plotPanel()->klPlot()->rawValues(0).back(), 0.00123);

        QSignalSpy cleared(history, &ui::RunHistory::reset);
        resets.clear();
        clickToolbar(w, w.resetAction());
        QVERIFY(resets.wait(10000));
        QCOMPARE(cleared.count(), 1);
        QVERIFY(history->isEmpty());
        QVERIFY(history->configEvents().empty());
        QCOMPARE(statusIteration->text(), QString("Iteration 0"));
        for (ui::PlotWidget* p : w.plotPanel()->plots()) QCOMPARE(p->pointCount(), 0);
    }

    // a long session: records beyond RunHistory::kRecordsInMemory move to its spill file and
    // read back exactly (lists, missing values and non-finite numbers included); the plots
    // keep one number per record and series, the same as computed from every record
    void longHistorySpillsAndLosesNothing() {
        auto make = [](int i) {
            core::IterationStats s;
            s.iteration = i;
            s.envSteps = 256LL * i;
            s.klMean = 1.0 / 3.0 + 1e-7 * i;
            if (i % 2 == 0) s.returnMean = 0.1 * i;
            s.surrogateAfter = i % 7 == 0 ? std::numeric_limits<double>::quiet_NaN() : -1.0 / i;
            s.accepted = i % 5 != 0;
            for (int t = 0; t < i % 3; ++t) s.trials.push_back({0.5 * t, 1e-3 * t, 0.1, 0.2, 0.3, t == 0});
            s.cgResiduals = {1.0, 0.5 / i, 0.25 / i};
            return s;
        };
        constexpr int kCount = static_cast<int>(ui::RunHistory::kRecordsInMemory) * 2 + 600;
        ui::RunHistory history;
        ui::PlotWidget plot("KL", "nats");
        plot.setHistory(&history);
        plot.addSeries({"kl", Qt::blue}, [](const core::IterationStats& s) { return s.klMean; });
        std::vector<double> expected;
        for (int i = 1; i <= kCount; ++i) {
            history.append(make(i));
            expected.push_back(make(i).klMean);
            if (i == 10) QCOMPARE(plot.rawValues(0), expected); // computed as they come
        }
        QCOMPARE(history.size(), kCount);
        QCOMPARE(history.recordsInMemory(), ui::RunHistory::kRecordsInMemory);
        QVERIFY(!history.inMemory(0) && history.inMemory(static_cast<std::size_t>(kCount - 1)));
        QCOMPARE(history.last().iteration, kCount);
        const std::vector<core::IterationStats> all = history.iterations();
        QCOMPARE(static_cast<int>(all.size()), kCount);
        for (int i = 1; i <= kCount; ++i)
            QCOMPARE(core::statsToJson(all[static_cast<std::size_t>(i - 1)]).dump(), core::statsToJson(make(i)).dump());
        QCOMPARE(core::statsToJson(history.record(6)).dump(), core::statsToJson(make(7)).dump());
        QCOMPARE(history.envStepsBefore(5), 256LL * 4);
        QCOMPARE(plot.rawValues(0), expected);

        // a new run starts over (the plot too); an opened long run is spilled the same way
        const std::uint64_t generation = history.generation();
        history.clear(core::TrpoConfig{});
        QVERIFY(history.generation() != generation);
        QVERIFY(history.isEmpty() && history.recordsInMemory() == 0);
        QVERIFY(plot.rawValues(0).empty());
        std::vector<core::IterationStats> opened;
        for (int i = 1; i <= kCount; ++i) opened.push_back(make(i + 10));
        history.load(opened, {}, core::TrpoConfig{}, kCount + 10, 256LL * (kCount + 10), "opened");
        QCOMPARE(history.recordsInMemory(), ui::RunHistory::kRecordsInMemory);
        QCOMPARE(core::statsToJson(history.record(0)).dump(), core::statsToJson(make(11)).dump());
        QCOMPARE(history.iterationNumbers().front(), 11);
        QCOMPARE(plot.rawValues(0).front(), make(11).klMean);
        QCOMPARE(plot.sampleCount(), kCount);
    }

    void resetWhileRunningDropsTheOldRun() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.startAction());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 2, 30000);
        resets.clear();
        clickToolbar(w, w.resetAction());
        QVERIFY(!w.session()->isRunning());
        QVERIFY(resets.wait(10000));
        iterations.clear();
        QTest::qWait(400); // an iteration of the old trainer that was in flight must not show
        QCOMPARE(iterations.count(), 0);
        for (ui::PlotWidget* p : w.plotPanel()->plots()) QCOMPARE(p->pointCount(), 0);
        QVERIFY(!w.envView()->hasSnapshot());
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(10000));
        QCOMPARE(iterations.at(0).at(0).value<core::IterationStats>().iteration, 1);
    }

    void keyboardShortcuts() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        QTest::keyClick(w.envView(), Qt::Key_S);
        QVERIFY(iterations.wait(10000));
        QTest::keyClick(w.envView(), Qt::Key_Space);
        QVERIFY(w.session()->isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 3, 30000);
        QTest::keyClick(w.envView(), Qt::Key_Space);
        QVERIFY(!w.session()->isRunning());
        resets.clear();
        QTest::keyClick(w.envView(), Qt::Key_R);
        QVERIFY(resets.wait(10000));
        QCOMPARE(w.iterationCount(), 0);
    }

    void deltaChangeMidRun() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        QSignalSpy applied(w.session(), &TrainingSession::configApplied);
        clickToolbar(w, w.startAction());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 1, 30000);

        auto* edit = qobject_cast<QLineEdit*>(w.hyperparameterPanel()->editor("delta"));
        QVERIFY(edit);
        QVERIFY(!edit->toolTip().isEmpty());
        edit->selectAll();
        QTest::keyClicks(edit, "0.05");
        QTest::keyClick(edit, Qt::Key_Return);
        QCOMPARE(w.hyperparameterPanel()->config().delta, 0.05);
        QVERIFY(applied.wait(10000));
        const auto events = applied.at(0).at(0).value<std::vector<core::ConfigEvent>>();
        QCOMPARE(events.size(), size_t(1));
        QCOMPARE(events[0].key, std::string("delta"));
        const int first = events[0].iteration;

        // the first iteration at or after the boundary carries the new δ; earlier ones the old
        QTRY_VERIFY_WITH_TIMEOUT(iterations.last().at(0).value<core::IterationStats>().iteration >= first, 30000);
        for (const QList<QVariant>& args : iterations) {
            const auto s = args.at(0).value<core::IterationStats>();
            QCOMPARE(s.delta, s.iteration >= first ? 0.05 : 0.01);
        }
        clickToolbar(w, w.pauseAction());
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->markerCount(), 1);

        // the slider follows the field; undo restores the old δ (a second marker)
        QSlider* slider = w.hyperparameterPanel()->slider("delta");
        QVERIFY(slider);
        QVERIFY(slider->value() > 0 && slider->value() < 1000);
        applied.clear();
        w.hyperparameterPanel()->undoStack()->undo();
        QCOMPARE(w.hyperparameterPanel()->config().delta, 0.01);
        QVERIFY(applied.wait(10000));
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->markerCount(), 2);
        w.hyperparameterPanel()->undoStack()->redo();
        QCOMPARE(w.hyperparameterPanel()->config().delta, 0.05);
    }

    void closeWhileTrainingStopsWorker() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.startAction());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 2, 30000);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w.close());
        QVERIFY(w.session()->isThreadFinished());
        QVERIFY2(clock.elapsed() < 1000, qPrintable(QString::number(clock.elapsed())));
    }

    void quitActionStopsWorker() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.startAction());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 1, 30000);
        QAction* quit = w.findChild<QAction*>("actionQuit");
        QVERIFY(quit);
        QCOMPARE(quit->shortcut(), QKeySequence(QKeySequence::Quit));
        QElapsedTimer clock;
        clock.start();
        quit->trigger();
        QVERIFY(!w.isVisible());
        QVERIFY(w.session()->isThreadFinished());
        QVERIFY(clock.elapsed() < 1000);
    }

    // a fixed pseudo-random sequence of the user's verbs, fast: nothing may crash or hang
    void anySequenceOfClicks() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        core::Rng rng(7);
        for (int i = 0; i < 60; ++i) {
            switch (rng.below(9)) {
            case 0: w.startAction()->trigger(); break;
            case 1: w.pauseAction()->trigger(); break;
            case 2: w.stepAction()->trigger(); break;
            case 3: w.resetAction()->trigger(); break;
            case 4: w.hyperparameterPanel()->requestChange("delta", rng.below(2) ? "0.02" : "0.005"); break;
            case 5: w.hyperparameterPanel()->undoStack()->undo(); break;
            case 6: w.envView()->setSpeed(static_cast<ui::EnvView::Speed>(rng.below(4))); break;
            case 7: {
                const int index = static_cast<int>(rng.below(std::min<std::uint64_t>(3, sim::registry().size())));
                answerNextDialog(QMessageBox::Yes);
                w.environmentPicker()->setCurrentIndex(index);
                emit w.environmentPicker()->activated(index);
                break;
            }
            case 8: w.plotPanel()->setXAxisMode(rng.below(2) ? ui::XAxisMode::EnvSteps : ui::XAxisMode::Iteration); break;
            }
            QTest::qWait(static_cast<int>(rng.below(60)));
        }
        QVERIFY(QApplication::activeModalWidget() == nullptr);
        QVERIFY(w.close());
        QVERIFY(w.session()->isThreadFinished());
    }

    void envViewDrawsEveryEnvironment_data() {
        QTest::addColumn<QString>("id");
        for (const sim::EnvInfo& e : sim::registry()) QTest::newRow(e.id.c_str()) << QString::fromStdString(e.id);
    }
    void envViewDrawsEveryEnvironment() {
        QFETCH(QString, id);
        ui::EnvView view;
        view.resize(640, 400);
        view.setOverlaysVisible(false); // count the scene's pixels only
        QVERIFY(view.setEnvironment(id));
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTest::qWait(150); // a few frames of the random policy
        const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
        const sim::Color bg = view.drawList().background;
        const QRgb background = qRgb(bg.r, bg.g, bg.b);
        qint64 differ = 0;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                if (img.pixel(x, y) != background) ++differ;
        const double share = double(differ) / (img.width() * img.height());
        QVERIFY2(share > 0.005, qPrintable(QString("%1: only %2% of pixels drawn").arg(id).arg(share * 100)));
        QVERIFY(view.episodeStep() > 0 || share > 0); // the view is stepping
    }

    void invalidInputRefused() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        ui::HyperparameterPanel* panel = w.hyperparameterPanel();
        QSignalSpy rejected(panel, &ui::HyperparameterPanel::inputRejected);

        auto* delta = qobject_cast<QLineEdit*>(panel->editor("delta"));
        QVERIFY(delta);
        delta->selectAll();
        QTest::keyClicks(delta, "abc"); // letters never reach the field
        QCOMPARE(delta->text(), QString("0.01"));
        delta->selectAll();
        QTest::keyClicks(delta, "50"); // above the range: not acceptable, not applied
        QVERIFY(!delta->hasAcceptableInput());
        QTest::keyClick(delta, Qt::Key_Return);
        QCOMPARE(panel->config().delta, 0.01);

        auto* cgIters = qobject_cast<QSpinBox*>(panel->editor("cg_iters"));
        QVERIFY(cgIters);
        QCOMPARE(cgIters->minimum(), 1);
        QCOMPARE(cgIters->maximum(), 200);
        const int before = cgIters->value();
        cgIters->selectAll();
        QTest::keyClicks(cgIters, "xyz");
        QTest::keyClick(cgIters, Qt::Key_Return);
        QCOMPARE(panel->config().cgIters, before);

        auto* hidden = qobject_cast<QLineEdit*>(panel->editor("hidden"));
        QVERIFY(hidden);
        hidden->selectAll();
        QTest::keyClicks(hidden, "64,x-");
        QCOMPARE(hidden->text(), QString("64,"));
        QVERIFY(!hidden->hasAcceptableInput());

        // values core refuses are refused too, with a message
        QVERIFY(!panel->requestChange("delta", "-1"));
        QVERIFY(!panel->requestChange("gamma", "1.5"));
        QVERIFY(rejected.count() >= 2);
        QCOMPARE(panel->config().delta, 0.01);
        QCOMPARE(panel->undoStack()->count(), 0);
    }

    void coldChangeAsksBeforeReset() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        ui::HyperparameterPanel* panel = w.hyperparameterPanel();
        auto* seed = qobject_cast<QLineEdit*>(panel->editor("seed"));
        QVERIFY(seed);
        const std::uint64_t oldSeed = panel->config().seed;

        // "No": nothing changes, the field shows the old value again
        resets.clear();
        answerNextDialog(QMessageBox::No);
        seed->selectAll();
        QTest::keyClicks(seed, "7");
        QTest::keyClick(seed, Qt::Key_Return);
        QCOMPARE(panel->config().seed, oldSeed);
        QCOMPARE(seed->text(), QString::number(oldSeed));
        QTest::qWait(200);
        QCOMPARE(resets.count(), 0);

        // "Yes": a new run with the new seed
        answerNextDialog(QMessageBox::Yes);
        seed->selectAll();
        QTest::keyClicks(seed, "7");
        QTest::keyClick(seed, Qt::Key_Return);
        QVERIFY(resets.count() > 0 || resets.wait(10000));
        QCOMPARE(panel->config().seed, std::uint64_t(7));
        QCOMPARE(w.session()->config().seed, std::uint64_t(7));

        // the environment picker is cold too: switching asks, then resets onto the new env
        if (sim::registry().size() > 1) {
            QComboBox* picker = w.environmentPicker();
            const QString other = QString::fromStdString(sim::registry()[1].id);
            resets.clear();
            answerNextDialog(QMessageBox::Yes);
            picker->setCurrentIndex(1);
            emit picker->activated(1);
            QVERIFY(resets.count() > 0 || resets.wait(10000));
            QCOMPARE(QString::fromStdString(w.session()->config().env), other);
            QCOMPARE(w.envView()->environmentId(), other);
            QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
            clickToolbar(w, w.stepAction());
            QVERIFY(iterations.wait(20000));
        }
    }

    // the algorithm is a cold choice from the configuration table: a combo box whose change
    // asks for a reset, and the new run uses it; the CG and line-search plots then say that
    // ppo has neither
    void algorithmIsAColdChoice() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        ui::HyperparameterPanel* panel = w.hyperparameterPanel();
        auto* algo = qobject_cast<QComboBox*>(panel->editor("algo"));
        QVERIFY(algo);
        QCOMPARE(algo->count(), 6);
        QCOMPARE(algo->currentText(), QString("trpo"));
        ui::PlotWidget* cg = w.plotPanel()->cgPlot();
        ui::PlotWidget* lineSearch = w.plotPanel()->plotForKey("line_search");
        QVERIFY(lineSearch);
        QCOMPARE(cg->notice(), QString());
        QCOMPARE(lineSearch->notice(), QString());

        resets.clear();
        answerNextDialog(QMessageBox::No);
        algo->setCurrentText("ppo");
        QCOMPARE(panel->config().algo, core::Algorithm::Trpo);
        QCOMPARE(algo->currentText(), QString("trpo"));
        QTest::qWait(200);
        QCOMPARE(resets.count(), 0);

        answerNextDialog(QMessageBox::Yes);
        algo->setCurrentText("ppo");
        QVERIFY(resets.count() > 0 || resets.wait(10000));
        QCOMPARE(w.session()->config().algo, core::Algorithm::Ppo);
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(20000));
        // TRPO's own plots say why a ppo run leaves them empty
        QVERIFY2(cg->notice().startsWith("No conjugate gradient\nin ppo"), qPrintable(cg->notice()));
        QVERIFY2(lineSearch->notice().startsWith("No line search\nin ppo"), qPrintable(lineSearch->notice()));
    }

    // a GRU policy is a cold choice too: on CartPoleNoVel-v1 (whose preset subsamples the
    // Fisher products) choosing it asks, names the subsample it turns off, and the new run
    // trains and plays it; an algorithm it cannot train with is refused with a message
    void recurrentNetworkIsAColdChoice() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QComboBox* picker = w.environmentPicker();
        const int noVel = picker->findText("CartPoleNoVel-v1");
        QVERIFY(noVel >= 0);
        resets.clear();
        answerNextDialog(QMessageBox::Yes);
        picker->setCurrentIndex(noVel);
        emit picker->activated(noVel);
        QVERIFY(resets.count() > 0 || resets.wait(10000));
        ui::HyperparameterPanel* panel = w.hyperparameterPanel();
        QCOMPARE(panel->config().fvpSubsample, 2);
        auto* network = qobject_cast<QComboBox*>(panel->editor("network"));
        QVERIFY(network);
        QCOMPARE(network->count(), 4); // mlp, cnn, gru, cnn_gru

        resets.clear();
        QString question;
        answerNextDialog(QMessageBox::Yes, &question);
        network->setCurrentText("gru");
        QVERIFY(resets.count() > 0 || resets.wait(10000));
        QVERIFY2(question.contains("Fisher subsample (every k-th): 2 → 1"), qPrintable(question));
        QCOMPARE(w.session()->config().network, core::NetworkKind::Gru);
        QCOMPARE(w.session()->config().fvpSubsample, 1);
        QVERIFY(panel->editor("gru_state") != nullptr);
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(20000));
        QTest::qWait(300); // the viewer plays the GRU policy, carrying its state

        QSignalSpy rejected(panel, &ui::HyperparameterPanel::inputRejected);
        auto* algo = qobject_cast<QComboBox*>(panel->editor("algo"));
        algo->setCurrentText("ppo");
        QCOMPARE(rejected.count(), 1);
        QVERIFY(rejected.at(0).at(0).toString().contains("network = gru trains with trpo, npg or vpg"));
        QCOMPARE(panel->config().algo, core::Algorithm::Trpo);
        QCOMPARE(algo->currentText(), QString("trpo"));
    }

    void viewOptionsAndExport() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        clickToolbar(w, w.startAction());
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 3, 30000);
        w.presentationAction()->trigger();
        QVERIFY(w.isPresentationMode());
        w.plotPanel()->setXAxisMode(ui::XAxisMode::EnvSteps);
        w.plotPanel()->setSmoothing(0.6);
        w.envView()->setSpeed(ui::EnvView::Speed::Quadruple);
        w.envView()->setDeterministic(true);
        QTest::qWait(300);
        clickToolbar(w, w.pauseAction());
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(w.plotPanel()->exportAll(dir.path()));
        QVERIFY(QFileInfo(dir.filePath("episode_return.png")).size() > 1000);
        QVERIFY(QFileInfo(dir.filePath("episode_return.pdf")).size() > 500);
        w.envView()->setSpeed(ui::EnvView::Speed::RenderOff);
        w.presentationAction()->trigger();
        QVERIFY(!w.isPresentationMode());
    }

    // the hand-written controller: offered where the environment has one, it plays
    // Gymnasium's heuristic in the viewer, and its episode is the heuristic's own episode
    // on that seed, step for step (the same return as a headless rollout)
    void handWrittenControllerPlaysTheHeuristic() {
        MainWindow w(fastOptions());
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        auto* box = w.findChild<QCheckBox*>("handWrittenController");
        QVERIFY(box);
        QVERIFY(!box->isEnabled()); // CartPole has none
        core::TrpoConfig cfg = core::presetConfig("LunarLander-v3");
        cfg.stepsPerIteration = 256;
        w.lifecycle()->reset(cfg);
        QVERIFY(resets.wait(10000));
        QTRY_VERIFY(box->isEnabled());
        ui::EnvView* view = w.envView();
        view->setSpeed(ui::EnvView::Speed::Quadruple);
        QSignalSpy finished(view, &ui::EnvView::episodeFinished);
        QTest::mouseClick(box, Qt::LeftButton, {}, QPoint(4, box->height() / 2));
        QVERIFY(box->isChecked());
        QVERIFY(view->playsHeuristic());
        QCOMPARE(view->episodeStep(), 0); // from a fresh episode
        const std::uint64_t seed = view->episodeSeed();
        QVERIFY(finished.wait(60000));

        auto env = sim::makeEnvironment("LunarLander-v3");
        auto heuristic = sim::makeHeuristic("LunarLander-v3");
        std::vector<double> obs(8), act(1);
        env->reset(seed, obs);
        heuristic->reset();
        double ret = 0;
        int steps = 0;
        for (bool done = false; !done;) {
            heuristic->act(obs, act);
            const core::StepResult r = env->step(act, obs);
            ret += r.reward;
            ++steps;
            done = r.terminated || r.truncated;
        }
        QCOMPARE(finished.at(0).at(1).toInt(), steps);
        QCOMPARE(finished.at(0).at(0).toDouble(), ret);
        QVERIFY(ret > 100); // it lands

        // off again: the policy plays; CartPole turns the box off and greys it
        box->setChecked(false);
        QVERIFY(!view->playsHeuristic());
        w.lifecycle()->reset(core::presetConfig("CartPole-v1"));
        QVERIFY(resets.wait(10000));
        QTRY_VERIFY(!box->isEnabled());
        view->setSpeed(ui::EnvView::Speed::RenderOff);
    }

    void runDirectoryRecordsEvents() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ui::StudioOptions o = fastOptions();
        o.runDirBase = dir.path();
        MainWindow w(o);
        QSignalSpy resets(&w, &MainWindow::runReset);
        QVERIFY(waitForRun(w, resets));
        const QString runDir = w.session()->runDirectory();
        QVERIFY(runDir.startsWith(dir.path()));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        QSignalSpy applied(w.session(), &TrainingSession::configApplied);
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(10000));
        QVERIFY(w.hyperparameterPanel()->requestChange("delta", "0.02"));
        QVERIFY(applied.wait(10000));
        clickToolbar(w, w.stepAction());
        QVERIFY(iterations.wait(10000));
        QFile events(QDir(runDir).filePath("events.jsonl"));
        QVERIFY(events.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(events.readAll());
        QVERIFY2(text.contains("\"type\":\"hyperparameter\"") && text.contains("\"key\":\"delta\"") &&
                     text.contains("\"iteration\":2"),
                 qPrintable(text));
        QFile progress(QDir(runDir).filePath("progress.csv"));
        QVERIFY(progress.open(QIODevice::ReadOnly));
        QCOMPARE(progress.readAll().count('\n'), 3); // header and two iterations
    }

    // 10,000 iterations: the plots read them from the history; one plot's rebuild and repaint
    // (what the panel does per timer tick) stays a few milliseconds
    void tenThousandIterationsStayFluid() {
        // single-threaded plot speed against a time bound: ThreadSanitizer's slowdown would
        // fail it and there is no thread in it to check (release and ASan run it)
        if (testutil::kThreadSanitized) QSKIP("a single-threaded timing check; the release and AddressSanitizer stages run it");
        ui::RunHistory history;
        ui::PlotPanel panel(&history);
        panel.resize(1600, 460);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        std::vector<core::IterationStats> its(10000);
        for (int i = 0; i < 10000; ++i) {
            its[i] = sample(i + 1, 2048LL * (i + 1), 0.01 * std::sin(i * 0.01));
            its[i].returnMean = its[i].returnMin = its[i].returnMax = 100 * std::sin(i * 0.003);
            its[i].valueLossAfter = 1 + i % 7;
            its[i].cgResiduals = {1.0, 0.1, 0.01};
        }
        history.load(std::move(its), {}, core::TrpoConfig{}, 10000, 2048LL * 10000, "synthetic");
        panel.setSmoothing(0.6);
        QElapsedTimer clock;
        clock.start();
        panel.replotNow();
        const double cycleMs = clock.nsecsElapsed() / 1e6;
        clock.restart();
        for (int i = 10001; i <= 10100; ++i) history.append(sample(i, 2048LL * i, 0.02)); // what live iterations cost
        const double appendMs = clock.nsecsElapsed() / 1e6 / 100;
        qInfo("10,000 iterations: all 8 plots rebuilt and repainted in %.1f ms; appending one: %.3f ms on average", cycleMs, appendMs);
        for (ui::PlotWidget* p : panel.timePlots()) QVERIFY(p->pointCount() <= ui::PlotWidget::kMaxDisplayPoints + 2);
        QVERIFY2(appendMs < 5, qPrintable(QString::number(appendMs)));
        QVERIFY2(cycleMs / 8 < 60, qPrintable(QString::number(cycleMs))); // per plot, i.e. per timer tick
    }

    void plotsKeepEveryPoint() {
        // 12,000 samples stay in the history; the display is decimated
        ui::RunHistory history;
        ui::PlotWidget plot("Return", "return");
        plot.setHistory(&history);
        plot.addSeries({"mean", Qt::blue}, [](const core::IterationStats& s) { return s.klMean; });
        for (int i = 1; i <= 12000; ++i) history.append(sample(i, i * 100, std::sin(i * 0.01)));
        plot.refresh();
        QCOMPARE(plot.sampleCount(), 12000);
        QCOMPARE(plot.rawValues(0).size(), size_t(12000));
        QVERIFY(plot.pointCount() <= ui::PlotWidget::kMaxDisplayPoints + 2);
        QVERIFY(plot.pointCount() > ui::PlotWidget::kMaxDisplayPoints / 2);
    }
};

QTEST_MAIN(TestStudio)
#include "test_studio.moc"
