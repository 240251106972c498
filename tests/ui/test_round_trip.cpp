// The one run format between the two programs: the studio saves a run, trpo-train --resume
// adds 20 iterations to it, and the studio opens it again, shows every iteration and
// continues exactly as a run that never stopped.
#include <QApplication>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "core/trainer.h"
#include "run/run_store.h"
#include "sim/registry.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

using ui::MainWindow;

namespace {

std::string withoutTiming(const core::IterationStats& s) { return core::statsToJson(s, false).dump(); }

core::IterationStats stepIterations(MainWindow& w, int n) {
    QSignalSpy iterations(w.session(), &ui::TrainingSession::iterationFinished);
    core::IterationStats last;
    for (int i = 0; i < n; ++i) {
        const int before = iterations.count();
        w.stepAction()->trigger();
        if (!QTest::qWaitFor([&] { return iterations.count() > before; }, 15000)) return last;
        last = iterations.last().at(0).value<core::IterationStats>();
    }
    return last;
}

} // namespace

class TestRoundTrip : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("trpo-studio-test");
        QApplication::setApplicationName("test_round_trip");
    }

    void studioTrainStudio() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("class.trporun");
        ui::StudioOptions o;
        o.env = "CartPole-v1";
        o.stepsPerIteration = 256;
        o.useSettings = false;
        o.autosaveDir = tmp.filePath("autosave");
        o.runDirBase = tmp.filePath("runs");

        // the studio: 5 iterations, then File > Save run
        {
            MainWindow w(o);
            QSignalSpy resets(&w, &MainWindow::runReset);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            QVERIFY(resets.count() > 0 || resets.wait(10000));
            stepIterations(w, 5);
            QCOMPARE(w.iterationCount(), 5);
            QSignalSpy saved(w.runs(), &ui::RunController::runSaved);
            w.runs()->saveRun(runPath);
            QVERIFY(saved.wait(10000));
        }

        // trpo-train --resume: 20 more iterations
        QProcess train;
        train.start(TRPO_TRAIN_EXE, {"--resume", runPath, "--iterations", "20", "--quiet"});
        QVERIFY(train.waitForFinished(120000));
        QVERIFY2(train.exitCode() == 0, train.readAllStandardError().constData());

        // what a run that never stopped computes, from the configuration the studio saved
        const run::RunContents saved = run::readRun(runPath.toStdString());
        QCOMPARE(static_cast<int>(saved.history.size()), 25);
        core::Trainer reference(saved.config, sim::environmentFactory(saved.config.env));
        std::vector<std::string> expected;
        for (int i = 0; i < 26; ++i) expected.push_back(withoutTiming(reference.iterate()));

        // the studio opens it: all 25 iterations, then the 26th is the uninterrupted run's
        MainWindow w(o);
        QSignalSpy resets(&w, &MainWindow::runReset);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(resets.count() > 0 || resets.wait(10000));
        QSignalSpy opened(w.runs(), &ui::RunController::runOpened);
        QVERIFY(w.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        QCOMPARE(w.iterationCount(), 25);
        const std::vector<core::IterationStats>& shown = w.history()->iterations();
        QCOMPARE(static_cast<int>(shown.size()), 25);
        for (int i = 0; i < 25; ++i) QCOMPARE(withoutTiming(shown[i]), expected[i]);
        const core::IterationStats next = stepIterations(w, 1);
        QCOMPARE(next.iteration, 26);
        QCOMPARE(withoutTiming(next), expected[25]);
    }
};

QTEST_MAIN(TestRoundTrip)
#include "test_round_trip.moc"
