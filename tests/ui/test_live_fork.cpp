// Run > Fork… in the studio (ui/compare/fork_controller.h, README "Forks", "In the studio"),
// through real clicks on the offscreen platform: the dialog refuses bad values with a message
// naming them; a fork of CartPole at iteration k into two δ variants trains on its own thread,
// each variant is the parent up to k and, after it, exactly a resume of the run's checkpoint at k
// with its δ (progress rows, timing aside; done in-process as trpo-train --resume does it); the comparison's table fills while
// the variants train; closing the studio mid-fork returns promptly and leaves every variant a
// readable run that File > Open comparison opens; rolled-back iterations are drawn in grey.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <filesystem>
#include <qcustomplot.h>

#include "run/fork.h"
#include "support/studio_test_util.h"
#include "support/test_util.h"
#include "support/train_cli_util.h"
#include "sim/registry.h"
#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_controller.h"
#include "ui/compare/fork_dialog.h"
#include "ui/compare/fork_session.h"
#include "ui/main_window.h"
#include "ui/run_history.h"

namespace {

// how long the variants may take to train an iteration or two (sanitizers slow them 5-15 times)
constexpr int kWaitMs = testutil::kSanitized ? 30000 : 5000;

ui::StudioOptions options(const QString& runDirBase) {
    ui::StudioOptions o;
    o.useSettings = false;
    o.autosave = false;
    o.runDirBase = runDirBase;
    o.pace = ui::Pace::max();
    o.stepsPerIteration = 256;
    return o;
}

// opens Run > Fork… and returns its dialog
ui::ForkDialog* openDialog(ui::MainWindow& w) {
    w.forkAction()->trigger();
    ui::ForkDialog* d = w.forks()->dialog();
    return d && QTest::qWaitForWindowExposed(d) ? d : nullptr;
}

// A copy of the run directory `from` at `to`, resumed from its checkpoint for `iterations`
// more iterations with `key` = `value`, in-process through the calls trpo-train --resume makes
// (app/trpo_train.cpp): RunStore::open, loadCheckpoint, the hot change applied and recorded,
// then the iterations through RunSet (each appended and guarded as trpo-train does). No child
// process: ThreadSanitizer does not support one started from this multi-threaded test.
// Returns an error message, empty on success.
QString resumeCopy(const QString& from, const QString& to, const std::string& key, const std::string& value,
                   int iterations) {
    try {
        std::filesystem::copy(from.toStdString(), to.toStdString(), std::filesystem::copy_options::recursive);
        std::filesystem::remove_all(std::filesystem::path(to.toStdString()) / "forks");
        core::TrpoConfig cfg = run::readRun(to.toStdString()).config;
        core::setConfigValue(cfg, key, value);
        run::RunStore store = run::RunStore::open(to.toStdString(), "test_live_fork");
        core::Trainer trainer(cfg, sim::environmentFactory(cfg.env));
        store.loadCheckpoint(trainer);
        store.recordResume(trainer, "test_live_fork", trainer.applyHotConfig(cfg));
        run::RunSet set;
        set.add(key + "=" + value, std::move(trainer), std::move(store));
        run::Budget budget;
        budget.iterations = iterations;
        set.train(budget, 1, nullptr, {});
        if (set.member(0).why != "budget reached") return QString::fromStdString("stopped: " + set.member(0).why);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

// the window's Fork dialog filled in and Fork clicked; the fork's view, or null
ui::ComparisonView* forkWithDialog(ui::MainWindow& w, const QString& values, int iterations, const QString& dir) {
    ui::ForkDialog* d = openDialog(w);
    if (!d) return nullptr;
    d->valuesEdit()->setText(values);
    d->iterationsEdit()->setValue(iterations);
    d->directoryEdit()->setText(dir);
    if (!d->forkButton()->isEnabled()) return nullptr;
    QSignalSpy started(w.forks(), &ui::ForkController::forkStarted);
    QTest::mouseClick(d->forkButton(), Qt::LeftButton);
    if (started.count() == 0) return nullptr;
    return started.first().at(0).value<ui::ComparisonView*>();
}

constexpr int kAt = 3;

} // namespace

class TestLiveFork : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    QString path(const QString& name) const { return m_tmp.path() + "/" + name; }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(m_tmp.isValid());
    }

