#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFormLayout>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QActionGroup>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QStyle>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "sim/registry.h"
#include "ui/banner.h"
#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_controller.h"
#include "ui/clip_export.h"
#include "ui/config_files.h"
#include "ui/env_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/plot_panel.h"
#include "ui/plot_widget.h"
#include "ui/run_controller.h"
#include "ui/run_history.h"
#include "ui/run_lifecycle.h"
#include "ui/run_status.h"
#include "ui/teach/guardrail_banner.h"
#include "ui/teach/inspector_dock.h"
#include "ui/teach/lesson_panel.h"
#include "run/lesson.h"
#include "ui/teach/what_if.h"
#include "ui/teach/phase_view.h"
#include "ui/replay_controller.h"
#include "ui/training_session.h"

namespace ui {

namespace {
// a number rounded for reading on a projector: whole numbers from 100 up, else 3 digits
QString readable(double v) { return std::abs(v) >= 100 ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3); }
} // namespace

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent) : QMainWindow(parent), m_options(options) {
    registerMetaTypes();
    setObjectName("trpoStudio");
    setWindowTitle(tr("TRPO Studio"));
    m_baseFont = QApplication::font();
    m_dialogs = new Dialogs(this);
    connect(m_dialogs, &Dialogs::errorShown, this, &MainWindow::errorShown);
    m_session = new TrainingSession(this);
    if (!options.runDirBase.isEmpty()) m_session->setRunDirectoryBase(options.runDirBase);
    m_history = new RunHistory(this);

    m_envView = new EnvView;
    // the centre: two banners above the viewer (watching a policy file; the run solved)
    auto* centre = new QWidget;
    centre->setObjectName("centre");
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    centreLayout->setSpacing(0);
    m_watchBanner = new QLabel;
    m_watchBanner->setObjectName("watchBanner");
    m_watchBanner->setWordWrap(true);
    m_watchBanner->setTextFormat(Qt::RichText);
    m_watchBanner->setStyleSheet("QLabel { background: #fff4d6; color: #4a3b00; padding: 6px 10px; border-bottom: 1px solid #e0c060; }");
    m_watchBanner->hide();
    centreLayout->addWidget(m_watchBanner);
    m_guardrail = new GuardrailBanner(m_session, m_history); // shown when the guardrail pauses training
    centreLayout->addWidget(m_guardrail);
    // the moment a run is solved (pause when solved): large enough to read from the back of
    // a classroom, closed by its button or by the next Start, Step or Reset
    const Banner solved = makeBanner("solvedBanner", "solvedBannerText", {"#dff3e4", "#2e8b57", "#123d24"}, {16, 10, 10, 10});
    m_solvedBanner = solved.frame;
    m_solvedText = solved.text;
    m_solvedText->setWordWrap(true);
    QHBoxLayout* solvedLayout = solved.layout;
    auto* closeSolved = new QToolButton;
    closeSolved->setObjectName("solvedBannerClose");
    closeSolved->setText(QStringLiteral("✕"));
    closeSolved->setToolTip(tr("Close"));
    closeSolved->setAutoRaise(true);
    connect(closeSolved, &QToolButton::clicked, m_solvedBanner, &QWidget::hide);
    solvedLayout->addWidget(closeSolved, 0, Qt::AlignTop);
    centreLayout->addWidget(m_solvedBanner);
    // replaying an episode of the return curve: which one, the other two, back to live
    m_replay = new ReplayController(m_history, m_envView, m_dialogs, this);
    centreLayout->addWidget(m_replay->bar());
    centreLayout->addWidget(m_envView, 1);
    setCentralWidget(centre);
    m_plots = new PlotPanel(m_history);
    m_params = new HyperparameterPanel;
    m_inspector = new InspectorDock(m_session, m_history, this);

    createActions();
    createDocks();

    // the parts that do the work
    m_lifecycle = new RunLifecycle(m_session, m_history, {m_params, m_envPicker, m_envView}, m_dialogs,
                                   m_options.stepsPerIteration, this);
    m_lifecycle->setPresetOverrides(m_options.settings);
    m_runs = new RunController(m_session, m_history, m_lifecycle, m_envView, m_watchBanner, m_dialogs,
                               {m_options.autosave, m_options.autosaveDir}, this);
    m_status = new RunStatus(m_history, m_session, statusBar(), m_runSummary, this);
    m_configFiles = new ConfigFiles(m_params, m_lifecycle, m_dialogs, this);
    m_clips = new ClipExporter(m_envView, m_dialogs, this, this);
    m_forks = new ForkController(this, m_dialogs);
    connect(m_forkAction, &QAction::triggered, m_forks, &ForkController::forkWithDialog);
    createMenus();

    connect(m_startAction, &QAction::triggered, m_lifecycle, &RunLifecycle::start);
    connect(m_pauseAction, &QAction::triggered, m_lifecycle, &RunLifecycle::pause);
    connect(m_stepAction, &QAction::triggered, m_lifecycle, &RunLifecycle::step);
    connect(m_stepPhaseAction, &QAction::triggered, m_lifecycle, &RunLifecycle::stepPhase);
    connect(m_session, &TrainingSession::phaseStepped, this, [this](const PhaseSnapshotPtr& p) {
        if (!p) return;
        m_phaseView->show(p);
        // the batch's states over the environment, coloured by advantage, for the rest of
        // the iteration (where the environment can place them)
        if (p->phase == core::Phase::Advantages)
            m_envView->showStates(p->states, p->stateDim, advantageColours(p->advantages),
                                  tr("Iteration %1's %2 sampled states · orange: better than the critic expected (Â > 0) "
                                     "· blue: worse")
                                      .arg(p->iteration)
                                      .arg(p->advantages.size()));
        if (m_presentation && dockWidgetArea(m_phaseDock) != Qt::RightDockWidgetArea) {
            // one idea per screen: the phase takes the presentation plots' place
            addDockWidget(Qt::RightDockWidgetArea, m_phaseDock);
            tabifyDockWidget(m_plotDock, m_phaseDock);
        }
        m_phaseDock->show();
        m_phaseDock->raise();
    });
    connect(m_session, &TrainingSession::iterationFinished, m_envView, &EnvView::clearStates);
    // an interrupted iteration is discarded, with what phase stepping showed of it
    connect(m_session, &TrainingSession::iterationInterrupted, this, [this](int iteration) {
        m_envView->clearStates();
        m_phaseView->clear(tr("Iteration %1 was stopped part way and discarded. Run → Step phase (F10) starts it again.")
                               .arg(iteration));
    });
    connect(m_lifecycle, &RunLifecycle::runReset, m_envView, &EnvView::clearStates);
    connect(m_lifecycle, &RunLifecycle::runReset, this, [this] {
        m_phaseView->clear(tr("Run → Step phase (F10) runs one phase of the next iteration and stops."));
    });
    connect(m_resetAction, &QAction::triggered, m_lifecycle, &RunLifecycle::resetWithCurrentSettings);
    connect(m_presentationAction, &QAction::toggled, this, &MainWindow::setPresentationMode);
    connect(m_pauseWhenSolvedAction, &QAction::toggled, m_session, &TrainingSession::setPauseWhenSolved);
    connect(m_pauseWhenSolvedAction, &QAction::toggled, m_pauseWhenSolvedBox, &QCheckBox::setChecked);
    connect(m_pauseWhenSolvedBox, &QCheckBox::toggled, m_pauseWhenSolvedAction, &QAction::setChecked);
    connect(m_session, &TrainingSession::solved, this, &MainWindow::showSolved);
    // the banner belongs to the moment it reports: the next Start, Step or Reset, or an
    // opened run, ends it
    connect(m_lifecycle, &RunLifecycle::trainingRequested, m_solvedBanner, &QWidget::hide);
    connect(m_runs, &RunController::runOpened, m_solvedBanner, &QWidget::hide);
    connect(m_runs, &RunController::probesOpened, m_inspector, &InspectorDock::addProbes);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
    connect(m_lifecycle, &RunLifecycle::runReset, this, &MainWindow::runReset);
    connect(m_lifecycle, &RunLifecycle::runReset, this, &MainWindow::updateActions);
    connect(m_runs, &RunController::runOpened, this, &MainWindow::updateActions);
    connect(m_session, &TrainingSession::runningChanged, this, &MainWindow::updateActions);
    connect(m_session, &TrainingSession::failed, this, [this](const QString& msg) {
        m_status->showFailure(msg);
        updateActions();
    });
    connect(m_autosaveSpin, &QSpinBox::valueChanged, m_runs, &RunController::setAutosaveInterval);
    connect(m_runs, &RunController::autosaveIntervalChanged, this, [this](int v) {
        const QSignalBlocker block(m_autosaveSpin);
        m_autosaveSpin->setValue(v);
    });
    // a click on an iteration in any time plot shows its probe; a what-if row sets δ (undoable)
    connect(m_plots, &PlotPanel::iterationClicked, this, [this](int iteration) {
        showInspector();
        m_inspector->showIteration(iteration);
    });
    // a click on the return curve replays one of that iteration's episodes (README, "Replay
    // and ghost"); the ghost compares the policies around each update
    connect(m_plots, &PlotPanel::returnClicked, m_replay, &ReplayController::replayClicked);
    connect(m_session, &TrainingSession::snapshotReady, m_replay, &ReplayController::addPolicy);
    connect(m_lifecycle, &RunLifecycle::runReset, m_replay, [this] { m_replay->restart(); });
    connect(m_runs, &RunController::runOpened, m_replay, [this] { m_replay->restart(m_envView->snapshot()); });
    connect(m_inspector, &InspectorDock::deltaChosen, this, [this](double delta) {
        QString why;
        if (!applyWhatIfDelta(m_params, m_history, delta, &why) && !why.isEmpty())
            m_dialogs->showStatus(tr("Refused: %1").arg(why));
    });
    connect(m_plots, &PlotPanel::plotsExported, this,
            [this](const QString& dir) { m_dialogs->showStatus(tr("Plots written to %1").arg(dir), 5000); });
    connect(m_plots, &PlotPanel::exportFailed, this, [this](const QString& dir) {
        m_dialogs->showError(tr("Export plots"), tr("Could not write the plots to %1.").arg(dir));
    });

    resize(1600, 1000);
    m_defaultState = saveState();
    setPace(m_options.pace.value_or(Pace::teachingDefault()));
    updateBannerFont();
    {
        const QSignalBlocker block(m_autosaveSpin);
        m_autosaveSpin->setValue(m_runs->autosaveInterval());
    }
    if (m_options.useSettings) restoreSettings();
    m_lessonDock->hide(); // a lesson is opened each time, not restored with the layout
    if (m_options.config)
        m_lifecycle->reset(*m_options.config);
    else
        m_lifecycle->resetToPreset(m_options.env);
    updateActions();
}

