// Runs and exports in the studio, offscreen: Save run / Open run restore plots, markers,
// settings and the trainer (the next iteration equals an uninterrupted run's), policy export
// and Watch policy, metrics CSV, autosave and its restore offer, and bad files that must give
// a message naming the file and the problem while the current run stays as it was.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QElapsedTimer>
#include <QTimer>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <cerrno>
#include <cmath>
#include <fcntl.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "core/presets.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "sim/registry.h"
#include "ui/env_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/main_window.h"
#include "ui/plot_panel.h"
#include "ui/run_controller.h"
#include "ui/run_history.h"
#include "ui/run_file.h"
#include "ui/training_session.h"
#include "support/studio_test_util.h"

using ui::MainWindow;
using ui::TrainingSession;
namespace fs = std::filesystem;

namespace {

ui::StudioOptions fastOptions(const QString& autosaveDir) {
    ui::StudioOptions o;
    o.env = "CartPole-v1";
    o.stepsPerIteration = 256;
    o.useSettings = false;
    o.autosaveDir = autosaveDir;
    o.pace = ui::Pace::max(); // a fresh install's teaching pace would make every test slow
    return o;
}

using testutil::stepIterations;
using testutil::waitForRun;
using testutil::answerFileDialog;

// trpo-studio run with `args` as a user would: its exit code (-1 when it has not finished after
// two minutes and is killed, -2 when it crashed) and what it wrote to stdout and stderr. Started
// with posix_spawn rather than QProcess: under ThreadSanitizer, after a QProcess child has
// started this test dies at its next new thread ("starting new threads after multi-threaded
// fork is not supported"), while posix_spawn's child runs nothing of the sanitizer's before
// it executes the program.
std::pair<int, QString> runStudio(const QStringList& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, "pipe2 failed"};
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<std::string> strings{TRPO_STUDIO_EXE};
    for (const QString& a : args) strings.push_back(a.toStdString());
    std::vector<char*> argv;
    for (std::string& a : strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, TRPO_STUDIO_EXE, &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (spawned != 0) {
        ::close(fds[0]);
        return {-1, "posix_spawn failed"};
    }
    QByteArray out;
    QElapsedTimer clock;
    clock.start();
    bool timedOut = false;
    for (;;) {
        const qint64 left = 120000 - clock.elapsed();
        if (left <= 0) {
            timedOut = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            timedOut = true;
            break;
        }
        char buf[4096];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // the end of its output: it has exited
        out.append(buf, static_cast<qsizetype>(n));
    }
    ::close(fds[0]);
    if (timedOut) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timedOut) return {-1, "timeout"};
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -2, QString::fromUtf8(out)};
}

bool sameValues(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}

struct PlotContents {
    std::vector<std::vector<std::vector<double>>> values; // plot, series, samples
    std::vector<int> markers;
};

PlotContents plotContents(MainWindow& w) {
    PlotContents c;
    for (ui::PlotWidget* p : w.plotPanel()->plots()) {
        std::vector<std::vector<double>> series;
        for (int s = 0; s < p->seriesCount(); ++s) series.push_back(p->rawValues(s));
        c.values.push_back(series);
        c.markers.push_back(p->markerCount());
    }
    return c;
}

bool samePlots(const PlotContents& a, const PlotContents& b, QString* why) {
    if (a.values.size() != b.values.size() || a.markers != b.markers) {
        *why = "marker counts differ";
        return false;
    }
    for (size_t p = 0; p < a.values.size(); ++p) {
        if (a.values[p].size() != b.values[p].size()) {
            *why = QString("plot %1: series count").arg(p);
            return false;
        }
        for (size_t s = 0; s < a.values[p].size(); ++s)
            if (!sameValues(a.values[p][s], b.values[p][s])) {
                *why = QString("plot %1 series %2 differs").arg(p).arg(s);
                return false;
            }
    }
    return true;
}

void writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

QByteArray readBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QByteArray randomBytes(int n, unsigned seed) {
    QByteArray b(n, 0);
    unsigned x = seed;
    for (int i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        b[i] = static_cast<char>(x >> 24);
    }
    return b;
}

