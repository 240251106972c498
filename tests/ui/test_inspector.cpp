// The teaching tools of the studio, driven through real widgets and real signals, offscreen:
// the trust-region inspector (a real run's probe on the chart, every-iteration probes and a
// click on a time plot), the δ what-if fan (a row click is a marked hot change of δ, undone by
// Edit → Undo), the honest plots (a rejected step is a red cross at its last trial's KL, never
// a 0; the KL budget; explained variance before the fit, NaN as a gap, clamped to [-1, 1]) and
// the divergence guardrail (a NaN environment pauses the run, the banner explains, Roll back
// restores the state and the plots grey the undone iteration).
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstring>

#include "core/presets.h"
#include "run/run_store.h"
#include "sim/registry.h"
#include "support/scripted_environment.h"
#include "support/studio_test_util.h"
#include "support/test_util.h"
#include "ui/hyperparameter_panel.h"
#include "ui/main_window.h"
#include "ui/plot_panel.h"
#include "ui/plot_widget.h"
#include "ui/run_controller.h"
#include "ui/run_file.h"
#include "ui/run_history.h"
#include "ui/run_lifecycle.h"
#include "ui/teach/guardrail_banner.h"
#include "ui/teach/inspector_dock.h"
#include "ui/teach/trust_region_plot.h"
#include "ui/training_session.h"

using ui::MainWindow;
using ui::TrainingSession;

namespace {

ui::StudioOptions fastOptions() {
    ui::StudioOptions o;
    o.env = "CartPole-v1";
    o.stepsPerIteration = 256;
    o.useSettings = false;
    o.autosave = false;
    o.pace = ui::Pace::max(); // the teaching pace (1 iteration a second) would only slow the tests
    return o;
}

// the (key, value) points of a graph, in key order
std::vector<std::pair<double, double>> points(const QCPGraph* g) {
    std::vector<std::pair<double, double>> out;
    for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.emplace_back(it->key, it->value);
    return out;
}

// the chart's four curves hold exactly the probe's 31 points
void verifyCurves(const ui::TrustRegionPlot* plot, const core::TrustRegionProbe& p) {
    QCOMPARE(p.curve.size(), size_t(31));
    const auto surrogate = points(plot->surrogateGraph()), linear = points(plot->linearModelGraph()),
               kl = points(plot->klGraph()), quadratic = points(plot->quadraticModelGraph());
    QCOMPARE(surrogate.size(), size_t(31));
    QCOMPARE(linear.size(), size_t(31));
    QCOMPARE(kl.size(), size_t(31));
    QCOMPARE(quadratic.size(), size_t(31));
    for (size_t i = 0; i < 31; ++i) {
        const core::ProbePoint& c = p.curve[i];
        QCOMPARE(surrogate[i].first, c.alpha);
        QCOMPARE(surrogate[i].second, c.surrogateChange);
        QCOMPARE(linear[i].second, c.linearModel);
        QCOMPARE(kl[i].second, c.klMean);
        QCOMPARE(quadratic[i].second, c.quadraticModel);
    }
    QCOMPARE(p.curve.front().alpha, 0.0);
    QCOMPARE(p.curve.back().alpha, 1.5);
}

// accepted trials are the green discs, rejected ones the red crosses, at (fraction, KL)
void verifyTrials(const ui::TrustRegionPlot* plot, const core::TrustRegionProbe& p) {
    std::vector<std::pair<double, double>> accepted, rejected;
    for (const core::LineSearchTrial& t : p.trials) (t.accepted ? accepted : rejected).emplace_back(t.fraction, t.kl);
    std::sort(accepted.begin(), accepted.end());
    std::sort(rejected.begin(), rejected.end());
    QCOMPARE(points(plot->acceptedTrialGraph()), accepted);
    QCOMPARE(points(plot->rejectedTrialGraph()), rejected);
    QCOMPARE(plot->acceptedTrialGraph()->scatterStyle().shape(), QCPScatterStyle::ssDisc);
    QCOMPARE(plot->rejectedTrialGraph()->scatterStyle().shape(), QCPScatterStyle::ssCross);
}

// clicks a time plot at the pixel of an iteration, as a user would
void clickIteration(ui::PlotWidget* plot, int iteration) {
    plot->refresh(false);
    plot->replot(QCustomPlot::rpImmediateRefresh);
    const int x = static_cast<int>(std::lround(plot->xAxis->coordToPixel(iteration)));
    const int y = plot->axisRect()->center().y();
    QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(x, y));
}