MainWindow::~MainWindow() { m_session->shutdown(); }

void MainWindow::showInspector() {
    if (m_presentation && dockWidgetArea(m_inspector) != Qt::RightDockWidgetArea) {
        // one idea per screen: the inspector takes the presentation plots' place
        addDockWidget(Qt::RightDockWidgetArea, m_inspector);
        tabifyDockWidget(m_plotDock, m_inspector);
    }
    m_inspector->show();
    m_inspector->raise(); // its tab in front of the plots
}

bool MainWindow::openLesson(const QString& path) {
    std::vector<std::string> envs;
    for (const sim::EnvInfo& e : sim::registry()) envs.push_back(e.id);
    try {
        playLesson(run::readLesson(path.toStdString(), &envs), path);
        return true;
    } catch (const run::LessonError& e) {
        m_dialogs->showError(tr("Open lesson"), tr("Could not open the lesson:\n%1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

void MainWindow::playLesson(const run::Lesson& lesson, const QString& path) {
    m_lessonPanel->play(lesson, path);
    showLessonControls(&lesson);
    m_lessonDock->show();
    m_lessonDock->raise();
    m_closeLessonAction->setEnabled(true);
    // the lesson's text takes most of the left column, which widens for its large type
    resizeDocks({m_lessonDock}, {480}, Qt::Horizontal);
    if (m_paramDock->isVisible())
        resizeDocks({m_lessonDock, m_runDock, m_paramDock}, {470, 220, 260}, Qt::Vertical);
    else
        resizeDocks({m_lessonDock, m_runDock}, {700, 220}, Qt::Vertical);
    m_lifecycle->reset(lesson.config); // the first step runs when this run is ready (runReset)
}

void MainWindow::closeLesson() {
    m_lessonPanel->stop();
    showLessonControls(nullptr);
    m_lessonDock->hide();
    m_closeLessonAction->setEnabled(false);
}

void MainWindow::openLessonWithDialog() {
    QString dir;
    if (const std::optional<std::filesystem::path> d = run::findLessonDir()) dir = QString::fromStdString(d->string());
    const QString path = QFileDialog::getOpenFileName(this, tr("Open lesson"), dir, tr("Lessons (*.trpolesson)"));
    if (!path.isEmpty()) openLesson(path);
}

void MainWindow::showLessonControls(const run::Lesson* lesson) {
    const auto shows = [lesson](const std::string& control) { return !lesson || lesson->shows(control); };
    m_runForm->setRowVisible(m_envPicker, shows("environment"));
    m_runForm->setRowVisible(m_paceDock, shows("pace"));
    for (QAction* a : m_paceToolBarActions) a->setVisible(shows("pace"));
    for (QWidget* w : std::initializer_list<QWidget*>{m_speedPicker, m_deterministic, m_heuristic})
        m_runForm->setRowVisible(w, shows("viewer"));
    m_stepPhaseAction->setVisible(shows("phase_stepping"));
    m_forkAction->setVisible(shows("fork"));
    m_phaseDock->toggleViewAction()->setVisible(shows("phase_stepping"));
    if (!shows("phase_stepping")) m_phaseDock->hide();
    m_inspectorViewAction->setVisible(shows("inspector"));
    if (!shows("inspector")) m_inspector->hide();
    // the Hyperparameters dock: the hot settings listed, the algorithm, the other cold ones
    m_params->setShownSettings([lesson, shows](const std::string& key) {
        if (!lesson) return true;
        if (key == "algo") return shows("algorithm");
        const core::ConfigField* f = core::findConfigField(key);
        return f && (f->hot ? shows(key) : shows("cold_settings"));
    });
    m_paramDock->setVisible(m_params->anySettingShown());
}

int MainWindow::iterationCount() const { return m_history->iteration(); }

std::int64_t MainWindow::envSteps() const { return m_history->envSteps(); }

void MainWindow::createActions() {
    QStyle* st = style();
    m_startAction = new QAction(st->standardIcon(QStyle::SP_MediaPlay), tr("&Start"), this);
    m_startAction->setObjectName("actionStart");
    m_startAction->setShortcut(Qt::Key_Space);
    m_startAction->setToolTip(tr("Start training (Space)"));
    m_pauseAction = new QAction(st->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this);
    m_pauseAction->setObjectName("actionPause");
    m_pauseAction->setShortcut(Qt::Key_Space);
    m_pauseAction->setToolTip(tr("Pause after the current iteration (Space)"));
    m_stepAction = new QAction(st->standardIcon(QStyle::SP_MediaSkipForward), tr("S&tep"), this);
    m_stepAction->setObjectName("actionStep");
    m_stepAction->setShortcut(Qt::Key_S);
    m_stepAction->setToolTip(tr("Run exactly one iteration (S)"));
    m_stepPhaseAction = new QAction(st->standardIcon(QStyle::SP_ArrowRight), tr("Step p&hase"), this);
    m_stepPhaseAction->setObjectName("actionStepPhase");
    m_stepPhaseAction->setShortcut(Qt::Key_F10);
    m_stepPhaseAction->setToolTip(tr("Run the next phase of the iteration and stop: sample, advantages, gradient, "
                                     "natural direction, step size, line search, value fit (F10)"));
    m_resetAction = new QAction(st->standardIcon(QStyle::SP_BrowserReload), tr("&Reset"), this);
    m_resetAction->setObjectName("actionReset");
    m_resetAction->setShortcut(Qt::Key_R);
    m_resetAction->setToolTip(tr("Start a new run with the current settings (R)"));
    m_presentationAction = new QAction(tr("&Presentation mode"), this);
    m_presentationAction->setObjectName("actionPresentation");
    m_presentationAction->setCheckable(true);
    m_presentationAction->setShortcuts({QKeySequence(Qt::Key_F11), QKeySequence(Qt::CTRL | Qt::Key_P)});
    m_presentationAction->setToolTip(
        tr("For a projector: the environment large with two plots beside it, large type, thick lines (F11, Ctrl+P)"));
    m_forkAction = new QAction(st->standardIcon(QStyle::SP_FileDialogNewFolder), tr("&Fork…"), this);
    m_forkAction->setObjectName("actionFork");
    m_forkAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_F));
    m_forkAction->setToolTip(tr("Fork the run at this iteration into 2 to 6 variants (δ values, algorithms or another "
                                "setting) and train them side by side, compared live (Ctrl+F)"));
    m_quitAction = new QAction(tr("&Quit"), this);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setObjectName("actionQuit");

    m_toolBar = addToolBar(tr("Run"));
    m_toolBar->setObjectName("runToolBar");
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_toolBar->setIconSize(QSize(22, 22));
    m_toolBar->addAction(m_startAction);
    m_toolBar->addAction(m_pauseAction);
    m_toolBar->addAction(m_stepAction);
    m_toolBar->addAction(m_stepPhaseAction);
    m_toolBar->addAction(m_resetAction);
    m_toolBar->addAction(m_forkAction);
    m_toolBar->addSeparator();
    auto* paceLabel = new QLabel(tr("Pace "));
    paceLabel->setObjectName("paceToolBarLabel");
    m_paceToolBarActions.push_back(m_toolBar->addWidget(paceLabel));
    m_paceToolBar = makePacePicker("paceToolBar");
    m_paceToolBarActions.push_back(m_toolBar->addWidget(m_paceToolBar));
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_presentationAction);

    m_pauseWhenSolvedAction = new QAction(tr("Pause when &solved"), this);
    m_pauseWhenSolvedAction->setObjectName("actionPauseWhenSolved");
    m_pauseWhenSolvedAction->setCheckable(true);
    m_pauseWhenSolvedAction->setToolTip(tr("Pause the first time the mean return of the last 20 episodes reaches the "
                                           "environment's solved threshold; Start goes on from there."));
}

QComboBox* MainWindow::makePacePicker(const QString& objectName) {
    auto* box = new QComboBox;
    box->setObjectName(objectName);
    for (const Pace& p : Pace::choices()) box->addItem(p.label(), p.key());
    box->setToolTip(tr("Iterations started per second. 1 or 2 per second is a pace a class can follow: each new "
                       "policy plays from the start of an episode. Max trains as fast as the machine goes."));
    // a user's choice (activated: not the other picker being brought in line)
    connect(box, &QComboBox::activated, this, [this, box](int index) {
        if (const std::optional<Pace> p = Pace::parse(box->itemData(index).toString())) setPace(*p);
    });
    return box;
}

void MainWindow::setPace(Pace pace) {
    const int index = m_paceDock->findData(pace.key());
    if (index < 0) return; // not one of the choices
    for (QComboBox* box : {m_paceToolBar, m_paceDock}) {
        const QSignalBlocker block(box);
        box->setCurrentIndex(index);
    }
    m_session->setPace(pace);
    if (m_forks) m_forks->setPace(pace);
    // at a teaching pace every new policy is seen from the first step of an episode
    m_envView->setRestartOnNewPolicy(pace.isTeaching());
    m_plots->setMaxPace(pace.isMax());
}

Pace MainWindow::pace() const { return m_session->pace(); }

void MainWindow::createDocks() {
    // run controls
    auto* run = new QWidget;
    run->setObjectName("runControls");
    auto* form = new QFormLayout;
    m_runForm = form;
    m_envPicker = new QComboBox;
    m_envPicker->setObjectName("environmentPicker");
    for (const sim::EnvInfo& e : sim::registry()) {
        m_envPicker->addItem(QString::fromStdString(e.id));
        m_envPicker->setItemData(m_envPicker->count() - 1, QString::fromStdString(e.description), Qt::ToolTipRole);
    }
    m_envPicker->setToolTip(tr("The environment to train on. Switching starts a new run with its preset."));
    form->addRow(tr("Environment"), m_envPicker);
    m_paceDock = makePacePicker("paceDock");
    form->addRow(tr("Training pace"), m_paceDock);
    m_pauseWhenSolvedBox = new QCheckBox(tr("Pause when solved"));
    m_pauseWhenSolvedBox->setObjectName("pauseWhenSolved");
    m_pauseWhenSolvedBox->setToolTip(m_pauseWhenSolvedAction->toolTip());
    form->addRow(QString(), m_pauseWhenSolvedBox);

    m_speedPicker = new QComboBox;
    m_speedPicker->setObjectName("viewerSpeed");
    m_speedPicker->addItems({tr("Real time"), tr("2×"), tr("4×"), tr("Render off")});
    m_speedPicker->setToolTip(tr("How fast the viewer plays the latest policy. Render off leaves the CPU to training."));
    connect(m_speedPicker, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_envView->setSpeed(static_cast<EnvView::Speed>(i)); });
    form->addRow(tr("Viewer speed"), m_speedPicker);
    m_deterministic = new QCheckBox(tr("Deterministic actions"));
    m_deterministic->setObjectName("deterministic");
    m_deterministic->setToolTip(tr("The viewer takes the policy's most likely action instead of sampling one."));
    connect(m_deterministic, &QCheckBox::toggled, m_envView, &EnvView::setDeterministic);
    form->addRow(QString(), m_deterministic);
    m_heuristic = new QCheckBox(tr("Hand-written controller"));
    m_heuristic->setObjectName("handWrittenController");
    m_heuristic->setToolTip(tr("The viewer plays Gymnasium's heuristic for this environment (LunarLander, "
                               "BipedalWalker) instead of the policy: a baseline to compare the learned policy with."));
    connect(m_heuristic, &QCheckBox::toggled, m_envView, &EnvView::setPlayHeuristic);
    auto followEnvironment = [this](const QString& id) {
        const bool has = EnvView::hasHeuristic(id);
        m_heuristic->setEnabled(has);
        m_heuristic->setToolTip(has ? tr("The viewer plays Gymnasium's heuristic for %1 instead of the policy: a "
                                         "baseline to compare the learned policy with.")
                                          .arg(id)
                                    : tr("%1 has no hand-written controller (LunarLander and BipedalWalker have one).").arg(id));
    };
    connect(m_envView, &EnvView::environmentChanged, this, followEnvironment);
    followEnvironment(m_envView->environmentId());
    form->addRow(QString(), m_heuristic);
    m_autosaveSpin = new QSpinBox;
    m_autosaveSpin->setObjectName("autosaveInterval");
    m_autosaveSpin->setRange(0, 100000);
    m_autosaveSpin->setSpecialValueText(tr("Off"));
    m_autosaveSpin->setPrefix(tr("every "));
    m_autosaveSpin->setSuffix(tr(" iterations"));
    m_autosaveSpin->setToolTip(tr("Save the run to the autosave location every N iterations and on exit, so a crash "
                                  "loses at most N iterations. 0 turns autosave off."));
    form->addRow(tr("Autosave"), m_autosaveSpin);

    auto* buttons = new QHBoxLayout;
    for (QAction* a : {m_startAction, m_pauseAction, m_stepAction, m_resetAction}) {
        auto* b = new QToolButton;
        b->setDefaultAction(a);
        b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        buttons->addWidget(b);
    }
    m_runSummary = new QLabel;
    m_runSummary->setObjectName("runSummary");
    m_runSummary->setWordWrap(true);
    m_runSummary->setTextFormat(Qt::RichText);
    auto* runLayout = new QVBoxLayout(run);
    runLayout->addLayout(buttons);
    runLayout->addLayout(form);
    runLayout->addWidget(m_runSummary);
    runLayout->addStretch(1);

    m_runDock = new QDockWidget(tr("Run"), this);
    m_runDock->setObjectName("runDock");
    m_runDock->setWidget(run);
    addDockWidget(Qt::LeftDockWidgetArea, m_runDock);

    m_paramDock = new QDockWidget(tr("Hyperparameters"), this);
    m_paramDock->setObjectName("hyperparameterDock");
    m_paramDock->setWidget(m_params);
    addDockWidget(Qt::LeftDockWidgetArea, m_paramDock);
    splitDockWidget(m_runDock, m_paramDock, Qt::Vertical);

    m_plotDock = new QDockWidget(tr("Plots"), this);
    m_plotDock->setObjectName("plotDock");
    m_plotDock->setWidget(m_plots);
    // plot repaints go right after viewer frames (queued: the signal comes from inside a paint)
    connect(m_envView, &EnvView::framePainted, m_plots, &PlotPanel::onViewerFrame, Qt::QueuedConnection);
    addDockWidget(Qt::BottomDockWidgetArea, m_plotDock);
    // the inspector replaces the plots rather than adding to them (one idea per screen): a
    // tab beside them, closed until asked for (View menu, a click on a plot, --inspector)
    addDockWidget(Qt::BottomDockWidgetArea, m_inspector);
    tabifyDockWidget(m_plotDock, m_inspector);
    m_inspector->hide();


    // phase stepping's view takes the plots' place (one idea per screen), as a tab beside them
    m_phaseView = new PhaseView;
    // a fixed minimum: the dock's stored layout then does not depend on the type size, which
    // presentation mode changes while this dock is a hidden tab
    m_phaseView->setMinimumSize(240, 120);
    m_phaseDock = new QDockWidget(tr("Phase"), this);
    m_phaseDock->setObjectName("phaseDock");
    m_phaseDock->setWidget(m_phaseView);
    addDockWidget(Qt::BottomDockWidgetArea, m_phaseDock);
    tabifyDockWidget(m_plotDock, m_phaseDock);
    m_plotDock->raise();

    // the lesson being played, above the run controls; hidden until a lesson is opened
    m_lessonPanel = new LessonPanel(this);
    m_lessonDock = new QDockWidget(tr("Lesson"), this);
    m_lessonDock->setObjectName("lessonDock");
    m_lessonDock->setWidget(m_lessonPanel);
    addDockWidget(Qt::LeftDockWidgetArea, m_lessonDock);
    // from the top: the lesson, the run controls, the hyperparameters
    splitDockWidget(m_lessonDock, m_runDock, Qt::Vertical);
    splitDockWidget(m_runDock, m_paramDock, Qt::Vertical);
    m_lessonDock->hide();
    connect(this, &MainWindow::runReset, m_lessonPanel, &LessonPanel::runReady);

    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    resizeDocks({m_runDock}, {360}, Qt::Horizontal);
    resizeDocks({m_plotDock}, {460}, Qt::Vertical);
    resizeDocks({m_runDock, m_paramDock}, {190, 760}, Qt::Vertical);
}