void copyDir(const QString& from, const QString& to) {
    fs::copy(from.toStdString(), to.toStdString(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// collects the messages the window would have shown in dialogs
struct Messages {
    QStringList texts;
    void attach(MainWindow& w) {
        w.setMessageHook([this](const QString& title, const QString& text) { texts << title + ": " + text; });
    }
};

} // namespace

class TestPersistence : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("trpo-studio-test");
        QApplication::setApplicationName("test_persistence");
    }

    void saveOpenContinues() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString runPath = tmp.filePath("first.trporun");

        MainWindow a(fastOptions(tmp.filePath("autosave-a")));
        QVERIFY(waitForRun(a));
        stepIterations(a, 2);
        QSignalSpy applied(a.session(), &TrainingSession::configApplied);
        QVERIFY(a.hyperparameterPanel()->requestChange("delta", "0.02"));
        QVERIFY(applied.wait(10000));
        stepIterations(a, 2);
        QCOMPARE(a.iterationCount(), 4);

        QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
        a.runs()->saveRun(runPath);
        QVERIFY(saved.wait(10000));
        for (const char* f : {"manifest.json", "config.json", "progress.csv", "events.jsonl", "history.jsonl", "policy.json",
                              "checkpoints/latest.ckpt"})
            QVERIFY2(QFileInfo::exists(QDir(runPath).filePath(f)), f);
        QCOMPARE(readBytes(QDir(runPath).filePath("progress.csv")).count('\n'), 5);
        QVERIFY(readBytes(QDir(runPath).filePath("events.jsonl")).contains("\"key\":\"delta\""));
        const PlotContents before = plotContents(a);
        QCOMPARE(before.markers[0], 1);
        const core::TrpoConfig cfgA = a.hyperparameterPanel()->config();
        // the uninterrupted run's next iteration (saving does not disturb the trainer)
        const core::IterationStats nextA = stepIterations(a, 1);
        QCOMPARE(nextA.iteration, 5);

        MainWindow b(fastOptions(tmp.filePath("autosave-b")));
        QVERIFY(waitForRun(b));
        Messages msgs;
        msgs.attach(b);
        QSignalSpy opened(b.runs(), &ui::RunController::runOpened);
        QVERIFY(b.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        QVERIFY2(msgs.texts.isEmpty(), qPrintable(msgs.texts.join("\n")));
        QCOMPARE(b.iterationCount(), 4);
        QCOMPARE(b.history()->iterations().size(), size_t(4));
        QString why;
        QVERIFY2(samePlots(before, plotContents(b), &why), qPrintable(why));
        for (ui::PlotWidget* p : b.plotPanel()->timePlots()) QCOMPARE(p->markerCount(), 1);
        QCOMPARE(core::configToJson(b.hyperparameterPanel()->config()), core::configToJson(cfgA));
        QCOMPARE(b.hyperparameterPanel()->config().delta, 0.02);
        QCOMPARE(b.environmentPicker()->currentText(), QString("CartPole-v1"));
        QVERIFY(b.envView()->hasSnapshot());
        QCOMPARE(b.envView()->snapshot()->iteration, 4);

        const core::IterationStats nextB = stepIterations(b, 1);
        QCOMPARE(nextB.iteration, 5);
        QCOMPARE(QString::fromStdString(core::statsToJson(nextB, false).dump()),
                 QString::fromStdString(core::statsToJson(nextA, false).dump()));

        // saving again over the same directory replaces it completely
        a.runs()->saveRun(runPath);
        QVERIFY(saved.wait(10000));
        QVERIFY(!QFileInfo::exists(runPath + ".old") && !QFileInfo::exists(runPath + ".saving"));
        QCOMPARE(ui::readRun(runPath.toStdString()).iteration, 5);
        // a directory that is not a saved run is never overwritten
        QDir(tmp.path()).mkpath("other/stuff");
        a.setMessageHook([&](const QString&, const QString& text) { msgs.texts << text; });
        a.runs()->saveRun(tmp.filePath("other"));
        QTRY_VERIFY_WITH_TIMEOUT(!msgs.texts.isEmpty(), 10000);
        QVERIFY2(msgs.texts.last().contains("does not hold a saved run"), qPrintable(msgs.texts.last()));
        QVERIFY(QFileInfo::exists(tmp.filePath("other/stuff")));

        // Start continues too (the loop runs on the restored trainer)
        QSignalSpy iterations(b.session(), &TrainingSession::iterationFinished);
        b.startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 2, 30000);
        b.pauseAction()->trigger();
        QCOMPARE(iterations.at(0).at(0).value<core::IterationStats>().iteration, 6);
    }

    // File → Save run and File → Open run, answered in their file dialogs: the opened run's
    // history arrives in RunHistory once (loaded, no appends) and fills the plots from there
    void saveAndOpenThroughTheFileMenu() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("menu.trporun");
        MainWindow a(fastOptions(tmp.filePath("autosave-a")));
        QVERIFY(waitForRun(a));
        Messages msgs;
        msgs.attach(a);
        stepIterations(a, 3);
        QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
        answerFileDialog(runPath);
        a.saveRunAction()->trigger();
        QVERIFY(saved.count() > 0 || saved.wait(10000));
        QCOMPARE(saved.at(0).at(0).toString(), runPath);
        const PlotContents before = plotContents(a);

        MainWindow b(fastOptions(tmp.filePath("autosave-b")));
        QVERIFY(waitForRun(b));
        msgs.attach(b);
        stepIterations(b, 1);
        QSignalSpy loaded(b.history(), &ui::RunHistory::loaded);
        QSignalSpy appended(b.history(), &ui::RunHistory::iterationAppended);
        QSignalSpy opened(b.runs(), &ui::RunController::runOpened);
        answerFileDialog(runPath);
        b.openRunAction()->trigger();
        QVERIFY(opened.count() > 0 || opened.wait(10000));
        QVERIFY2(msgs.texts.isEmpty(), qPrintable(msgs.texts.join("\n")));
        QCOMPARE(loaded.count(), 1);
        QCOMPARE(appended.count(), 0);
        QCOMPARE(b.history()->size(), 3);
        QCOMPARE(b.history()->source(), runPath);
        QCOMPARE(core::statsToJson(b.history()->iterations().back(), false).dump(),
                 core::statsToJson(a.history()->iterations().back(), false).dump());
        QString why;
        QVERIFY2(samePlots(before, plotContents(b), &why), qPrintable(why));
        QCOMPARE(b.findChild<QLabel*>("statusIteration")->text(), QString("Iteration 3"));
        QCOMPARE(stepIterations(b, 1).iteration, 4);
        QCOMPARE(b.history()->size(), 4);
    }

    // trpo-studio --open RUN_DIR --screenshot FILE.png: the same run, opened from the command line
    void openFromTheCommandLine() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("cli.trporun");
        {
            MainWindow a(fastOptions(tmp.filePath("autosave")));
            QVERIFY(waitForRun(a));
            stepIterations(a, 2);
            QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
            a.runs()->saveRun(runPath);
            QVERIFY(saved.wait(10000));
        }
        const QString shot = tmp.filePath("opened.png");
        auto [code, out] = runStudio({"--open", runPath, "--screenshot", shot});
        QVERIFY2(code == 0, qPrintable(out));
        QVERIFY2(out.contains("iteration 2"), qPrintable(out)); // the saved run's
        QVERIFY2(QImage(shot).width() > 0, qPrintable(out));
        // more iterations after opening: the saved run goes on from where it stopped
        std::tie(code, out) = runStudio({"--open", runPath, "--iterations", "2", "--screenshot", shot});
        QVERIFY2(code == 0, qPrintable(out));
        QVERIFY2(out.contains("iteration 4"), qPrintable(out));
        // a folder that is not a saved run: exit code 2 and the folder's name
        QDir(tmp.path()).mkpath("not-a-run");
        std::tie(code, out) = runStudio({"--open", tmp.filePath("not-a-run"), "--screenshot", shot});
        QCOMPARE(code, 2);
        QVERIFY2(out.contains(tmp.filePath("not-a-run")), qPrintable(out));
    }

    void openWhileRunningStopsAndRestores() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("r.trporun");
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        stepIterations(w, 3);
        QSignalSpy saved(w.runs(), &ui::RunController::runSaved);
        w.runs()->saveRun(runPath);
        QVERIFY(saved.wait(10000));
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        w.startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 2, 30000);
        QSignalSpy opened(w.runs(), &ui::RunController::runOpened);
        QVERIFY(w.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        QVERIFY(!w.session()->isRunning());
        QTest::qWait(400);
        QCOMPARE(w.iterationCount(), 3);
        for (ui::PlotWidget* p : w.plotPanel()->timePlots()) QCOMPARE(p->sampleCount(), 3);
        QCOMPARE(stepIterations(w, 1).iteration, 4);
    }

    // with --out, an opened run goes on in a new run directory that starts with its history
    void openedRunIsRecordedInTheRunDirectory() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("r.trporun");
        {
            MainWindow a(fastOptions(tmp.filePath("autosave")));
            QVERIFY(waitForRun(a));
            stepIterations(a, 3);
            QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
            a.runs()->saveRun(runPath);
            QVERIFY(saved.wait(10000));
        }
        ui::StudioOptions o = fastOptions(tmp.filePath("autosave"));
        o.runDirBase = tmp.filePath("runs");
        MainWindow w(o);
        QVERIFY(waitForRun(w));
        const QString first = w.session()->runDirectory();
        QSignalSpy opened(w.runs(), &ui::RunController::runOpened);
        QVERIFY(w.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        const QString dir = w.session()->runDirectory();
        QVERIFY(!dir.isEmpty() && dir != first && dir.startsWith(tmp.filePath("runs")));
        QCOMPARE(readBytes(QDir(dir).filePath("progress.csv")).count('\n'), 4);
        QVERIFY(readBytes(QDir(dir).filePath("events.jsonl")).contains("\"type\":\"opened\""));
        stepIterations(w, 1);
        QCOMPARE(readBytes(QDir(dir).filePath("progress.csv")).count('\n'), 5);
    }

    void exportPolicyAndWatch() {
        QTemporaryDir tmp;
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        Messages msgs;
        msgs.attach(w);
        stepIterations(w, 2);
        const QString json = tmp.filePath("policy.json");
        QSignalSpy exported(w.runs(), &ui::RunController::policyExported);
        w.runs()->exportPolicy(json);
        QVERIFY(exported.wait(10000));
        const core::SnapshotPtr file = core::policyFromJson(core::readFileText(json.toStdString()));
        QCOMPARE(file->envId, std::string("CartPole-v1"));
        QCOMPARE(file->iteration, 2);

        // a policy of another environment, written by core
        core::TrpoConfig acro = core::presetConfig("Acrobot-v1");
        acro.stepsPerIteration = 256;
        core::Trainer t(acro, sim::environmentFactory("Acrobot-v1"));
        t.iterate();
        const QString acroJson = tmp.filePath("acrobot.json");
        core::writeFileAtomic(acroJson.toStdString(), core::policyToJson(*t.snapshot(), {}));
        const QString acroCkpt = tmp.filePath("acrobot.ckpt");
        core::writeFileAtomic(acroCkpt.toStdString(), t.saveState());

        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        w.startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 1, 30000);

        // a policy of another environment: training pauses, the viewer switches and plays the file
        QSignalSpy stopped(w.session(), &TrainingSession::loopStopped);
        QVERIFY(w.runs()->watchPolicy(acroJson));
        QVERIFY(!w.session()->isRunning());
        QVERIFY(w.runs()->isWatching());
        QCOMPARE(w.envView()->environmentId(), QString("Acrobot-v1"));
        QVERIFY(w.watchBanner()->isVisible());
        QVERIFY(w.watchBanner()->text().contains("acrobot.json"));
        QVERIFY(w.envView()->snapshot()->theta.isApprox(t.snapshot()->theta));
        QTRY_VERIFY_WITH_TIMEOUT(stopped.count() >= 1, 10000); // the iteration in flight is done
        const int itersWhileWatching = w.iterationCount();
        const int step0 = w.envView()->episodeStep();
        QTRY_VERIFY_WITH_TIMEOUT(w.envView()->episodeStep() != step0, 5000); // frames advance
        QTest::qWait(300);
        QCOMPARE(w.iterationCount(), itersWhileWatching); // no training while watching
        // live snapshots do not replace the watched policy
        QCOMPARE(w.envView()->environmentId(), QString("Acrobot-v1"));

        // the run's own exported policy (same environment)
        QVERIFY(w.runs()->watchPolicy(json));
        QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
        QVERIFY(w.envView()->snapshot()->theta.isApprox(file->theta));
        QCOMPARE(w.runs()->watchedFile(), json);

        // a checkpoint plays too
        QVERIFY(w.runs()->watchPolicy(acroCkpt));
        QCOMPARE(w.envView()->environmentId(), QString("Acrobot-v1"));
        QVERIFY(w.envView()->snapshot()->theta.isApprox(t.snapshot()->theta));

        // Start leaves watch mode cleanly and trains on
        w.startAction()->trigger();
        QVERIFY(!w.runs()->isWatching());
        QVERIFY(!w.watchBanner()->isVisible());
        QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
        iterations.clear();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 1, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(w.envView()->hasSnapshot(), 5000);
        w.pauseAction()->trigger();

        // Reset leaves it too
        QVERIFY(w.runs()->watchPolicy(acroCkpt));
        QSignalSpy resets(&w, &MainWindow::runReset);
        w.resetAction()->trigger();
        QVERIFY(!w.runs()->isWatching());
        QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
        QVERIFY(resets.wait(10000));

        if (ui::onnxAvailable()) {
            stepIterations(w, 1);
            const QString onnx = tmp.filePath("policy.onnx");
            w.runs()->exportPolicy(onnx);
            QVERIFY(exported.wait(10000));
            QVERIFY(QFileInfo(onnx).size() > 100);
            QVERIFY(w.runs()->watchPolicy(onnx));
            QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
            const int s0 = w.envView()->episodeStep();
            QTRY_VERIFY_WITH_TIMEOUT(w.envView()->episodeStep() != s0, 5000);
            w.resetAction()->trigger();
        } else {
            qInfo("ONNX support not built: the ONNX export/watch part is skipped");
        }
        QVERIFY2(msgs.texts.isEmpty(), qPrintable(msgs.texts.join("\n")));
    }

    void exportMetricsCsv() {
        QTemporaryDir tmp;
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        stepIterations(w, 3);
        const QString path = tmp.filePath("metrics.csv");
        QVERIFY(w.runs()->exportMetrics(path));
        const QStringList lines = QString::fromUtf8(readBytes(path)).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 4);
        QCOMPARE(lines[0].toStdString(), core::csvHeader());
        for (int i = 1; i <= 3; ++i) {
            QVERIFY(lines[i].startsWith(QString::number(i) + ","));
            QCOMPARE(lines[i].toStdString(), core::csvRow(w.history()->iterations()[static_cast<size_t>(i - 1)]));
        }
    }

    void autosaveAndRestoreOffer() {
        QTemporaryDir tmp;
        const QString dir = tmp.filePath("autosave");
        int autosavedAt = 0;
        {
            // a session that "crashes": destroyed without closing (no clean-exit marker)
            MainWindow a(fastOptions(dir));
            QVERIFY(waitForRun(a));
            QCOMPARE(a.runs()->autosaveInterval(), 10); // default
            a.autosaveEditor()->setValue(3);
            QCOMPARE(a.runs()->autosaveInterval(), 3);
            QSignalSpy autosaved(a.runs(), &ui::RunController::autosaved);
            stepIterations(a, 2);
            QTest::qWait(200);
            QCOMPARE(autosaved.count(), 0);
            stepIterations(a, 1);
            QVERIFY(autosaved.count() > 0 || autosaved.wait(10000));
            QCOMPARE(autosaved.at(0).at(0).toString(), a.runs()->autosavePath());
            QVERIFY(QFileInfo::exists(QDir(a.runs()->autosavePath()).filePath("history.jsonl")));
            autosavedAt = ui::readRun(a.runs()->autosavePath().toStdString()).iteration;
            QCOMPARE(autosavedAt, 3);
            stepIterations(a, 1); // lost by the "crash" (fewer than N)
        }

        // next session: offered, answered Yes programmatically, restored
        MainWindow b(fastOptions(dir));
        QVERIFY(waitForRun(b));
        QVERIFY(b.runs()->hasUnfinishedAutosave());
        QStringList questions;
        b.setQuestionHook([&](const QString& title, const QString& text) {
            questions << title + " " + text;
            return true;
        });
        QSignalSpy opened(b.runs(), &ui::RunController::runOpened);
        QVERIFY(b.runs()->offerAutosaveRestore());
        QCOMPARE(questions.size(), 1);
        QVERIFY(opened.wait(10000));
        QCOMPARE(b.iterationCount(), autosavedAt);
        QCOMPARE(stepIterations(b, 1).iteration, autosavedAt + 1);

        // a clean exit (which autosaves once more) leaves nothing to offer
        QVERIFY(b.close());
        QCOMPARE(ui::readRun(b.runs()->autosavePath().toStdString()).iteration, autosavedAt + 1);
        MainWindow c(fastOptions(dir));
        QVERIFY(waitForRun(c));
        QVERIFY(!c.runs()->hasUnfinishedAutosave());
        c.setQuestionHook([&](const QString&, const QString&) {
            questions << "unexpected";
            return true;
        });
        QVERIFY(!c.runs()->offerAutosaveRestore());
        QCOMPARE(questions.size(), 1);

        // answering No leaves the current run alone
        {
            MainWindow d(fastOptions(dir));
            QVERIFY(waitForRun(d));
            d.autosaveEditor()->setValue(1);
            stepIterations(d, 2);
            QTest::qWait(300); // the autosave of iteration 2 lands
        }
        MainWindow e(fastOptions(dir));
        QVERIFY(waitForRun(e));
        QVERIFY(e.runs()->hasUnfinishedAutosave());
        e.setQuestionHook([](const QString&, const QString&) { return false; });
        QVERIFY(!e.runs()->offerAutosaveRestore());
        QTest::qWait(300);
        QCOMPARE(e.iterationCount(), 0);
    }

    // the worker hands over its state without a history; the saved history is RunHistory's and
    // must end exactly at the checkpoint's iteration, also when saving or closing mid-training
    void savesWhileTrainingHoldTheWholeHistory() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("running.trporun");
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        Messages msgs;
        msgs.attach(w);
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        w.startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 2, 30000);
        QSignalSpy saved(w.runs(), &ui::RunController::runSaved);
        w.runs()->saveRun(runPath);
        QVERIFY(saved.wait(10000));
        ui::RunState st = ui::readRun(runPath.toStdString());
        QVERIFY(st.iteration >= 2);
        QCOMPARE(int(st.history.size()), st.iteration);
        QCOMPARE(st.history.back().iteration, st.iteration);
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= st.iteration + 2, 30000);
        QVERIFY(w.close()); // the autosave on exit, with the iteration in flight
        st = ui::readRun(w.runs()->autosavePath().toStdString());
        QVERIFY(st.iteration >= 4);
        QCOMPARE(int(st.history.size()), st.iteration);
        QCOMPARE(st.history.back().iteration, st.iteration);
        QCOMPARE(w.history()->iteration(), st.iteration);
        QVERIFY2(msgs.texts.isEmpty(), qPrintable(msgs.texts.join("\n")));
    }

    void badRunFilesKeepTheCurrentRun() {
        QTemporaryDir tmp;
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        Messages msgs;
        msgs.attach(w);
        stepIterations(w, 2);
        const QString good = tmp.filePath("good.trporun");
        QSignalSpy saved(w.runs(), &ui::RunController::runSaved);
        w.runs()->saveRun(good);
        QVERIFY(saved.wait(10000));
        const PlotContents before = plotContents(w);
        const std::string cfgBefore = core::configToJson(w.hyperparameterPanel()->config());

        const QString ckptRel = "checkpoints/latest.ckpt";
        const QByteArray ckpt = readBytes(QDir(good).filePath(ckptRel));
        const QByteArray hist = readBytes(QDir(good).filePath("history.jsonl"));
        const QByteArray manifest = readBytes(QDir(good).filePath("manifest.json"));
        const QByteArray cfgJson = readBytes(QDir(good).filePath("config.json"));
        QVERIFY(ckpt.size() > 100 && hist.size() > 100);

        struct Case {
            QString name, file;
            QByteArray bytes;
            QStringList expect; // words the message must contain (besides the file's name)
        };
        QByteArray wrongVersionCkpt = ckpt;
        wrongVersionCkpt[8] = 99;
        QByteArray newerManifest = manifest;
        newerManifest.replace("\"version\": 2", "\"version\": 99");
        QByteArray acroCfg = cfgJson;
        acroCfg.replace("CartPole-v1", "Acrobot-v1");
        QByteArray acroManifest = manifest;
        acroManifest.replace("CartPole-v1", "Acrobot-v1");
        QByteArray unknownEnvCfg = cfgJson;
        unknownEnvCfg.replace("CartPole-v1", "NoSuchEnv-v0");
        const std::vector<Case> cases = {
            {"empty checkpoint", ckptRel, QByteArray(), {"empty"}},
            {"truncated checkpoint", ckptRel, ckpt.left(ckpt.size() / 2), {"truncated"}},
            {"random checkpoint", ckptRel, randomBytes(4000, 7), {"not a TRPO Studio checkpoint"}},
            {"wrong-version checkpoint", ckptRel, wrongVersionCkpt, {"version 99"}},
            {"empty history", "history.jsonl", QByteArray(), {"holds 0 iterations"}},
            {"truncated history", "history.jsonl", hist.left(hist.size() / 2), {"iterations", "checkpoint"}},
            {"random history", "history.jsonl", randomBytes(3000, 11), {"not valid JSON"}},
            {"newer manifest", "manifest.json", newerManifest, {"version 99", "newer"}},
            {"unknown environment", "config.json", unknownEnvCfg, {"NoSuchEnv-v0"}},
        };
        int n = 0;
        for (const Case& c : cases) {
            const QString dir = tmp.filePath(QString("bad%1.trporun").arg(n++));
            copyDir(good, dir);
            writeBytes(QDir(dir).filePath(c.file), c.bytes);
            const int before = msgs.texts.size();
            w.runs()->openRun(dir);
            QTRY_VERIFY2_WITH_TIMEOUT(msgs.texts.size() == before + 1, qPrintable(c.name), 10000);
            const QString m = msgs.texts.last();
            QVERIFY2(m.contains(QDir(dir).filePath(c.file)), qPrintable(c.name + ": " + m));
            for (const QString& word : c.expect) QVERIFY2(m.contains(word), qPrintable(c.name + ": " + m));
        }
        // wrong environment: config and history say Acrobot, the checkpoint is CartPole's (found by the worker)
        {
            const QString dir = tmp.filePath("wrongenv.trporun");
            copyDir(good, dir);
            writeBytes(QDir(dir).filePath("config.json"), acroCfg);
            writeBytes(QDir(dir).filePath("manifest.json"), acroManifest);
            const int before = msgs.texts.size();
            QVERIFY(w.runs()->openRun(dir)); // readable; the trainer refuses it
            QTRY_VERIFY_WITH_TIMEOUT(msgs.texts.size() == before + 1, 10000);
            const QString m = msgs.texts.last();
            QVERIFY2(m.contains(QDir(dir).filePath(ckptRel)) && m.contains("CartPole-v1") && m.contains("Acrobot-v1"), qPrintable(m));
        }
        // no such directory
        {
            const int before = msgs.texts.size();
            QVERIFY(!w.runs()->openRun(tmp.filePath("missing.trporun")));
            QCOMPARE(msgs.texts.size(), before + 1);
            QVERIFY(msgs.texts.last().contains("missing.trporun"));
        }

        // nothing was lost
        QCOMPARE(w.iterationCount(), 2);
        QString why;
        QVERIFY2(samePlots(before, plotContents(w), &why), qPrintable(why));
        QCOMPARE(core::configToJson(w.hyperparameterPanel()->config()), cfgBefore);
        QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
        QCOMPARE(stepIterations(w, 1).iteration, 3);

        // a running run keeps running through a refused open
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        w.startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() >= 1, 30000);
        const int before2 = msgs.texts.size();
        QVERIFY(w.runs()->openRun(tmp.filePath("wrongenv.trporun")));
        QTRY_VERIFY_WITH_TIMEOUT(msgs.texts.size() == before2 + 1, 10000);
        QVERIFY(w.session()->isRunning());
        const int now = iterations.count();
        QTRY_VERIFY_WITH_TIMEOUT(iterations.count() > now + 1, 30000);
        w.pauseAction()->trigger();
    }

    void badPolicyFilesKeepTheCurrentRun() {
        QTemporaryDir tmp;
        MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(waitForRun(w));
        Messages msgs;
        msgs.attach(w);
        stepIterations(w, 1);
        const QString good = tmp.filePath("policy.json");
        QSignalSpy exported(w.runs(), &ui::RunController::policyExported);
        w.runs()->exportPolicy(good);
        QVERIFY(exported.wait(10000));
        const QByteArray text = readBytes(good);
        auto edited = [&](const char* key, const nlohmann::json& value) {
            nlohmann::json j = nlohmann::json::parse(text.toStdString());
            j[key] = value;
            return QByteArray::fromStdString(j.dump(1));
        };
        const QByteArray wrongVersion = edited("version", 7);
        const QByteArray wrongEnv = edited("env_id", "NoSuchEnv-v0");
        const QByteArray otherEnv = edited("env_id", "MountainCarContinuous-v0"); // CartPole's network: spaces differ

        struct Case {
            QString file;
            QByteArray bytes;
            QString expect;
        };
        const std::vector<Case> cases = {
            {"empty.json", QByteArray(), "empty"},
            {"truncated.json", text.left(text.size() / 2), "not valid JSON"},
            {"random.json", randomBytes(2000, 3), "not valid JSON"},
            {"version.json", wrongVersion, "version 7"},
            {"unknownenv.json", wrongEnv, "NoSuchEnv-v0"},
            {"otherenv.json", otherEnv, "do not match environment MountainCarContinuous-v0"},
            {"empty.ckpt", QByteArray(), "empty"},
            {"random.ckpt", randomBytes(5000, 5), "not a TRPO Studio checkpoint"},
        };
        for (const Case& c : cases) {
            const QString path = tmp.filePath(c.file);
            writeBytes(path, c.bytes);
            const int before = msgs.texts.size();
            QVERIFY2(!w.runs()->watchPolicy(path), qPrintable(c.file));
            QCOMPARE(msgs.texts.size(), before + 1);
            QVERIFY2(msgs.texts.last().contains(path) && msgs.texts.last().contains(c.expect), qPrintable(msgs.texts.last()));
            QVERIFY(!w.runs()->isWatching());
            QCOMPARE(w.envView()->environmentId(), QString("CartPole-v1"));
        }
        QVERIFY(!w.runs()->watchPolicy(tmp.filePath("nothing-here.json")));
        QVERIFY(msgs.texts.last().contains("nothing-here.json"));
        QCOMPARE(w.iterationCount(), 1);
    }
};

QTEST_MAIN(TestPersistence)
#include "test_persistence.moc"