ui::ProbePtr lastProbe(const QSignalSpy& spy) { return spy.last().at(0).value<ui::ProbePtr>(); }

using testutil::sameBits;

// the learned part of a captured run (what a rollback restores), read from its checkpoint
core::TrainerState learnedState(const ui::RunStatePtr& st) {
    core::Trainer t(st->config, sim::environmentFactory(st->config.env));
    t.loadState(st->checkpoint);
    return t.state();
}

} // namespace

class TestInspector : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("trpo-studio-test");
        QApplication::setApplicationName("test_inspector");
    }

    // a CartPole run, three steps, then the real Inspect latest button: the chart holds the
    // probe the worker computed, and it describes the iteration the history holds
    void inspectLatestShowsTheProbe() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        ui::InspectorDock* dock = w.inspector();
        QVERIFY(!dock->isVisible());
        QAction* view = w.findChild<QAction*>("actionInspector");
        QVERIFY(view);
        view->trigger();
        QVERIFY(dock->isVisible());
        QCOMPARE(dock->mode(), ui::InspectorDock::Mode::OnDemand);
        QSignalSpy probes(w.session(), &TrainingSession::probeReady);
        const core::IterationStats last = testutil::stepIterations(w, 3);
        QCOMPARE(last.iteration, 3);
        QCOMPARE(probes.count(), 0); // on demand: nothing computed yet
        QCOMPARE(last.secondsProbe, 0.0);

        QTest::mouseClick(dock->inspectButton(), Qt::LeftButton);
        QVERIFY(probes.wait(10000));
        const ui::ProbePtr p = lastProbe(probes);
        QVERIFY(p);
        QCOMPARE(p->iteration, 3);
        QCOMPARE(dock->shownProbe(), p);
        verifyCurves(dock->plot(), *p);
        verifyTrials(dock->plot(), *p);
        // the probe's trials are the iteration's own line search
        QCOMPARE(p->trials.size(), last.trials.size());
        for (size_t i = 0; i < p->trials.size(); ++i) {
            QCOMPARE(p->trials[i].fraction, last.trials[i].fraction);
            QCOMPARE(p->trials[i].kl, last.trials[i].kl);
            QCOMPARE(p->trials[i].accepted, last.trials[i].accepted);
        }
        QCOMPARE(p->beta, last.beta);
        QCOMPARE(p->delta, last.delta);
        QCOMPARE(dock->plot()->deltaLabel(), QString("δ = 0.01"));
        QCOMPARE(dock->plot()->deltaLine()->point1->coords().y(), 0.01);
        QVERIFY(dock->plot()->trialLabels().contains("accepted") == last.accepted);
        // the title: rounded numbers, exact ones on hover
        const QString title = dock->titleLabel()->text();
        QVERIFY2(title.contains("Iteration 3"), qPrintable(title));
        QVERIFY2(title.contains(QString("β = %1").arg(QString::number(p->beta, 'g', 3))), qPrintable(title));
        QVERIFY2(title.contains(QString("xᵀFx = %1").arg(QString::number(p->xFx, 'g', 3))), qPrintable(title));
        QVERIFY(dock->titleLabel()->toolTip().contains(QString::number(p->beta, 'g', 10)));
    }

    // every iteration: one probe per iteration, kept; a click on the return plot at an
    // iteration shows that iteration's probe; an iteration without one says why
    void everyIterationProbesAndPlotClicks() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        ui::InspectorDock* dock = w.inspector();
        w.showInspector();
        dock->modeBox()->setCurrentIndex(0); // "every iteration"
        QCOMPARE(dock->mode(), ui::InspectorDock::Mode::EveryIteration);
        QSignalSpy probes(w.session(), &TrainingSession::probeReady);
        testutil::stepIterations(w, 4);
        QTRY_COMPARE_WITH_TIMEOUT(probes.count(), 4, 10000);
        for (int i = 0; i < 4; ++i) QCOMPARE(probes.at(i).at(0).value<ui::ProbePtr>()->iteration, i + 1);
        QCOMPARE(dock->store().size(), size_t(4));
        // it follows the latest (drawing at most a few times a second)
        QTRY_COMPARE_WITH_TIMEOUT(dock->shownProbe()->iteration, 4, 2000);
        // the probe's cost is in the stats and has its own series in the time plot
        for (const core::IterationStats& s : w.history()->iterations()) QVERIFY(s.secondsProbe > 0);
        ui::PlotWidget* speed = w.plotPanel()->speedPlot();
        int probeSeries = -1;
        for (int i = 0; i < speed->seriesCount(); ++i)
            if (speed->seriesGraph(i)->name() == "probe") probeSeries = i;
        QVERIFY(probeSeries >= 0);
        QCOMPARE(speed->rawValues(probeSeries).back(), 1e3 * w.history()->iterations().back().secondsProbe);

        // a click on iteration 2 of the return plot
        clickIteration(w.plotPanel()->returnPlot(), 2);
        QCOMPARE(dock->shownProbe()->iteration, 2);
        verifyCurves(dock->plot(), *dock->store().find(2));
        verifyTrials(dock->plot(), *dock->store().find(2));
        QVERIFY(dock->titleLabel()->text().contains("Iteration 2"));
        // a clicked iteration stays while training goes on; Inspect latest follows again
        testutil::stepIterations(w, 1);
        QTRY_COMPARE_WITH_TIMEOUT(probes.count(), 5, 10000);
        QCOMPARE(dock->shownProbe()->iteration, 2);
        QTest::mouseClick(dock->inspectButton(), Qt::LeftButton);
        QCOMPARE(dock->shownProbe()->iteration, 5);

        // on demand again: iteration 6 has no probe, and a click on it says so
        dock->modeBox()->setCurrentIndex(1);
        testutil::stepIterations(w, 1);
        QTest::qWait(200);
        QCOMPARE(probes.count(), 5);
        QCOMPARE(w.history()->iterations().back().secondsProbe, 0.0);
        clickIteration(w.plotPanel()->klPlot(), 6);
        QVERIFY(dock->messageLabel()->isVisibleTo(dock));
        QCOMPARE(dock->messageLabel()->text(),
                 QString("Iteration 6 was not inspected: choose 'every iteration', or pause and press Inspect latest."));
    }

    // the bounded store says so when an older probe is gone
    void probeStoreIsBounded() {
        ui::ProbeStore store(3);
        for (int i = 1; i <= 5; ++i) {
            auto p = std::make_shared<core::TrustRegionProbe>();
            p->iteration = i;
            store.add(p);
        }
        QCOMPARE(store.size(), size_t(3));
        QVERIFY(!store.find(2) && store.wasDropped(2));
        QVERIFY(store.find(3) && !store.wasDropped(3));
        QCOMPARE(store.latest()->iteration, 5);
        QVERIFY(!store.wasDropped(9));
    }

    // the fan: five rows; a click on one is a hot change of δ, marked on the plots as a
    // what-if, used by the next iteration; Edit → Undo puts the old δ back, again marked
    void whatIfRowSetsDeltaAndUndoRestoresIt() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        ui::InspectorDock* dock = w.inspector();
        w.showInspector();
        QSignalSpy shown(dock, &ui::InspectorDock::probeShown);
        testutil::stepIterations(w, 2);
        QTest::mouseClick(dock->inspectButton(), Qt::LeftButton);
        QVERIFY(shown.wait(10000));
        const ui::ProbePtr p = dock->shownProbe();
        QTableWidget* fan = dock->fanTable();
        QCOMPARE(fan->rowCount(), 5);
        QCOMPARE(p->fan.size(), size_t(5));
        for (int row = 0; row < 5; ++row) {
            const core::WhatIfStep& s = p->fan[static_cast<size_t>(row)];
            QCOMPARE(fan->item(row, 0)->text(), QString::number(s.delta, 'g', 3));
            QCOMPARE(fan->verticalHeaderItem(row)->text(), ui::TrustRegionPlot::relativeDelta(s.delta, p->delta));
            QCOMPARE(fan->item(row, 1)->text(), QString::number(s.beta, 'g', 3));
            QCOMPARE(fan->item(row, 2)->text(), s.accepted ? QString::number(s.fraction, 'g', 3) : fan->item(row, 2)->text());
            if (!s.accepted) QVERIFY(fan->item(row, 2)->text().startsWith("rejected"));
        }
        // a diamond for each what-if step inside the chart; the others are named in a note
        int drawn = 0;
        for (int i = 0; i < 5; ++i)
            if (std::isfinite(dock->plot()->whatIfPixel(i).x())) ++drawn;
        QVERIFY(drawn >= 1);
        QCOMPARE(dock->plot()->whatIfGraph()->dataCount(), drawn);

        // row 3 is 3δ = 0.03
        QSignalSpy applied(w.session(), &TrainingSession::configApplied);
        QTest::mouseClick(fan->viewport(), Qt::LeftButton, {}, fan->visualItemRect(fan->item(3, 0)).center());
        QVERIFY(applied.wait(10000));
        auto events = applied.last().at(0).value<std::vector<core::ConfigEvent>>();
        QCOMPARE(events.size(), size_t(1));
        QCOMPARE(events[0].key, std::string("delta"));
        QCOMPARE(std::stod(events[0].to), 0.03);
        QCOMPARE(w.session()->config().delta, 0.03);
        QCOMPARE(w.hyperparameterPanel()->config().delta, 0.03);
        for (ui::PlotWidget* plot : w.plotPanel()->timePlots()) {
            QCOMPARE(plot->markerCount(), 1);
            QCOMPARE(plot->markerLabel(0), QString("δ 0.01 → 0.03 (what-if)"));
        }
        QCOMPARE(testutil::stepIterations(w, 1).delta, 0.03);

        // Edit → Undo
        QAction* undo = w.findChild<QAction*>("actionUndo");
        QVERIFY(undo && undo->isEnabled());
        undo->trigger();
        QVERIFY(applied.wait(10000));
        events = applied.last().at(0).value<std::vector<core::ConfigEvent>>();
        QCOMPARE(std::stod(events[0].to), 0.01);
        QCOMPARE(w.session()->config().delta, 0.01);
        QCOMPARE(w.hyperparameterPanel()->config().delta, 0.01);
        for (ui::PlotWidget* plot : w.plotPanel()->timePlots()) {
            QCOMPARE(plot->markerCount(), 2);
            QCOMPARE(plot->markerLabel(1), QString("δ 0.03 → 0.01 (what-if undone)"));
        }
        QCOMPARE(testutil::stepIterations(w, 1).delta, 0.01);

        // a click on the δ/10 diamond of the chart does what its row does
        QSignalSpy shownAgain(dock, &ui::InspectorDock::probeShown);
        QTest::mouseClick(dock->inspectButton(), Qt::LeftButton);
        QVERIFY(shownAgain.count() > 0 || shownAgain.wait(10000));
        dock->plot()->replot(QCustomPlot::rpImmediateRefresh);
        const QPointF diamond = dock->plot()->whatIfPixel(0);
        QVERIFY(std::isfinite(diamond.x()));
        QTest::mouseClick(dock->plot(), Qt::LeftButton, {}, diamond.toPoint());
        QVERIFY(applied.wait(10000));
        QCOMPARE(w.session()->config().delta, ui::InspectorDock::roundedDelta(dock->shownProbe()->fan[0].delta));
        QCOMPARE(w.session()->config().delta, 0.001);
    }

    // δ = 1 with no backtracking rejects the first step of this seeded run (the full step's
    // KL is 1.34 > δ): the KL plot shows that KL as a red cross, and no 0 on its line
    void rejectedStepIsShownAsRejected() {
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
        cfg.stepsPerIteration = 256;
        cfg.seed = 1;
        cfg.delta = 1.0;
        cfg.maxBacktracks = 0;
        QSignalSpy resets(&w, &MainWindow::runReset);
        w.lifecycle()->reset(cfg);
        QVERIFY(resets.wait(10000));
        const core::IterationStats s = testutil::stepIterations(w, 1);
        QCOMPARE(s.iteration, 1);
        QVERIFY(!s.accepted);
        QCOMPARE(s.outcome, core::LineSearchOutcome::KlExceeded);
        QCOMPARE(s.klMean, 0.0);
        QVERIFY(s.trialKlLast > 1.0);

        // KL plot: the line has no point for it; the red cross sits at the last trial's KL
        ui::PlotWidget* kl = w.plotPanel()->klPlot();
        kl->refresh(false);
        QCOMPARE(kl->seriesGraph(0)->dataCount(), 0);
        QVERIFY(std::isnan(kl->rawValues(0).front()));
        int crosses = -1;
        for (int i = 0; i < kl->seriesCount(); ++i)
            if (kl->seriesGraph(i)->scatterStyle().shape() == QCPScatterStyle::ssCross) crosses = i;
        QVERIFY(crosses >= 0);
        QCOMPARE(points(kl->seriesGraph(crosses)), (std::vector<std::pair<double, double>>{{1.0, s.trialKlLast}}));
        QVERIFY(kl->seriesGraph(crosses)->name().startsWith("rejected"));

        // the budget plot: KL / δ with the line at 1; the rejected step as a cross at 1.34
        ui::PlotWidget* budget = w.plotPanel()->budgetPlot();
        budget->refresh(false);
        QCOMPARE(budget->horizontalLine(), std::optional<double>(1.0));
        QCOMPARE(budget->seriesGraph(0)->dataCount(), 0);
        QCOMPARE(points(budget->seriesGraph(1)), (std::vector<std::pair<double, double>>{{1.0, s.trialKlLast / 1.0}}));

        // improvement: the rejected step is a cross at its last trial's actual improvement
        ui::PlotWidget* improvement = w.plotPanel()->improvementPlot();
        improvement->refresh(false);
        QCOMPARE(improvement->seriesGraph(0)->dataCount(), 0);
        QCOMPARE(improvement->seriesGraph(1)->dataCount(), 0);
        QCOMPARE(points(improvement->seriesGraph(2)),
                 (std::vector<std::pair<double, double>>{{1.0, s.trials.back().actualImprovement}}));

        // the inspector marks the trial rejected, with its reason
        ui::InspectorDock* dock = w.inspector();
        QSignalSpy shown(dock, &ui::InspectorDock::probeShown);
        w.showInspector();
        QVERIFY(dock->isVisible());
        QVERIFY(shown.wait(10000)); // opened while paused: it asks by itself
        QCOMPARE(dock->shownProbe()->iteration, 1);
        QCOMPARE(dock->plot()->acceptedTrialGraph()->dataCount(), 0);
        QCOMPARE(dock->plot()->rejectedTrialGraph()->dataCount(), 1);
        QCOMPARE(dock->plot()->trialLabels(), QStringList{QString("KL %1 > δ").arg(QString::number(s.trialKlLast, 'g', 3))});
    }

    // a CartPole whose copies return NaN at their step 300: the studio pauses by itself after
    // that iteration, the banner explains, Roll back restores the state bit for bit, the plots
    // grey the undone iteration, the run directory records it, and Start goes on from there
    void guardrailPausesExplainsAndRollsBack() {
        sim::registerEnvironment("NaNCartPole-test", testutil::nanAtStep(sim::environmentFactory("CartPole-v1"), 300));
        QTemporaryDir runs;
        QVERIFY(runs.isValid());
        ui::StudioOptions o = fastOptions();
        o.runDirBase = runs.path();
        MainWindow w(o);
        QVERIFY(testutil::waitForRun(w));
        core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
        cfg.env = "NaNCartPole-test";
        cfg.stepsPerIteration = 256; // two copies of 128 steps: step 300 falls in iteration 3
        QSignalSpy resets(&w, &MainWindow::runReset);
        w.lifecycle()->reset(cfg);
        QVERIFY(resets.wait(10000));
        QCOMPARE(testutil::stepIterations(w, 2).divergence, core::Divergence::None);
        const ui::RunStatePtr before = w.session()->captureStateNow();
        QVERIFY(before && before->iteration == 2);

        // Start: iteration 3 diverges and training pauses by itself
        QSignalSpy diverged(w.session(), &TrainingSession::divergenceDetected);
        QSignalSpy iterations(w.session(), &TrainingSession::iterationFinished);
        w.startAction()->trigger();
        QVERIFY(diverged.wait(20000));
        const auto bad = diverged.at(0).at(0).value<core::IterationStats>();
        QCOMPARE(bad.iteration, 3);
        QCOMPARE(bad.divergence, core::Divergence::NonFiniteEnvironment);
        QVERIFY(std::isnan(bad.explainedVarianceBefore));
        QVERIFY(!w.session()->isRunning());
        QVERIFY(w.startAction()->isEnabled());
        QTest::qWait(500);
        QCOMPARE(iterations.count(), 1); // nothing ran after it
        QCOMPARE(w.history()->size(), 3);

        // the banner says what happened, in words
        ui::GuardrailBanner* banner = w.guardrailBanner();
        QVERIFY(banner->isVisible());
        const QString text = banner->textLabel()->text();
        QVERIFY2(text.contains("NaN") && text.contains("Iteration 3"), qPrintable(text));
        // the worker's words: core::explainDivergence (for an environment fault it needs only the stats)
        QCOMPARE(diverged.at(0).at(1).toString().toStdString(), core::explainDivergence(bad, core::GuardMemory{}, cfg));
        QVERIFY(banner->rollBackButton()->isVisible() && banner->keepGoingButton()->isVisible());

        // Roll back
        QSignalSpy rolled(w.session(), &TrainingSession::rolledBack);
        QTest::mouseClick(banner->rollBackButton(), Qt::LeftButton);
        QVERIFY(rolled.wait(10000));
        QCOMPARE(rolled.at(0).at(0).toInt(), 3);
        QCOMPARE(rolled.at(0).at(1).toInt(), 2);
        QVERIFY(banner->isVisible());
        QVERIFY(banner->textLabel()->text().contains("Rolled back"));
        const ui::RunStatePtr after = w.session()->captureStateNow();
        QVERIFY(after && after->iteration == 3); // the counters go on
        const core::TrainerState a = learnedState(before), b = learnedState(after);
        QVERIFY(sameBits(a.theta, b.theta));
        QVERIFY(sameBits(a.critic, b.critic));
        QVERIFY(sameBits(a.obsStats.mean, b.obsStats.mean) && sameBits(a.obsStats.var, b.obsStats.var));
        QVERIFY(sameBits(a.rewardStats.mean, b.rewardStats.mean) && sameBits(a.rewardStats.var, b.rewardStats.var));
        QVERIFY(b.theta.allFinite() && b.critic.allFinite() && b.obsStats.mean.allFinite() && b.obsStats.var.allFinite() &&
                b.rewardStats.mean.allFinite() && b.rewardStats.var.allFinite());

        // the plots keep iteration 3, in grey
        QVERIFY(w.history()->isRolledBack(3));
        QVERIFY(!w.history()->isRolledBack(2));
        ui::PlotWidget* speed = w.plotPanel()->speedPlot();
        speed->refresh(false);
        const QCPGraph* grey = speed->rolledBackGraph(0);
        QVERIFY(grey);
        bool greyHas3 = false;
        for (const auto& [x, y] : points(grey))
            if (x == 3.0) greyHas3 = y == 1e3 * bad.secondsSampling;
        QVERIFY(greyHas3);
        for (const auto& [x, y] : points(speed->seriesGraph(0)))
            if (x == 3.0) QVERIFY(std::isnan(y));
        QCOMPARE(grey->pen().color(), QColor(165, 165, 165));
        auto* note = w.findChild<QLabel*>("rolledBackNote");
        QVERIFY(note && note->isVisibleTo(w.plotPanel())); // what grey means, said once

        // the live run directory records the rollback
        const run::RunContents c = run::readRun(w.session()->runDirectory().toStdString());
        bool recorded = false;
        for (const run::Event& e : c.events)
            if (const auto* r = std::get_if<run::RolledBack>(&e.what))
                recorded = e.iteration == 3 && r->restoredIteration == 2 && r->divergence == "non_finite_environment" &&
                           r->explanation == diverged.at(0).at(1).toString().toStdString();
        QVERIFY(recorded);

        // Start goes on from the restored state; the banner's news is old
        w.startAction()->trigger();
        QVERIFY(!banner->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(w.history()->size() >= 4, 20000);
        w.pauseAction()->trigger();
        QCOMPARE(w.history()->iterations()[3].iteration, 4);
        QCOMPARE(w.history()->iterations()[3].divergence, core::Divergence::None);
        QVERIFY(!w.history()->isRolledBack(4));
    }

    // A saved run keeps what the teaching tools showed: opened again, its rolled-back
    // iterations are greyed and its probes are in the inspector; continued in a new run
    // directory, that directory keeps both. With a live run directory (the save copies it)
    // and without one (the save writes the worker's state).
    void savedRunKeepsRollbacksAndProbes_data() {
        QTest::addColumn<bool>("liveRunDirectory");
        QTest::newRow("live run directory") << true;
        QTest::newRow("no run directory") << false;
    }
    void savedRunKeepsRollbacksAndProbes() {
        QFETCH(bool, liveRunDirectory);
        sim::registerEnvironment("NaNCartPole-test", testutil::nanAtStep(sim::environmentFactory("CartPole-v1"), 300));
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        ui::StudioOptions o = fastOptions();
        if (liveRunDirectory) o.runDirBase = tmp.filePath("runs-a");
        MainWindow a(o);
        QVERIFY(testutil::waitForRun(a));
        a.inspector()->setProbeEvery(1);
        core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
        cfg.env = "NaNCartPole-test";
        cfg.stepsPerIteration = 256; // step 300 of each copy falls in iteration 3
        QSignalSpy resets(&a, &MainWindow::runReset);
        a.lifecycle()->reset(cfg);
        QVERIFY(resets.wait(10000));
        QSignalSpy diverged(a.session(), &TrainingSession::divergenceDetected);
        a.startAction()->trigger();
        QVERIFY(diverged.wait(20000));
        QSignalSpy rolled(a.session(), &TrainingSession::rolledBack);
        QTest::mouseClick(a.guardrailBanner()->rollBackButton(), Qt::LeftButton);
        QVERIFY(rolled.wait(10000));
        QCOMPARE(testutil::stepIterations(a, 1).iteration, 4);
        // the probe follows its iteration's stats (computed after them on the worker)
        QTRY_VERIFY_WITH_TIMEOUT(a.inspector()->store().find(4), 10000);

        const QString path = tmp.filePath("saved.trporun");
        QSignalSpy saved(a.runs(), &ui::RunController::runSaved);
        a.runs()->saveRun(path);
        QVERIFY(saved.wait(10000));
        const run::RunContents c = run::readRun(path.toStdString());
        QCOMPARE(c.rolledBackIterations(), std::vector<int>{3});
        std::vector<int> probed;
        for (const core::TrustRegionProbe& p : c.probes) probed.push_back(p.iteration);
        QCOMPARE(probed, (std::vector<int>{1, 2, 4})); // iteration 3's NaN batch took no step

        // opened in another studio (which writes its own run directory)
        ui::StudioOptions ob = fastOptions();
        ob.runDirBase = tmp.filePath("runs-b");
        MainWindow b(ob);
        QVERIFY(testutil::waitForRun(b));
        QSignalSpy opened(b.runs(), &ui::RunController::runOpened);
        QVERIFY(b.runs()->openRun(path));
        QVERIFY(opened.wait(10000));
        QVERIFY(b.history()->isRolledBack(3));
        QVERIFY(!b.history()->isRolledBack(2) && !b.history()->isRolledBack(4));
        auto* note = b.findChild<QLabel*>("rolledBackNote");
        QVERIFY(note && note->isVisibleTo(b.plotPanel()));
        ui::PlotWidget* speed = b.plotPanel()->speedPlot();
        speed->refresh(false);
        bool greyHas3 = false;
        for (const auto& [x, y] : points(speed->rolledBackGraph(0))) greyHas3 = greyHas3 || (x == 3.0 && !std::isnan(y));
        QVERIFY(greyHas3);
        for (int i : {1, 2, 4}) {
            const ui::ProbePtr p = b.inspector()->store().find(i);
            QVERIFY(p);
            QCOMPARE(probeToJson(*p).dump(), probeToJson(c.probes[static_cast<size_t>(i == 4 ? 2 : i - 1)]).dump());
        }
        b.findChild<QAction*>("actionInspector")->trigger(); // opening the inspector shows the latest probe
        QTRY_VERIFY(b.inspector()->shownProbe() && b.inspector()->shownProbe()->iteration == 4);

        // continued: b's run directory holds the rollback and the probes too
        QCOMPARE(testutil::stepIterations(b, 1).iteration, 5);
        const run::RunContents cb = run::readRun(b.session()->runDirectory().toStdString());
        QCOMPARE(cb.rolledBackIterations(), std::vector<int>{3});
        probed.clear();
        for (const core::TrustRegionProbe& p : cb.probes) probed.push_back(p.iteration);
        QVERIFY(probed.size() >= 3);
        QCOMPARE(std::vector<int>(probed.begin(), probed.begin() + 3), (std::vector<int>{1, 2, 4}));
    }

    // Keep going dismisses the banner and changes nothing
    void keepGoingDismisses() {
        sim::registerEnvironment("NaNCartPole-test", testutil::nanAtStep(sim::environmentFactory("CartPole-v1"), 10));
        MainWindow w(fastOptions());
        QVERIFY(testutil::waitForRun(w));
        core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
        cfg.env = "NaNCartPole-test";
        cfg.stepsPerIteration = 256;
        QSignalSpy resets(&w, &MainWindow::runReset);
        w.lifecycle()->reset(cfg);
        QVERIFY(resets.wait(10000));
        QSignalSpy diverged(w.session(), &TrainingSession::divergenceDetected);
        QCOMPARE(testutil::stepIterations(w, 1).divergence, core::Divergence::NonFiniteEnvironment);
        QTRY_COMPARE(diverged.count(), 1);
        QVERIFY(w.guardrailBanner()->isVisible());
        QTest::mouseClick(w.guardrailBanner()->keepGoingButton(), Qt::LeftButton);
        QVERIFY(!w.guardrailBanner()->isVisible());
        QVERIFY(w.history()->rolledBack().empty());
        QCOMPARE(testutil::stepIterations(w, 1).iteration, 2);
    }

    // explained variance: before the fit is the series shown; NaN is a gap; the axis stays
    // in [-1, 1], and -800 is a marker on the bottom edge whose tooltip value is -800
    void explainedVarianceIsHonest() {
        ui::RunHistory history;
        ui::PlotPanel panel(&history);
        core::IterationStats s;
        const double ev[] = {0.5, std::numeric_limits<double>::quiet_NaN(), -800, 0.7};
        for (int i = 0; i < 4; ++i) {
            s.iteration = i + 1;
            s.envSteps = 256 * (i + 1);
            s.valueLossAfter = 1;
            s.explainedVarianceBefore = ev[i];
            s.explainedVarianceAfter = 0.9;
            history.append(s);
        }
        ui::PlotWidget* value = panel.valuePlot();
        value->refresh(false);
        QCOMPARE(value->seriesGraph(1)->name(), QString("explained variance (before fit)"));
        QVERIFY(value->isSeriesVisible(1));
        QCOMPARE(value->seriesGraph(2)->name(), QString("after fit (in-sample)"));
        QVERIFY(!value->isSeriesVisible(2)); // optional, off by default
        const auto before = points(value->seriesGraph(1));
        QCOMPARE(before.size(), size_t(4));
        QCOMPARE(before[0].second, 0.5);
        QVERIFY(std::isnan(before[1].second)); // a gap, not a value
        QCOMPARE(before[2].second, -800.0);
        QCOMPARE(points(value->seriesGraph(3)), (std::vector<std::pair<double, double>>{{3.0, -1.0}}));
        QVERIFY(value->yAxis2->range().lower >= -1.05 && value->yAxis2->range().upper <= 1.05);
        value->setSeriesVisible(2, true);
        QVERIFY(value->isSeriesVisible(2));
    }
};

QTEST_MAIN(TestInspector)
#include "test_inspector.moc"