ComparisonView* MainWindow::openComparison(const QString& dir) {
    auto* view = new ComparisonView(this);
    try {
        view->open(dir.toStdString());
    } catch (const std::exception& e) {
        delete view;
        m_dialogs->showError(tr("Open comparison"),
                             tr("Could not open the fork or sweep:\n%1").arg(QString::fromStdString(e.what())));
        return nullptr;
    }
    view->setWindowFlag(Qt::Window);
    view->setAttribute(Qt::WA_DeleteOnClose);
    view->setWindowTitle(view->title());
    view->resize(1100, 800);
    if (!view->isSweep()) {
        m_forks->offerContinue(view, dir);
        view->setContinuable(true);
    }
    view->show();
    return view;
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open configuration…"), QKeySequence::Open, m_configFiles, &ConfigFiles::openWithDialog);
    file->addAction(tr("&Save configuration…"), QKeySequence::Save, m_configFiles, &ConfigFiles::saveWithDialog);
    file->addSeparator();
    m_openRunAction = file->addAction(tr("Open &run…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this,
                                      [this] { m_runs->openRunWithDialog(this); });
    m_openRunAction->setObjectName("actionOpenRun");
    m_openRunAction->setToolTip(tr("Restore a saved run (a .trporun folder): plots, settings and the trainer, ready to continue"));
    m_saveRunAction = file->addAction(tr("Sa&ve run…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), this,
                                      [this] { m_runs->saveRunWithDialog(this); });
    m_saveRunAction->setObjectName("actionSaveRun");
    m_saveRunAction->setToolTip(tr("Save the whole run (settings, every plot's history, events and the trainer checkpoint)"));
    QAction* openFork = file->addAction(tr("Open &comparison…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(
            this, tr("Open a fork or a sweep (the folder with fork.json or sweep.json)"));
        if (!dir.isEmpty()) openComparison(dir);
    });
    openFork->setObjectName("actionOpenFork");
    openFork->setToolTip(tr("Compare the variants of a fork (trpo-train --fork) or the settings of a sweep "
                            "(trpo-train --sweep): overlaid plots and a table"));
    m_openLessonAction = file->addAction(tr("Open &lesson…"), this, &MainWindow::openLessonWithDialog);
    m_openLessonAction->setObjectName("actionOpenLesson");
    m_openLessonAction->setToolTip(tr("Play a lesson (a .trpolesson file): its settings, its controls and its steps in a side panel"));
    m_closeLessonAction = file->addAction(tr("Close lesson"), this, &MainWindow::closeLesson);
    m_closeLessonAction->setObjectName("actionCloseLesson");
    m_closeLessonAction->setEnabled(false);
    QAction* watch = file->addAction(tr("&Watch policy…"), this, [this] { m_runs->watchPolicyWithDialog(this); });
    watch->setObjectName("actionWatchPolicy");
    file->addSeparator();
    QAction* exportPolicy = file->addAction(tr("Export &policy…"), this, [this] { m_runs->exportPolicyWithDialog(this); });
    exportPolicy->setObjectName("actionExportPolicy");
    QAction* exportMetrics = file->addAction(tr("Export &metrics (CSV)…"), this, [this] { m_runs->exportMetricsWithDialog(this); });
    exportMetrics->setObjectName("actionExportMetrics");
    file->addAction(tr("&Export plots…"), m_plots, &PlotPanel::exportAllWithDialog);
    m_exportClipAction = file->addAction(tr("Export &clip…"), this, [this] { m_clips->exportClipWithDialog(); });
    m_exportClipAction->setObjectName("actionExportClip");
    m_exportClipAction->setToolTip(tr("Record the policy playing in the viewer, with its HUD, as an MP4 video or an animated GIF"));
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_params->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    undo->setObjectName("actionUndo");
    QAction* redo = m_params->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    redo->setObjectName("actionRedo");
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    runMenu->addAction(m_startAction);
    runMenu->addAction(m_pauseAction);
    runMenu->addAction(m_stepAction);
    runMenu->addAction(m_stepPhaseAction);
    runMenu->addAction(m_resetAction);
    runMenu->addAction(m_forkAction);
    runMenu->addSeparator();
    runMenu->addAction(m_pauseWhenSolvedAction);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_presentationAction);
    createPresentationPlotsMenu(view);
    view->addSeparator();
    view->addAction(m_runDock->toggleViewAction());
    view->addAction(m_paramDock->toggleViewAction());
    view->addAction(m_plotDock->toggleViewAction());
    QAction* inspectorAction = m_inspector->toggleViewAction();
    m_inspectorViewAction = inspectorAction;
    inspectorAction->setObjectName("actionInspector");
    inspectorAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    inspectorAction->setToolTip(tr("The trust-region inspector: one update along its step direction, and the δ what-if"));
    connect(inspectorAction, &QAction::triggered, this, [this](bool on) {
        if (on) showInspector();
    });
    view->addAction(inspectorAction);
    view->addAction(m_phaseDock->toggleViewAction());
    view->addAction(m_toolBar->toggleViewAction());
    view->addSeparator();
    view->addAction(m_replay->ghostAction());
    view->addSeparator();
    view->addAction(tr("Reset &layout"), this, &MainWindow::resetLayout);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), this, [this] { ConfigFiles::showShortcuts(this); });
    help->addAction(tr("&About TRPO Studio"), this, [this] { ConfigFiles::showAbout(this); });
}