    // every bad entry gets a message naming it and Fork stays disabled
    void dialogValidates() {
        ui::MainWindow w(options(path("runs-dialog")));
        QVERIFY(testutil::waitForRun(w));
        testutil::stepIterations(w, 1);
        ui::ForkDialog* d = openDialog(w);
        QVERIFY(d);
        // δ/3, δ, 3δ of the run's δ to start with
        const double delta = w.session()->config().delta;
        QCOMPARE(d->valuesEdit()->text(), QString("%1, %2, %3")
                                              .arg(QString::number(delta / 3, 'g', 3), QString::number(delta, 'g', 3),
                                                   QString::number(delta * 3, 'g', 3)));
        QVERIFY(d->forkButton()->isEnabled());
        QVERIFY(d->messageLabel()->text().isEmpty());
        QVERIFY(d->directoryEdit()->text().startsWith(w.session()->runDirectory() + "/forks/at1-delta"));

        const struct {
            const char* values;
            const char* says;
        } bad[] = {{"0.01", "1 value given for delta"},
                   {"0.01, -1", "delta=-1"},
                   {"0.01, 0.010", "delta=0.010 is given twice"},
                   {"0.01, abc", "delta=abc"},
                   {"0.01,,0.02", "an empty value"},
                   {"1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3", "7 values given for delta"}};
        for (const auto& b : bad) {
            d->valuesEdit()->setText(b.values);
            QVERIFY2(d->messageLabel()->text().contains(b.says), qPrintable(d->messageLabel()->text()));
            QVERIFY(d->messageLabel()->text().startsWith("Values: "));
            QVERIFY(!d->forkButton()->isEnabled());
            QVERIFY(!d->request());
        }
        // the algorithm: its default list, and an unknown one named
        d->keyPicker()->setCurrentIndex(d->keyPicker()->findData("algo"));
        QCOMPARE(d->valuesEdit()->text(), QString("trpo, kl_penalty, ppo"));
        QVERIFY(d->forkButton()->isEnabled());
        QVERIFY(d->directoryEdit()->text().contains("/forks/at1-algo"));
        d->valuesEdit()->setText("trpo, warp");
        QVERIFY2(d->messageLabel()->text().contains("warp"), qPrintable(d->messageLabel()->text()));
        QVERIFY(!d->forkButton()->isEnabled());
        // a cold setting cannot be forked: it is not offered
        QCOMPARE(d->keyPicker()->findData("seed"), -1);
        QVERIFY(d->keyPicker()->findData("gamma") >= 0);
        // a folder that already holds something
        d->valuesEdit()->setText("trpo, ppo");
        QVERIFY(d->forkButton()->isEnabled());
        QVERIFY(QDir().mkpath(path("full/x")));
        d->directoryEdit()->setText(path("full"));
        QVERIFY2(d->messageLabel()->text().contains("exists and is not empty"), qPrintable(d->messageLabel()->text()));
        QVERIFY(!d->forkButton()->isEnabled());
        // Choose… puts the folder picked in the file dialog into the field, which is checked again
        QVERIFY(QDir().mkpath(path("picked/empty")));
        auto* choose = d->findChild<QPushButton*>("forkChooseDirectory");
        QVERIFY(choose);
        testutil::answerFileDialog(path("picked/empty"));
        QTest::mouseClick(choose, Qt::LeftButton);
        QCOMPARE(QDir(d->directoryEdit()->text()).canonicalPath(), QDir(path("picked/empty")).canonicalPath());
        QVERIFY2(d->messageLabel()->text().isEmpty(), qPrintable(d->messageLabel()->text()));
        QVERIFY(d->forkButton()->isEnabled());
        // and a dialog closed without a choice leaves the field as it was
        const QString kept = d->directoryEdit()->text();
        testutil::answerFileDialog(QString());
        QTest::mouseClick(choose, Qt::LeftButton);
        QCOMPARE(d->directoryEdit()->text(), kept);
        d->reject();
    }

