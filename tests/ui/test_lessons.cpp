// The lesson panel (ui/teach/lesson_panel.h, README "Lessons") through real clicks on the
// offscreen platform: each shipped lesson plays every step (its actions run: settings, new
// runs, the exact number of iterations), the controls a lesson does not list are hidden and
// come back when it closes, Back runs the step before again, and a malformed lesson gives a
// message naming the file and the problem without touching the run.
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <fstream>

#include "run/lesson.h"
#include "support/studio_test_util.h"
#include "ui/compare/comparison_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/main_window.h"
#include "ui/teach/guardrail_banner.h"
#include "ui/teach/inspector_dock.h"
#include "ui/teach/lesson_panel.h"
#include "ui/training_session.h"

namespace {

// the runs' directories (a fork action writes its fork under the run's)
QTemporaryDir& runsDir() {
    static QTemporaryDir dir;
    return dir;
}

ui::StudioOptions quietOptions() {
    ui::StudioOptions o;
    o.useSettings = false;
    o.autosave = false;
    o.runDirBase = runsDir().path();
    o.pace = ui::Pace::max();
    o.stepsPerIteration = 256;
    return o;
}

// a lesson as the studio would read it, with small iterations so the test stays fast
run::Lesson smallLesson(const run::Lesson& l) {
    run::Lesson out = l;
    out.config.stepsPerIteration = 256;
    return out;
}

std::string writeTemp(const QTemporaryDir& dir, const QString& name, const std::string& text) {
    const std::string path = dir.filePath(name).toStdString();
    std::ofstream(path) << text;
    return path;
}

// clicks Next (or Back) and waits until the step's actions have all run
bool clickAndWait(ui::LessonPanel* panel, QPushButton* button) {
    QSignalSpy finished(panel, &ui::LessonPanel::stepFinished);
    QTest::mouseClick(button, Qt::LeftButton);
    return finished.count() > 0 || finished.wait(60000);
}

} // namespace

class TestLessons : public QObject {
    Q_OBJECT
private slots:
    void shippedLessonsPlay_data();
    void shippedLessonsPlay();
    void trustRegionAsItsTextSays();
    void backRunsTheStepBefore();
    void hiddenControlsComeBack();
    void malformedLessonShowsMessage();
};

void TestLessons::shippedLessonsPlay_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"trust_region", "penalty_or_constraint", "trpo_vs_ppo"}) QTest::newRow(n) << n;
}

// every step of each shipped lesson, entered with Next: after it the run has exactly the
// iterations its actions asked for, with the settings they set
void TestLessons::shippedLessonsPlay() {
    QFETCH(QString, name);
    const std::optional<std::filesystem::path> dir = run::findLessonDir();
    QVERIFY(dir);
    const run::Lesson lesson = smallLesson(run::readLesson(*dir / (name.toStdString() + run::kLessonSuffix)));
    ui::MainWindow w(quietOptions());
    QVERIFY(testutil::waitForRun(w));
    ui::LessonPanel* panel = w.lessonPanel();
    panel->setTrainAtOnce(true);
    {
        QSignalSpy finished(panel, &ui::LessonPanel::stepFinished);
        w.playLesson(lesson, QString::fromStdString((*dir / (name.toStdString() + run::kLessonSuffix)).string()));
        QVERIFY(finished.wait(60000));
    }
    QVERIFY(w.lessonDock()->isVisible());
    QCOMPARE(w.lessonDock()->findChild<QLabel*>("lessonTitle")->text(), QString::fromStdString(lesson.title));
    // the controls: the environment picker and phase stepping are hidden in every shipped lesson
    QVERIFY(!w.environmentPicker()->isVisible());
    QVERIFY(!w.stepPhaseAction()->isVisible());
    QVERIFY(w.paceToolBarPicker()->isVisible());
    QVERIFY(w.hyperparameterPanel()->isSettingShown("delta"));
    QVERIFY(!w.hyperparameterPanel()->isSettingShown("seed"));
    QCOMPARE(w.inspectorViewAction()->isVisible(), lesson.shows("inspector"));
    QCOMPARE(w.hyperparameterPanel()->isSettingShown("algo"), lesson.shows("algorithm"));

    // what the steps leave: iterations of the current run, and its settings
    int iterations = 0;
    core::TrpoConfig cfg = lesson.config;
    for (size_t i = 0; i < lesson.steps.size(); ++i) {
        if (i > 0) QVERIFY(clickAndWait(panel, panel->nextButton()));
        QCOMPARE(panel->stepIndex(), static_cast<int>(i));
        QCOMPARE(panel->stepText()->text(), QString::fromStdString(lesson.steps[i].text));
        QCOMPARE(panel->stepNumber()->text(), QString("Step %1 of %2").arg(i + 1).arg(lesson.steps.size()));
        for (const run::LessonAction& a : lesson.steps[i].actions) {
            if (a.kind == run::LessonAction::Kind::Restart) {
                iterations = 0;
                cfg = lesson.restartConfig(a);
            } else if (a.kind == run::LessonAction::Kind::Train) {
                iterations += a.iterations;
            } else if (a.kind == run::LessonAction::Kind::Set) {
                for (const auto& [key, value] : a.settings) core::setConfigValue(cfg, key, value);
            } else if (a.kind == run::LessonAction::Kind::Pace) {
                QCOMPARE(w.pace().key().toStdString(), a.pace);
            } else if (a.kind == run::LessonAction::Kind::Inspector) {
                QTRY_COMPARE(w.inspector()->isVisible(), a.on);
            } else if (a.kind == run::LessonAction::Kind::Fork) {
                // the fork trained every variant its iterations, side by side, in its own window
                const QList<ui::ComparisonView*> views = w.findChildren<ui::ComparisonView*>();
                QVERIFY(!views.isEmpty());
                const ui::ComparisonView* v = views.last();
                QCOMPARE(v->manifest().key, a.forkKey);
                QCOMPARE(v->manifest().variants.size(), a.forkValues.size());
                QCOMPARE(v->manifest().forkIteration, iterations);
                // the table is redrawn at most ten times a second: wait for the last rows
                QTRY_VERIFY(v->summaries().size() == a.forkValues.size() &&
                            std::all_of(v->summaries().begin(), v->summaries().end(),
                                        [&a](const run::VariantSummary& row) { return row.iterations == a.iterations; }));
            }
        }
        QCOMPARE(w.iterationCount(), iterations);
        QCOMPARE(w.session()->config().algo, cfg.algo);
        QCOMPARE(w.session()->config().delta, cfg.delta);
        QCOMPARE(w.session()->config().klBeta, cfg.klBeta);
        QVERIFY(!panel->isBusy());
    }
    QVERIFY(!panel->nextButton()->isEnabled()); // the last step
    QVERIFY(!w.session()->isRunning());
}