void MainWindow::updateActions() {
    const bool running = m_session->isRunning();
    m_startAction->setEnabled(!running);
    m_pauseAction->setEnabled(running);
    m_stepAction->setEnabled(!running);
    m_stepPhaseAction->setEnabled(!running);
}

void MainWindow::setPresentationMode(bool on) {
    if (m_presentation == on) return;
    m_presentation = on;
    {
        const QSignalBlocker block(m_presentationAction);
        m_presentationAction->setChecked(on);
    }
    // the normal layout, given back exactly on leaving
    if (on) m_normalState = saveState();
    QFont f = m_baseFont;
    if (on) f.setPointSizeF(f.pointSizeF() * kPresentationFontScale);
    QApplication::setFont(f);
    m_plots->setPresentation(on);
    m_phaseView->setLargeText(on);
    m_envView->setLargeText(on);
    m_toolBar->setIconSize(on ? QSize(36, 36) : QSize(22, 22));
    updateBannerFont();
    if (!on) {
        // the normal layout exactly as it was. Twice, each after the posted events: first
        // the smaller type has to reach the widgets (QApplication posts the change), or the
        // docks' minimum sizes are still the large type's and a dock comes back larger;
        // then the docks shown again lay out their contents (word-wrapped labels' height
        // depends on the width), which can move a splitter by a pixel
        for (int pass = 0; pass < 2; ++pass) {
            QCoreApplication::sendPostedEvents();
            restoreState(m_normalState);
        }
        return;
    }
    // one idea per screen: the environment large in the centre (about 60 % of the width),
    // the two presentation plots stacked beside it, no control docks (the toolbar stays)
    m_runDock->hide();
    m_paramDock->hide();
    m_plotDock->setFloating(false);
    addDockWidget(Qt::RightDockWidgetArea, m_plotDock);
    m_plotDock->show();
    // phase stepping's view and the inspector come beside the environment when asked for
    m_phaseDock->hide();
    m_inspector->hide();
    resizeDocks({m_plotDock}, {width() * 2 / 5}, Qt::Horizontal);
    // once more when the window is laid out: before it is shown (--presentation, a restored
    // session) the dock area does not take the size yet
    QTimer::singleShot(0, this, [this] {
        if (m_presentation) resizeDocks({m_plotDock}, {width() * 2 / 5}, Qt::Horizontal);
    });
}