    // the variants are the parent up to kAt and, after it, a resume of the run's checkpoint
    // at kAt with their δ (as trpo-train --resume makes it); the table fills while they train
    void forkEqualsParentAndResume() {
        ui::MainWindow w(options(path("runs-fork")));
        QVERIFY(testutil::waitForRun(w));
        testutil::stepIterations(w, kAt);
        QCOMPARE(w.iterationCount(), kAt);
        // a teaching pace: the variants' iterations arrive one by one, so the table fills
        // while they train
        w.setPace(ui::Pace::of(10));
        w.startAction()->trigger(); // Fork pauses a running run at its iteration boundary
        QTRY_VERIFY(w.session()->isRunning());
        const QString out = path("fork-delta");
        ui::ComparisonView* view = forkWithDialog(w, "0.003, 0.03", 4, out);
        QVERIFY(view);
        QVERIFY(!w.session()->isRunning());
        const int at = w.iterationCount(); // where the run was paused
        QVERIFY(at >= kAt);
        ui::ForkSession* fork = view->findChild<ui::ForkSession*>();
        QVERIFY(fork);
        QSignalSpy finished(fork, &ui::ForkSession::finished);
        QVERIFY(view->isVisible());
        QCOMPARE(view->table()->rowCount(), 2);
        QVERIFY(view->statusLabel()->text().startsWith("Training 2 variants side by side"));
        QVERIFY(view->stopButton()->isVisible());
        // the live table: each variant's final return appears before the fork has finished
        QTRY_VERIFY_WITH_TIMEOUT(view->summaries().size() == 2 && view->summaries()[0].iterations >= 1 &&
                                     view->summaries()[1].iterations >= 1 && view->table()->item(1, 1) &&
                                     view->table()->item(1, 1)->text() != "–",
                                 kWaitMs);
        QCOMPARE(finished.count(), 0);
        QVERIFY(fork->isRunning());
        w.setPace(ui::Pace::max()); // the rest at once
        QVERIFY(finished.count() > 0 || finished.wait(4 * kWaitMs));
        QVERIFY(!view->stopButton()->isVisible());
        QVERIFY(view->statusLabel()->text().startsWith("Done: every variant trained 4 iterations"));
        // the table shows every variant's last iteration as soon as the fork has finished
        QCOMPARE(view->summaries().size(), size_t(2));
        QCOMPARE(view->summaries()[0].iterations, 4);
        QCOMPARE(view->summaries()[1].iterations, 4);

        // on disk: the manifest and the variants, exactly as trpo-train --fork writes them
        const run::ForkManifest m = run::readForkManifest(out.toStdString());
        QCOMPARE(m.forkIteration, at);
        QCOMPARE(m.key, std::string("delta"));
        QCOMPARE(m.variants.size(), size_t(2));
        QCOMPARE(QDir(QString::fromStdString(m.parent.string())).canonicalPath(),
                 QDir(w.session()->runDirectory()).canonicalPath());
        const QStringList parentRows = testutil::progressRowsWithoutTiming(w.session()->runDirectory());
        QCOMPARE(parentRows.size(), at);
        for (const run::ForkVariant& v : m.variants) {
            const QString dir = QString::fromStdString(v.dir.string());
            const QStringList mine = testutil::progressRowsWithoutTiming(dir);
            QCOMPARE(mine.size(), at + 4);
            QCOMPARE(mine.mid(0, at), parentRows);
            // a run resumed from the forked checkpoint with the variant's δ
            const QString resumed = path("resumed-" + QString::fromStdString(v.value));
            const QString error = resumeCopy(w.session()->runDirectory(), resumed, "delta", v.value, 4);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QCOMPARE(mine, testutil::progressRowsWithoutTiming(resumed));
            // the live view showed exactly what is on disk
            const std::vector<core::IterationStats>& shown =
                view->histories()[static_cast<size_t>(&v - m.variants.data())];
            QCOMPARE(static_cast<int>(shown.size()), at + 4);
            QCOMPARE(QString::fromStdString(core::csvRow(shown.back())),
                     QString::fromStdString(core::csvRow(run::readRun(v.dir).history.back())));
        }
        QVERIFY(testutil::progressRowsWithoutTiming(path("resumed-0.003")) !=
                testutil::progressRowsWithoutTiming(path("resumed-0.03")));
        // the variants' table equals trpo-train's numbers (run::summarize) from the files
        const ui::ComparisonView* reopened = w.openComparison(out);
        QVERIFY(reopened);
        QCOMPARE(reopened->table()->item(0, 1)->text(), view->table()->item(0, 1)->text());
        QCOMPARE(reopened->table()->item(1, 4)->text(), view->table()->item(1, 4)->text());
    }