// the figures trust_region.trpolesson's texts give, with its own settings (CartPole's preset,
// seed 1): a mean return of 50.5 after the first step (δ = 0.001), then at δ = 0.1 the
// guardrail pausing the run at iteration 22, which ends the step's training
void TestLessons::trustRegionAsItsTextSays() {
    const std::optional<std::filesystem::path> dir = run::findLessonDir();
    QVERIFY(dir);
    const std::filesystem::path file = *dir / "trust_region.trpolesson";
    ui::MainWindow w(quietOptions());
    QVERIFY(testutil::waitForRun(w));
    ui::LessonPanel* panel = w.lessonPanel();
    panel->setTrainAtOnce(true);
    QSignalSpy finished(panel, &ui::LessonPanel::stepFinished);
    QVERIFY(w.openLesson(QString::fromStdString(file.string())));
    QVERIFY(finished.wait(60000));
    QCOMPARE(w.iterationCount(), 10);
    QVERIFY2(w.runSummary()->text().contains("50.5"), qPrintable(w.runSummary()->text()));
    QVERIFY(clickAndWait(panel, panel->nextButton())); // the inspector
    QVERIFY(clickAndWait(panel, panel->nextButton())); // δ = 0.01
    QCOMPARE(w.iterationCount(), 20);
    QVERIFY(!w.guardrailBanner()->isVisible());
    QVERIFY(clickAndWait(panel, panel->nextButton())); // δ = 0.1
    QCOMPARE(w.iterationCount(), 22);
    QVERIFY(w.guardrailBanner()->isVisible());
    QVERIFY2(panel->activity()->text().contains("guardrail"), qPrintable(panel->activity()->text()));
    QVERIFY(!panel->isBusy());
}

