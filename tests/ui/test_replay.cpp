// Replay and ghost (README, "Replay and ghost"), offscreen through real clicks and signals: a
// click on the return plot replays that iteration's best episode, the bar's buttons and the
// Shift and Ctrl clicks the worst and the median, each replayed return equal to the recorded
// one (CartPole, discrete; Pendulum, continuous); Back to live; the episodes through Save run
// and Open run; their memory bound; the View menu's ghost for the latest and for a replayed
// iteration, and its refusal where π_old is not kept.
#include <QAction>
#include <QApplication>
#include <QFrame>
#include <QLabel>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <cmath>

#include "support/studio_test_util.h"
#include "ui/env_view.h"
#include "ui/main_window.h"
#include "ui/plot_panel.h"
#include "ui/plot_widget.h"
#include "ui/replay_controller.h"
#include "ui/run_controller.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

using core::EpisodeRank;
using ui::MainWindow;

namespace {

ui::StudioOptions fastOptions(const QString& env = "CartPole-v1") {
    ui::StudioOptions o;
    o.env = env;
    o.stepsPerIteration = 512;
    o.useSettings = false;
    o.autosave = false;
    o.pace = ui::Pace::max();
    return o;
}

// clicks the return plot at the pixel of an iteration, as a user would
void clickIteration(ui::PlotWidget* plot, int iteration, Qt::KeyboardModifiers keys = {}) {
    plot->refresh(false);
    plot->replot(QCustomPlot::rpImmediateRefresh);
    const int x = static_cast<int>(std::lround(plot->xAxis->coordToPixel(iteration)));
    QTest::mouseClick(plot, Qt::LeftButton, keys, QPoint(x, plot->axisRect()->center().y()));
}

// the return of the replay the viewer plays next to its end
double replayedReturn(ui::EnvView* view) {
    QSignalSpy finished(view, &ui::EnvView::replayFinished);
    if (!finished.wait(20000)) return NAN;
    return finished.first().at(0).toDouble();
}

} // namespace