    // closing the studio while a fork trains: prompt, and every variant is a readable run
    void closingMidForkIsPrompt() {
        const QString out = path("fork-closed");
        {
            ui::MainWindow w(options(path("runs-close")));
            QVERIFY(testutil::waitForRun(w));
            testutil::stepIterations(w, 2);
            w.setPace(ui::Pace::of(0.5)); // the variants wait two seconds between iterations
            ui::ComparisonView* view = forkWithDialog(w, "0.005, 0.02, 0.08", 200, out);
            QVERIFY(view);
            ui::ForkSession* fork = view->findChild<ui::ForkSession*>();
            QVERIFY(fork);
            // each variant trained one iteration (they run side by side: one may finish it last)
            QTRY_VERIFY_WITH_TIMEOUT(view->histories()[0].size() >= 3 && view->histories()[1].size() >= 3 &&
                                         view->histories()[2].size() >= 3,
                                     kWaitMs);
            QVERIFY(fork->isRunning());
            QElapsedTimer clock;
            clock.start();
            w.close();
            // a variant may be part way through an iteration, which a sanitizer makes 5-15 times longer
            QVERIFY2(clock.elapsed() < (testutil::kSanitized ? 5000 : 1000), qPrintable(QString::number(clock.elapsed())));
            QVERIFY(!fork->isRunning());
            QCOMPARE(fork->outcomes(), std::vector<std::string>(3, "interrupted"));
        }
        const run::ForkManifest m = run::readForkManifest(out.toStdString());
        for (const run::ForkVariant& v : m.variants) {
            const run::RunContents r = run::readRun(v.dir);
            QVERIFY(r.history.size() >= 3);
            QCOMPARE(r.manifest.checkpointIteration, static_cast<int>(r.history.size()));
            QVERIFY(std::holds_alternative<run::Stopped>(r.events.back().what));
            QCOMPARE(std::get<run::Stopped>(r.events.back().what).reason, std::string("interrupted"));
        }
        // and the fork opens again as a comparison
        ui::ComparisonView view;
        view.openFork(out.toStdString());
        QCOMPARE(view.table()->rowCount(), 3);
    }

    // A fork continues from its comparison window: Continue trains every variant on from its
    // checkpoint into the same folders, live, exactly as if it had never stopped (the rows
    // equal a fork trained straight through); File > Open comparison offers the same.
    void continueAFork() {
        const QString out = path("fork-continued");
        ui::MainWindow w(options(path("runs-continue")));
        QStringList errors; // an error box would block the test: every message is recorded instead
        w.setMessageHook([&](const QString&, const QString& text) { errors << text; });
        QVERIFY(testutil::waitForRun(w));
        testutil::stepIterations(w, 2);
        QSignalSpy finished(w.forks(), &ui::ForkController::forkFinished);
        ui::ComparisonView* view = forkWithDialog(w, "0.005, 0.02", 2, out);
        QVERIFY(view);
        QVERIFY(!view->continueButton()->isVisible()); // not while it trains
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
        QVERIFY(view->continueButton()->isVisible());
        const run::ForkManifest m = run::readForkManifest(out.toStdString());
        std::vector<QStringList> before;
        for (const run::ForkVariant& v : m.variants) {
            QCOMPARE(static_cast<int>(run::readRun(v.dir).history.size()), 4);
            before.push_back(testutil::progressRowsWithoutTiming(QString::fromStdString(v.dir.string())));
        }

        view->continueIterations()->setValue(3);
        QTest::mouseClick(view->continueButton(), Qt::LeftButton);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
        QVERIFY(!view->continueButton()->isVisible());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWaitMs);
        QVERIFY(view->continueButton()->isVisible());
        QVERIFY2(view->statusLabel()->text().startsWith("Done"), qPrintable(view->statusLabel()->text()));
        for (size_t i = 0; i < m.variants.size(); ++i) {
            const run::RunContents r = run::readRun(m.variants[i].dir);
            QCOMPARE(static_cast<int>(r.history.size()), 7);
            QCOMPARE(r.manifest.checkpointIteration, 7);
            const QStringList rows = testutil::progressRowsWithoutTiming(QString::fromStdString(m.variants[i].dir.string()));
            QCOMPARE(rows.mid(0, before[i].size()), before[i]);
            bool resumed = false;
            for (const run::Event& e : r.events)
                if (const auto* x = std::get_if<run::Resumed>(&e.what))
                    resumed |= e.iteration == 4 && x->source == "trpo-studio";
            QVERIFY(resumed);
            // the live view shows what is on disk
            QCOMPARE(static_cast<int>(view->histories()[i].size()), 7);
            QCOMPARE(QString::fromStdString(core::csvRow(view->histories()[i].back())),
                     QString::fromStdString(core::csvRow(r.history.back())));
        }