void MainWindow::createPresentationPlotsMenu(QMenu* view) {
    m_presentationPlotsMenu = view->addMenu(tr("Presentation p&lots"));
    m_presentationPlotsMenu->setObjectName("presentationPlotsMenu");
    m_presentationPlotsMenu->setToolTip(tr("The two plots presentation mode shows beside the environment"));
    QMenu* upper = m_presentationPlotsMenu->addMenu(tr("&Upper plot"));
    QMenu* lower = m_presentationPlotsMenu->addMenu(tr("&Lower plot"));
    auto* upperGroup = new QActionGroup(this);
    auto* lowerGroup = new QActionGroup(this);
    for (PlotWidget* plot : m_plots->plots()) {
        const QString key = m_plots->plotKey(plot);
        QAction* u = upper->addAction(plot->title());
        QAction* l = lower->addAction(plot->title());
        u->setObjectName("presentationUpper_" + key);
        l->setObjectName("presentationLower_" + key);
        for (QAction* a : {u, l}) a->setCheckable(true);
        upperGroup->addAction(u);
        lowerGroup->addAction(l);
        m_upperPlotActions.push_back(u);
        m_lowerPlotActions.push_back(l);
        // choosing for one place the plot the other shows swaps the two
        connect(u, &QAction::triggered, this, [this, plot] {
            const auto [top, bottom] = m_plots->presentationPlots();
            m_plots->setPresentationPlots(plot, plot == bottom ? top : bottom);
        });
        connect(l, &QAction::triggered, this, [this, plot] {
            const auto [top, bottom] = m_plots->presentationPlots();
            m_plots->setPresentationPlots(plot == top ? bottom : top, plot);
        });
    }
    connect(m_plots, &PlotPanel::presentationPlotsChanged, this, &MainWindow::syncPresentationPlotsMenu);
    syncPresentationPlotsMenu();
}