class TestReplay : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("trpo-studio-test");
        QApplication::setApplicationName("test_replay");
    }

    void clickingTheReturnPlotReplaysAnEpisode() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        ui::EnvView* view = w.envView();
        view->setFrameRateOverride(1000); // as fast as the timer goes: the episode is the same
        testutil::stepIterations(w, 3);
        QCOMPARE(w.iterationCount(), 3);
        ui::ReplayController* replay = w.replay();
        QVERIFY(!replay->bar()->isVisible());

        // a plain click: the best episode of iteration 2
        const std::optional<core::IterationEpisodes> two = w.history()->episodes(2);
        QVERIFY(two && !two->empty());
        clickIteration(w.plotPanel()->returnPlot(), 2);
        QVERIFY(view->isReplaying());
        QCOMPARE(view->replayIteration(), 2);
        QCOMPARE(view->replayRank(), EpisodeRank::Best);
        QVERIFY(replay->bar()->isVisible());
        QVERIFY2(replay->barText()->text().contains("Replay: iteration 2, best episode"), qPrintable(replay->barText()->text()));
        QVERIFY(view->replayCaption().startsWith("Replay: iteration 2, best episode, return"));
        QCOMPARE(replayedReturn(view), two->best->ret);
        QCOMPARE(two->best->ret, *w.history()->record(1).returnMax);

        // the bar's Worst button
        QTest::mouseClick(replay->rankButton(EpisodeRank::Worst), Qt::LeftButton);
        QCOMPARE(view->replayRank(), EpisodeRank::Worst);
        QCOMPARE(replayedReturn(view), two->worst->ret);
        QCOMPARE(two->worst->ret, *w.history()->record(1).returnMin);

        // Ctrl-click: the median of iteration 3; Shift-click: its worst
        const std::optional<core::IterationEpisodes> three = w.history()->episodes(3);
        QVERIFY(three && !three->empty());
        clickIteration(w.plotPanel()->returnPlot(), 3, Qt::ControlModifier);
        QCOMPARE(view->replayIteration(), 3);
        QCOMPARE(view->replayRank(), EpisodeRank::Median);
        QCOMPARE(replayedReturn(view), three->median->ret);
        clickIteration(w.plotPanel()->returnPlot(), 3, Qt::ShiftModifier);
        QCOMPARE(view->replayRank(), EpisodeRank::Worst);
        QCOMPARE(replayedReturn(view), three->worst->ret);

        // training goes on meanwhile; the replay stays until Back to live
        testutil::stepIterations(w, 1);
        QVERIFY(view->isReplaying());
        QTest::mouseClick(replay->liveButton(), Qt::LeftButton);
        QVERIFY(!view->isReplaying());
        QVERIFY(!replay->bar()->isVisible());
        QCOMPARE(view->playingIteration(), 4);
    }

    void aContinuousEpisodeReplaysExactly() {
        MainWindow w(fastOptions("Pendulum-v1"));
        QVERIFY(testutil::waitForRun(w));
        w.envView()->setFrameRateOverride(1000);
        testutil::stepIterations(w, 2);
        const std::optional<core::IterationEpisodes> one = w.history()->episodes(1);
        QVERIFY(one && !one->empty());
        QCOMPARE(one->best->actionDim, 1);
        clickIteration(w.plotPanel()->returnPlot(), 1, Qt::ControlModifier);
        QCOMPARE(w.envView()->replayRank(), EpisodeRank::Median);
        QCOMPARE(replayedReturn(w.envView()), one->median->ret);
    }

    // without a live run directory the save writes the studio's episodes; the opened run
    // replays them
    void episodesGoWithASavedRun() {
        QTemporaryDir tmp;
        const QString runPath = tmp.filePath("saved.trporun");
        double recorded = 0;
        {
            MainWindow a(fastOptions());
            QVERIFY(testutil::waitForRun(a));
            testutil::stepIterations(a, 3);
            recorded = a.history()->episodes(3)->best->ret;
            QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
            a.runs()->saveRun(runPath);
            QVERIFY(saved.wait(10000));
        }
        MainWindow b(fastOptions());
        QVERIFY(testutil::waitForRun(b));
        b.envView()->setFrameRateOverride(1000);
        QSignalSpy opened(b.runs(), &ui::RunController::runOpened);
        QVERIFY(b.runs()->openRun(runPath));
        QVERIFY(opened.wait(10000));
        QVERIFY(b.history()->hasEpisodes(1) && b.history()->hasEpisodes(3));
        clickIteration(b.plotPanel()->returnPlot(), 3);
        QVERIFY(b.envView()->isReplaying());
        QCOMPARE(replayedReturn(b.envView()), recorded);
        // an opened run keeps only its last policy: the ghost says why it cannot compare
        QAction* ghost = b.findChild<QAction*>("actionGhost");
        ghost->trigger();
        QVERIFY(!ghost->isChecked());
        QVERIFY(!b.envView()->isGhostShown());
    }

    // the episodes follow the history's spill rule: the newest in memory within the bounds,
    // the older ones read back from the temporary file exactly
    void episodeMemoryIsBounded() {
        ui::RunHistory h;
        h.setEpisodeByteBound(200 * 1024);
        auto make = [](int iteration) {
            core::IterationEpisodes e;
            e.iteration = iteration;
            const std::vector<double> actions(4000, 0.25 + iteration); // 32 kB
            e.best = core::EpisodeRecord{std::uint64_t(iteration) * 3, 1, actions, 1.0 * iteration, 4000};
            e.median = core::EpisodeRecord{std::uint64_t(iteration) * 3 + 1, 1, {}, 0.5, 0};
            e.worst = core::EpisodeRecord{std::uint64_t(iteration) * 3 + 2, 1, {1.0}, -1.0 / 3.0, 1};
            return e;
        };
        for (int i = 1; i <= 40; ++i) h.appendEpisodes(make(i));
        QVERIFY(h.episodeBytesInMemory() <= 200 * 1024);
        QVERIFY(h.episodesInMemory() < 40);
        QVERIFY(h.episodesInMemory() >= 5);
        for (int i : {1, 17, 40}) {
            const std::optional<core::IterationEpisodes> back = h.episodes(i);
            QVERIFY(back);
            QVERIFY(*back == make(i));
        }
        QCOMPARE(h.allEpisodes().size(), std::size_t(40));
        QVERIFY(!h.episodes(41));
        // and at most kRecordsInMemory iterations, whatever their size
        ui::RunHistory small;
        for (int i = 1; i <= static_cast<int>(ui::RunHistory::kRecordsInMemory) + 20; ++i) {
            core::IterationEpisodes e;
            e.iteration = i;
            e.best = e.median = e.worst = core::EpisodeRecord{std::uint64_t(i), 1, {0.0}, 1.0, 1};
            small.appendEpisodes(e);
        }
        QCOMPARE(small.episodesInMemory(), ui::RunHistory::kRecordsInMemory);
        QCOMPARE(small.episodes(3)->best->seed, std::uint64_t(3));
    }

    void ghostComparesTheUpdate() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        ui::EnvView* view = w.envView();
        view->setFrameRateOverride(1000);
        QAction* ghost = w.findChild<QAction*>("actionGhost");
        QVERIFY(ghost);
        // after one iteration π_old (the untrained policy) was never sent: refused, unchecked
        testutil::stepIterations(w, 1);
        ghost->trigger();
        QVERIFY(!ghost->isChecked());
        QVERIFY(!view->isGhostShown());

        testutil::stepIterations(w, 2);
        ghost->trigger();
        QVERIFY(ghost->isChecked());
        QVERIFY(view->isGhostShown());
        QCOMPARE(view->ghostIteration(), 3);
        QCOMPARE(static_cast<int>(view->ghostKl().size()), view->ghostNewLength());
        double sum = 0;
        for (double k : view->ghostKl()) {
            QVERIFY(k >= 0);
            sum += k;
        }
        QVERIFY(sum > 0); // the update changed the policy
        QSignalSpy finished(view, &ui::EnvView::ghostFinished);
        QVERIFY(finished.wait(20000));
        QVERIFY(!view->grab().isNull()); // the overlay paints

        // a replayed iteration's ghost starts from its episode's seed
        clickIteration(w.plotPanel()->returnPlot(), 2);
        QVERIFY(view->isGhostShown());
        QCOMPARE(view->ghostIteration(), 2);
        QVERIFY2(view->ghostCaption().contains("best episode's seed"), qPrintable(view->ghostCaption()));
        // off: the replay plays again
        ghost->trigger();
        QVERIFY(!view->isGhostShown());
        QVERIFY(view->isReplaying());
        QCOMPARE(view->replayIteration(), 2);
    }

    // the colour scale runs from light to dark and is monotone in darkness
    void klColoursDarkenWithTheKl() {
        int last = 256 * 3;
        for (int i = 0; i <= 10; ++i) {
            const QColor c = ui::EnvView::klColour(i / 10.0, 1.0);
            const int lightness = c.red() + c.green() + c.blue();
            QVERIFY(lightness < last);
            last = lightness;
        }
        QCOMPARE(ui::EnvView::klColour(5.0, 1.0), ui::EnvView::klColour(1.0, 1.0));
    }
};

QTEST_MAIN(TestReplay)
#include "test_replay.moc"