        // the same variants trained five iterations without a stop: the same rows
        const QString straight = path("fork-straight");
        QVERIFY(forkWithDialog(w, "0.005, 0.02", 5, straight));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, kWaitMs);
        const run::ForkManifest ms = run::readForkManifest(straight.toStdString());
        for (size_t i = 0; i < m.variants.size(); ++i)
            QCOMPARE(testutil::progressRowsWithoutTiming(QString::fromStdString(m.variants[i].dir.string())),
                     testutil::progressRowsWithoutTiming(QString::fromStdString(ms.variants[i].dir.string())));

        // opened from disk, the fork continues too
        ui::ComparisonView* reopened = w.openComparison(out);
        QVERIFY(reopened);
        QVERIFY(reopened->continueButton()->isVisible());
        reopened->continueIterations()->setValue(1);
        QTest::mouseClick(reopened->continueButton(), Qt::LeftButton);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 4, kWaitMs);
        for (const run::ForkVariant& v : m.variants) QCOMPARE(static_cast<int>(run::readRun(v.dir).history.size()), 8);
        QCOMPARE(static_cast<int>(reopened->histories()[0].size()), 8);
    }

    // the guardrail's rolled-back iterations leave the variant's colour for grey
    void rollbacksAreGrey() {
        ui::ComparisonView view;
        run::ForkManifest m;
        m.env = "CartPole-v1";
        m.forkIteration = 2;
        m.key = "delta";
        m.variants = {{"0.01", "a"}, {"1", "b"}};
        std::vector<core::IterationStats> shared(2);
        for (int i = 0; i < 2; ++i) {
            shared[static_cast<size_t>(i)].iteration = i + 1;
            shared[static_cast<size_t>(i)].recentReturnMean = 20.0 + i;
            shared[static_cast<size_t>(i)].accepted = true;
            shared[static_cast<size_t>(i)].klMean = 0.01;
        }
        view.beginLive(m, shared, {}, 5);
        for (int i = 3; i <= 6; ++i) {
            core::IterationStats s = shared[0];
            s.iteration = i;
            s.recentReturnMean = 30.0 + i;
            view.appendIteration(0, s);
            view.appendIteration(1, s);
        }
        view.markRolledBack(1, 4, 5);
        QTRY_COMPARE(view.rolledBackGraphCount(), 1);
        // variant b's own line has a gap at 4 and 5; the grey graph holds them
        QCPGraph* b = view.returnPlot()->graph(2);
        QCPGraph* grey = view.returnPlot()->graph(3);
        QCOMPARE(grey->pen().color(), QColor(165, 165, 165));
        int gaps = 0, greyPoints = 0;
        for (auto it = b->data()->constBegin(); it != b->data()->constEnd(); ++it)
            if (std::isnan(it->value)) {
                QVERIFY(it->key == 4 || it->key == 5);
                ++gaps;
            }
        for (auto it = grey->data()->constBegin(); it != grey->data()->constEnd(); ++it)
            if ((it->key == 4 || it->key == 5) && !std::isnan(it->value)) ++greyPoints;
        QCOMPARE(gaps, 2);
        QCOMPARE(greyPoints, 2);
        // variant a is untouched
        QCPGraph* a = view.returnPlot()->graph(1);
        for (auto it = a->data()->constBegin(); it != a->data()->constEnd(); ++it) QVERIFY(!std::isnan(it->value));
    }
};

QTEST_MAIN(TestLiveFork)
#include "test_live_fork.moc"