void MainWindow::syncPresentationPlotsMenu() {
    const auto [top, bottom] = m_plots->presentationPlots();
    const std::vector<PlotWidget*>& plots = m_plots->plots();
    for (size_t i = 0; i < plots.size(); ++i) {
        m_upperPlotActions[i]->setChecked(plots[i] == top);
        m_lowerPlotActions[i]->setChecked(plots[i] == bottom);
    }
}

void MainWindow::showSolved(int iteration, double recentReturnMean, double threshold) {
    m_solvedText->setText(tr("Solved at iteration %1: the last 20 episodes average %2 (threshold %3)")
                              .arg(iteration)
                              .arg(readable(recentReturnMean), readable(threshold)));
    m_solvedBanner->show();
}

void MainWindow::updateBannerFont() {
    // half as large again as the window's text (which presentation mode enlarges)
    QFont f = QApplication::font();
    f.setPointSizeF(f.pointSizeF() * 1.5);
    f.setBold(true);
    m_solvedText->setFont(f);
    if (auto* close = m_solvedBanner->findChild<QToolButton*>("solvedBannerClose")) close->setFont(f);
}

void MainWindow::resetLayout() {
    setPresentationMode(false);
    restoreState(m_defaultState);
    for (QDockWidget* d : {m_runDock, m_paramDock, m_plotDock}) d->show();
    m_inspector->hide();
    resizeDocks({m_runDock}, {360}, Qt::Horizontal);
    resizeDocks({m_plotDock}, {460}, Qt::Vertical);
    resizeDocks({m_runDock, m_paramDock}, {190, 760}, Qt::Vertical);
}

