// The one run format between the two programs: the studio saves a run, trpo-train --resume
// adds 20 iterations to it, and the studio opens it again, shows every iteration and
// continues exactly as a run that never stopped.
#include <QApplication>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <sys/stat.h>

#include <filesystem>

#include "core/serialization.h"
#include "core/trainer.h"
#include "support/studio_test_util.h"
#include "support/test_util.h"
#include "run/run_store.h"
#include "sim/registry.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

using testutil::stepIterations;
using testutil::waitForRun;
using ui::MainWindow;

namespace {

ui::StudioOptions roundTripOptions(const QTemporaryDir& tmp) {
    ui::StudioOptions o;
    o.env = "CartPole-v1";
    o.stepsPerIteration = 256;
    o.useSettings = false;
    o.autosaveDir = tmp.filePath("autosave");
    o.pace = ui::Pace::max(); // a fresh install's teaching pace would make every test slow
    o.runDirBase = tmp.filePath("runs");
    return o;
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
        const ui::StudioOptions o = roundTripOptions(tmp);

        // the studio: 5 iterations, then File > Save run
        {
            MainWindow w(o);
            QVERIFY(waitForRun(w));
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
        for (int i = 0; i < 26; ++i) expected.push_back(testutil::statsWithoutTiming(reference.iterate()));

        // the studio opens it: all 25 iterations, then the 26th is the uninterrupted run's
        MainWindow w(o);
        QVERIFY(waitForRun(w));
        QSignalSpy opened(w.runs(), &ui::RunController::runOpened);
        QVERIFY(w.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        QCOMPARE(w.iterationCount(), 25);
        const std::vector<core::IterationStats>& shown = w.history()->iterations();
        QCOMPARE(static_cast<int>(shown.size()), 25);
        for (int i = 0; i < 25; ++i) QCOMPARE(testutil::statsWithoutTiming(shown[i]), expected[i]);
        const core::IterationStats next = stepIterations(w, 1);
        QCOMPARE(next.iteration, 26);
        QCOMPARE(testutil::statsWithoutTiming(next), expected[25]);
    }

    // with a live run directory, autosave only adds the checkpoint to it (the history is
    // appended as iterations finish, never rewritten) and "Save run" copies it
    void autosaveAppendsAndSaveCopies() {
        QTemporaryDir tmp;
        const ui::StudioOptions o = roundTripOptions(tmp);
        MainWindow w(o);
        QVERIFY(waitForRun(w));
        const QString live = w.session()->runDirectory();
        QVERIFY(!live.isEmpty());
        const std::filesystem::path history = std::filesystem::path(live.toStdString()) / "history.jsonl";
        auto inode = [&] {
            struct stat st {};
            return ::stat(history.c_str(), &st) == 0 ? st.st_ino : ino_t{0};
        };

        w.runs()->setAutosaveInterval(2);
        QSignalSpy autosaved(w.runs(), &ui::RunController::autosaved);
        stepIterations(w, 2);
        QVERIFY(autosaved.count() > 0 || autosaved.wait(10000));
        QCOMPARE(autosaved.last().at(0).toString(), live);
        const ino_t first = inode();
        const std::string before = core::readFileText(history);
        QCOMPARE(run::readRun(live.toStdString()).manifest.checkpointIteration, 2);
        stepIterations(w, 2);
        QTRY_COMPARE_WITH_TIMEOUT(autosaved.count(), 2, 10000);
        const std::string after = core::readFileText(history);
        QCOMPARE(inode(), first);                             // the same file, appended to
        QCOMPARE(after.substr(0, before.size()), before);     // earlier lines untouched
        QCOMPARE(run::readRun(live.toStdString()).manifest.checkpointIteration, 4);
        QCOMPARE(w.runs()->lastAutosave(), live);
        QVERIFY(w.runs()->hasUnfinishedAutosave());           // no clean exit yet

        // Save run: an atomic copy of the live directory at the current iteration
        const QString saved = tmp.filePath("copy.trporun");
        QSignalSpy savedSpy(w.runs(), &ui::RunController::runSaved);
        w.runs()->saveRun(saved);
        QVERIFY(savedSpy.wait(10000));
        QCOMPARE(core::readFileText(std::filesystem::path(saved.toStdString()) / "history.jsonl"),
                 core::readFileText(history));
        const run::RunContents copy = run::readRun(saved.toStdString());
        QCOMPARE(static_cast<int>(copy.history.size()), 4);
        QCOMPARE(copy.manifest.checkpointIteration, 4);
        QVERIFY(!QFileInfo::exists(saved + ".saving"));
    }
};

QTEST_MAIN(TestRoundTrip)
#include "test_round_trip.moc"