// Back enters the step before and runs its actions again (its δ comes back, and its
// iterations are trained once more); the step number and the buttons follow
void TestLessons::backRunsTheStepBefore() {
    QTemporaryDir tmp;
    const std::string path = writeTemp(tmp, "two.trpolesson", R"({
        "format": "trpo-studio-lesson", "version": 1, "title": "Two steps", "env": "CartPole-v1",
        "settings": {"steps_per_iteration": 256, "delta": 0.01}, "controls": ["delta"],
        "steps": [{"title": "One", "text": "first", "actions": [{"set": {"delta": 0.05}}, {"train": 2}]},
                  {"title": "Two", "text": "second", "actions": [{"set": {"delta": 0.2}}, {"train": 1}]}]})");
    ui::MainWindow w(quietOptions());
    QVERIFY(testutil::waitForRun(w));
    ui::LessonPanel* panel = w.lessonPanel();
    QSignalSpy finished(panel, &ui::LessonPanel::stepFinished);
    QVERIFY(w.openLesson(QString::fromStdString(path)));
    QVERIFY(finished.wait(30000));
    QCOMPARE(w.iterationCount(), 2);
    QCOMPARE(w.session()->config().delta, 0.05);
    QVERIFY(!panel->backButton()->isEnabled());
    QVERIFY(panel->nextButton()->isEnabled());
    // the δ changes are hot changes from the panel: undoable, as if typed
    QVERIFY(w.hyperparameterPanel()->undoStack()->count() >= 1);

    QVERIFY(clickAndWait(panel, panel->nextButton()));
    QCOMPARE(panel->stepNumber()->text(), QString("Step 2 of 2"));
    QCOMPARE(w.iterationCount(), 3);
    QCOMPARE(w.session()->config().delta, 0.2);
    QVERIFY(!panel->nextButton()->isEnabled());

    QVERIFY(clickAndWait(panel, panel->backButton()));
    QCOMPARE(panel->stepNumber()->text(), QString("Step 1 of 2"));
    QCOMPARE(panel->stepText()->text(), QString("first"));
    QCOMPARE(w.session()->config().delta, 0.05);
    QCOMPARE(w.iterationCount(), 5);
    QVERIFY(!panel->backButton()->isEnabled());
}

// a lesson hides what it does not list; Close lesson gives every control back
void TestLessons::hiddenControlsComeBack() {
    QTemporaryDir tmp;
    const std::string path = writeTemp(tmp, "bare.trpolesson", R"({
        "format": "trpo-studio-lesson", "version": 1, "title": "Bare", "env": "CartPole-v1",
        "settings": {"steps_per_iteration": 256}, "controls": [],
        "steps": [{"title": "Only", "text": "nothing to change"}]})");
    ui::MainWindow w(quietOptions());
    QVERIFY(testutil::waitForRun(w));
    QVERIFY(w.environmentPicker()->isVisible());
    QVERIFY(w.hyperparameterDock()->isVisible());
    QSignalSpy finished(w.lessonPanel(), &ui::LessonPanel::stepFinished);
    QVERIFY(w.openLesson(QString::fromStdString(path)));
    QVERIFY(finished.wait(30000));
    QVERIFY(!w.environmentPicker()->isVisible());
    QVERIFY(!w.paceToolBarPicker()->isVisible());
    QVERIFY(!w.paceDockPicker()->isVisible());
    QVERIFY(!w.stepPhaseAction()->isVisible());
    QVERIFY(!w.inspectorViewAction()->isVisible());
    QVERIFY(!w.hyperparameterDock()->isVisible()); // no setting listed: the dock goes
    QVERIFY(!w.hyperparameterPanel()->anySettingShown());
    QVERIFY(w.startAction()->isVisible()); // Start, Pause, Step and Reset always stay
    QVERIFY(w.stepAction()->isVisible());

    w.closeLessonAction()->trigger();
    QVERIFY(!w.lessonDock()->isVisible());
    QVERIFY(w.environmentPicker()->isVisible());
    QTRY_VERIFY(w.paceToolBarPicker()->isVisible()); // the toolbar lays its widgets out again first
    QVERIFY(w.stepPhaseAction()->isVisible());
    QVERIFY(w.inspectorViewAction()->isVisible());
    QVERIFY(w.hyperparameterDock()->isVisible());
    QVERIFY(w.hyperparameterPanel()->isSettingShown("seed"));
    QVERIFY(w.hyperparameterPanel()->isSettingShown("delta"));
}

void TestLessons::malformedLessonShowsMessage() {
    QTemporaryDir tmp;
    const std::string path = writeTemp(tmp, "bad.trpolesson", R"({
        "format": "trpo-studio-lesson", "version": 1, "title": "Bad", "env": "CartPole-v1",
        "controls": ["pace", "warp_drive"], "steps": [{"title": "S", "text": "t"}]})");
    ui::MainWindow w(quietOptions());
    QVERIFY(testutil::waitForRun(w));
    QString message;
    w.setMessageHook([&message](const QString&, const QString& text) { message = text; });
    const int before = w.iterationCount();
    QSignalSpy resets(&w, &ui::MainWindow::runReset);
    QVERIFY(!w.openLesson(QString::fromStdString(path)));
    QVERIFY2(message.contains(QString::fromStdString(path) + ": controls[1]: unknown control \"warp_drive\""),
             qPrintable(message));
    QVERIFY(!w.lessonDock()->isVisible());
    QVERIFY(!w.lessonPanel()->isPlaying());
    QVERIFY(w.environmentPicker()->isVisible());
    QCOMPARE(resets.count(), 0); // the run is untouched (a reset would be requested before this returns)
    QCOMPARE(w.iterationCount(), before);
}

QTEST_MAIN(TestLessons)
#include "test_lessons.moc"