void MainWindow::restoreSettings() {
    QSettings s;
    restoreGeometry(s.value("window/geometry").toByteArray());
    restoreState(s.value("window/state").toByteArray());
    m_speedPicker->setCurrentIndex(std::clamp(s.value("viewer/speed", 0).toInt(), 0, 3));
    m_deterministic->setChecked(s.value("viewer/deterministic", false).toBool());
    m_plots->setXAxisMode(s.value("plots/xAxis", 0).toInt() == 1 ? XAxisMode::EnvSteps : XAxisMode::Iteration);
    m_plots->setSmoothing(std::clamp(s.value("plots/smoothing", 0.0).toDouble(), 0.0, 0.99));
    const QStringList shown = s.value("view/presentationPlots").toStringList();
    if (shown.size() == 2) m_plots->setPresentationPlots(m_plots->plotForKey(shown[0]), m_plots->plotForKey(shown[1]));
    if (s.value("view/presentation", false).toBool()) setPresentationMode(true);
    m_runs->setAutosaveInterval(s.value("autosave/every", 10).toInt());
    m_inspector->setProbeEvery(std::clamp(s.value("inspector/probeEvery", 0).toInt(), 0, 1000000));
    if (!m_options.pace)
        if (const std::optional<Pace> p = Pace::parse(s.value("run/pace").toString())) setPace(*p);
    m_pauseWhenSolvedAction->setChecked(s.value("run/pauseWhenSolved", false).toBool());
}

void MainWindow::saveSettings() {
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    // the normal layout also when closing in presentation mode (which is remembered apart)
    s.setValue("window/state", m_presentation ? m_normalState : saveState());
    s.setValue("viewer/speed", m_speedPicker->currentIndex());
    s.setValue("viewer/deterministic", m_deterministic->isChecked());
    s.setValue("view/presentation", m_presentation);
    const auto [top, bottom] = m_plots->presentationPlots();
    s.setValue("view/presentationPlots", QStringList{m_plots->plotKey(top), m_plots->plotKey(bottom)});
    s.setValue("plots/xAxis", m_plots->xAxisMode() == XAxisMode::EnvSteps ? 1 : 0);
    s.setValue("plots/smoothing", m_plots->smoothing());
    s.setValue("autosave/every", m_runs->autosaveInterval());
    s.setValue("inspector/probeEvery", m_inspector->probeEvery());
    s.setValue("run/pace", pace().key());
    s.setValue("run/pauseWhenSolved", m_pauseWhenSolvedAction->isChecked());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!m_closing) {
        m_closing = true;
        m_clips->cancel(); // a clip being written stops and leaves no file
        m_forks->stopAll(); // each fork keeps what it trained
        if (m_options.useSettings) saveSettings();
        m_runs->autosaveOnExit();
        m_session->shutdown();
        m_runs->markCleanExit();
    }
    event->accept();
}

} // namespace ui
