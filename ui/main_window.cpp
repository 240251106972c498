#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSaveFile>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "core/presets.h"
#include "sim/registry.h"
#include "ui/env_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/plot_panel.h"
#include "ui/run_file.h"
#include "ui/training_session.h"

namespace ui {

namespace {

QString withThousands(std::int64_t v) { return QLocale(QLocale::English).toString(static_cast<qlonglong>(v)); }

std::optional<double> solvedThreshold(const std::string& envId) {
    std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(envId);
    return env ? env->spec().rewardThreshold : std::nullopt;
}

} // namespace

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent) : QMainWindow(parent), m_options(options) {
    registerMetaTypes();
    setObjectName("trpoStudio");
    setWindowTitle(tr("TRPO Studio"));
    m_baseFont = QApplication::font();
    m_session = new TrainingSession(this);
    if (!options.runDirBase.isEmpty()) m_session->setRunDirectoryBase(options.runDirBase);

    m_envView = new EnvView;
    // the centre: a banner (shown only while watching a policy file) above the viewer
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
    centreLayout->addWidget(m_envView, 1);
    setCentralWidget(centre);
    m_plots = new PlotPanel;
    m_params = new HyperparameterPanel;

    createActions();
    createDocks();
    createMenus();
    createStatusBar();

    connect(m_session, &TrainingSession::iterationFinished, this, &MainWindow::onIterationFinished);
    connect(m_session, &TrainingSession::snapshotReady, this, [this](const core::SnapshotPtr& p) {
        m_liveSnapshot = p;
        if (!m_watching) m_envView->setSnapshot(p);
    });
    connect(m_session, &TrainingSession::stateCaptured, this, &MainWindow::onStateCaptured);
    connect(m_session, &TrainingSession::runLoaded, this, &MainWindow::onRunLoaded);
    connect(m_session, &TrainingSession::loadFailed, this,
            [this](const QString& msg) { showError(tr("Open run"), tr("Could not open the run:\n%1\n\nThe current run is unchanged.").arg(msg)); });
    connect(m_session, &TrainingSession::configApplied, this, &MainWindow::onConfigApplied);
    connect(m_session, &TrainingSession::resetFinished, this, &MainWindow::onResetFinished);
    connect(m_session, &TrainingSession::runningChanged, this, &MainWindow::updateActions);
    connect(m_session, &TrainingSession::failed, this, [this](const QString& msg) {
        statusBar()->showMessage(msg, 15000);
        m_runSummary->setText(QString("<span style='color:#b00020'>%1</span>").arg(msg.toHtmlEscaped()));
        updateActions();
    });
    connect(m_params, &HyperparameterPanel::hotConfigChanged, m_session, &TrainingSession::applyHotConfig);
    connect(m_params, &HyperparameterPanel::coldChangeRequested, this, &MainWindow::onColdChangeRequested);
    connect(m_params, &HyperparameterPanel::inputRejected, this,
            [this](const QString& msg) { statusBar()->showMessage(tr("Refused: %1").arg(msg), 8000); });

    resize(1600, 1000);
    m_defaultState = saveState();
    if (m_options.useSettings) restoreSettings();
    {
        const QSignalBlocker block(m_autosaveSpin);
        m_autosaveSpin->setValue(m_autosaveEvery);
    }

    core::TrpoConfig cfg;
    try {
        cfg = core::presetConfig(m_options.env.toStdString());
    } catch (const std::exception& e) {
        statusBar()->showMessage(QString::fromStdString(e.what()), 15000);
        cfg.env = m_options.env.toStdString();
    }
    if (m_options.stepsPerIteration) cfg.stepsPerIteration = *m_options.stepsPerIteration;
    resetRun(cfg);
    updateActions();
}

MainWindow::~MainWindow() { m_session->shutdown(); }

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
    m_resetAction = new QAction(st->standardIcon(QStyle::SP_BrowserReload), tr("&Reset"), this);
    m_resetAction->setObjectName("actionReset");
    m_resetAction->setShortcut(Qt::Key_R);
    m_resetAction->setToolTip(tr("Start a new run with the current settings (R)"));
    m_presentationAction = new QAction(tr("&Presentation mode"), this);
    m_presentationAction->setObjectName("actionPresentation");
    m_presentationAction->setCheckable(true);
    m_presentationAction->setShortcuts({QKeySequence(Qt::Key_F11), QKeySequence(Qt::CTRL | Qt::Key_P)});
    m_presentationAction->setToolTip(tr("Large fonts and thick lines for a projector (F11, Ctrl+P)"));
    m_quitAction = new QAction(tr("&Quit"), this);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setObjectName("actionQuit");

    connect(m_startAction, &QAction::triggered, this, [this] {
        leaveWatchMode();
        m_session->start();
    });
    connect(m_pauseAction, &QAction::triggered, m_session, &TrainingSession::pause);
    connect(m_stepAction, &QAction::triggered, this, [this] {
        leaveWatchMode();
        m_session->step();
    });
    connect(m_resetAction, &QAction::triggered, this, [this] { resetRun(m_params->config()); });
    connect(m_presentationAction, &QAction::toggled, this, &MainWindow::setPresentationMode);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_toolBar = addToolBar(tr("Run"));
    m_toolBar->setObjectName("runToolBar");
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_toolBar->setIconSize(QSize(22, 22));
    m_toolBar->addAction(m_startAction);
    m_toolBar->addAction(m_pauseAction);
    m_toolBar->addAction(m_stepAction);
    m_toolBar->addAction(m_resetAction);
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_presentationAction);
}

void MainWindow::createDocks() {
    // run controls
    auto* run = new QWidget;
    run->setObjectName("runControls");
    auto* form = new QFormLayout;
    m_envPicker = new QComboBox;
    m_envPicker->setObjectName("environmentPicker");
    for (const sim::EnvInfo& e : sim::registry()) {
        m_envPicker->addItem(QString::fromStdString(e.id));
        m_envPicker->setItemData(m_envPicker->count() - 1, QString::fromStdString(e.description), Qt::ToolTipRole);
    }
    m_envPicker->setToolTip(tr("The environment to train on. Switching starts a new run with its preset."));
    connect(m_envPicker, &QComboBox::activated, this, &MainWindow::onEnvironmentPicked);
    form->addRow(tr("Environment"), m_envPicker);

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
    m_autosaveSpin = new QSpinBox;
    m_autosaveSpin->setObjectName("autosaveInterval");
    m_autosaveSpin->setRange(0, 100000);
    m_autosaveSpin->setSpecialValueText(tr("Off"));
    m_autosaveSpin->setPrefix(tr("every "));
    m_autosaveSpin->setSuffix(tr(" iterations"));
    m_autosaveSpin->setToolTip(tr("Save the run to the autosave location every N iterations and on exit, so a crash "
                                  "loses at most N iterations. 0 turns autosave off."));
    connect(m_autosaveSpin, &QSpinBox::valueChanged, this, [this](int v) { m_autosaveEvery = v; });
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

    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    resizeDocks({m_runDock}, {360}, Qt::Horizontal);
    resizeDocks({m_plotDock}, {460}, Qt::Vertical);
    resizeDocks({m_runDock, m_paramDock}, {190, 760}, Qt::Vertical);
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open configuration…"), QKeySequence::Open, this, &MainWindow::loadConfigFromFile);
    file->addAction(tr("&Save configuration…"), QKeySequence::Save, this, &MainWindow::saveConfigToFile);
    file->addSeparator();
    QAction* openRun = file->addAction(tr("Open &run…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this,
                                       &MainWindow::openRunWithDialog);
    openRun->setObjectName("actionOpenRun");
    openRun->setToolTip(tr("Restore a saved run (a .trporun folder): plots, settings and the trainer, ready to continue"));
    QAction* saveRun = file->addAction(tr("Sa&ve run…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), this,
                                       &MainWindow::saveRunWithDialog);
    saveRun->setObjectName("actionSaveRun");
    saveRun->setToolTip(tr("Save the whole run (settings, every plot's history, events and the trainer checkpoint)"));
    QAction* watch = file->addAction(tr("&Watch policy…"), this, &MainWindow::watchPolicyWithDialog);
    watch->setObjectName("actionWatchPolicy");
    file->addSeparator();
    QAction* exportPolicy = file->addAction(tr("Export &policy…"), this, &MainWindow::exportPolicyWithDialog);
    exportPolicy->setObjectName("actionExportPolicy");
    QAction* exportMetrics = file->addAction(tr("Export &metrics (CSV)…"), this, &MainWindow::exportMetricsWithDialog);
    exportMetrics->setObjectName("actionExportMetrics");
    file->addAction(tr("&Export plots…"), this, &MainWindow::exportPlots);
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_params->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_params->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    runMenu->addAction(m_startAction);
    runMenu->addAction(m_pauseAction);
    runMenu->addAction(m_stepAction);
    runMenu->addAction(m_resetAction);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_presentationAction);
    view->addSeparator();
    view->addAction(m_runDock->toggleViewAction());
    view->addAction(m_paramDock->toggleViewAction());
    view->addAction(m_plotDock->toggleViewAction());
    view->addAction(m_toolBar->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("Reset &layout"), this, &MainWindow::resetLayout);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), this, &MainWindow::showShortcuts);
    help->addAction(tr("&About TRPO Studio"), this, [this] {
        QMessageBox::about(this, tr("About TRPO Studio"),
                           tr("<b>TRPO Studio %1</b><p>Trust Region Policy Optimization on Box2D environments, "
                              "live.</p><p>GPL-3.0-or-later. Uses Qt (LGPL), QCustomPlot (GPLv3), Eigen (MPL2) "
                              "and Box2D (MIT).</p>")
                               .arg(TRPO_VERSION));
    });
}

void MainWindow::createStatusBar() {
    auto make = [this](const QString& name, int minWidth) {
        auto* l = new QLabel;
        l->setObjectName(name);
        l->setMinimumWidth(minWidth);
        statusBar()->addPermanentWidget(l);
        return l;
    };
    m_statusIteration = make("statusIteration", 110);
    m_statusSteps = make("statusSteps", 140);
    m_statusSpeed = make("statusSpeed", 120);
    m_statusKl = make("statusKl", 190);
    m_statusLineSearch = make("statusLineSearch", 260);
}

void MainWindow::updateActions() {
    const bool running = m_session->isRunning();
    m_startAction->setEnabled(!running);
    m_pauseAction->setEnabled(running);
    m_stepAction->setEnabled(!running);
}

void MainWindow::resetRun(const core::TrpoConfig& cfg) {
    leaveWatchMode();
    m_params->setConfig(cfg);
    {
        const QSignalBlocker block(m_envPicker);
        m_envPicker->setCurrentText(QString::fromStdString(cfg.env));
    }
    m_envView->setEnvironment(QString::fromStdString(cfg.env));
    m_session->reset(cfg);
    updateActions();
}

void MainWindow::onResetFinished(const core::TrpoConfig& cfg) {
    m_plots->clear();
    m_plots->setSolvedThreshold(solvedThreshold(cfg.env));
    m_iterations = 0;
    m_envSteps = 0;
    m_last.reset();
    m_history.clear();
    m_liveSnapshot.reset();
    m_statusIteration->setText(tr("Iteration 0"));
    m_statusSteps->setText(tr("0 steps"));
    m_statusSpeed->setText(tr("— steps/s"));
    m_statusKl->setText(tr("KL — / δ %1").arg(cfg.delta));
    m_statusLineSearch->setText(tr("Line search: —"));
    QString summary = tr("New run: <b>%1</b>, seed %2, %3 steps per iteration.")
                          .arg(QString::fromStdString(cfg.env))
                          .arg(cfg.seed)
                          .arg(cfg.stepsPerIteration);
    if (!m_session->runDirectory().isEmpty())
        summary += tr("<br>Writing %1").arg(m_session->runDirectory().toHtmlEscaped());
    m_runSummary->setText(summary + tr("<br>Press <b>Space</b> to start."));
    updateActions();
    emit runReset();
}

void MainWindow::onIterationFinished(const core::IterationStats& s) {
    m_history.push_back(s);
    m_plots->addIteration(s);
    showIterationStatus(s);
    if (m_options.autosave && m_autosaveEvery > 0 && s.iteration % m_autosaveEvery == 0) requestAutosave();
}

void MainWindow::showIterationStatus(const core::IterationStats& s) {
    m_iterations = s.iteration;
    m_envSteps = s.envSteps;
    m_last = s;
    m_statusIteration->setText(tr("Iteration %1").arg(s.iteration));
    m_statusSteps->setText(tr("%1 steps").arg(withThousands(s.envSteps)));
    m_statusSpeed->setText(tr("%1 steps/s").arg(withThousands(static_cast<std::int64_t>(s.stepsPerSecond))));
    m_statusKl->setText(tr("KL %1 / δ %2").arg(s.klMean, 0, 'g', 3).arg(s.delta, 0, 'g', 3));
    if (s.accepted)
        m_statusLineSearch->setText(tr("Line search: accepted, %n backtrack(s)", nullptr, s.backtracks));
    else
        m_statusLineSearch->setText(tr("<span style='color:#b00020'>Line search: rejected (%1)</span>")
                                        .arg(QString::fromLatin1(core::outcomeName(s.outcome))));
    QString summary = tr("Iteration <b>%1</b>, %2 steps").arg(s.iteration).arg(withThousands(s.envSteps));
    if (s.recentReturnMean) summary += tr("<br>Mean return (last 20 episodes): <b>%1</b>").arg(*s.recentReturnMean, 0, 'f', 1);
    m_runSummary->setText(summary);
}

void MainWindow::onConfigApplied(const std::vector<core::ConfigEvent>& events) {
    m_plots->addConfigEvents(events);
    QStringList parts;
    for (const core::ConfigEvent& e : events) parts << PlotPanel::markerLabel(e);
    if (!events.empty())
        statusBar()->showMessage(tr("%1 from iteration %2").arg(parts.join(", ")).arg(events.front().iteration), 8000);
}

bool MainWindow::confirmReset(const QString& what) {
    QMessageBox box(QMessageBox::Question, tr("Reset needed"),
                    tr("%1\n\nThis setting cannot change during a run. Start a new run with it now?").arg(what),
                    QMessageBox::Yes | QMessageBox::No, this);
    box.setObjectName("confirmResetDialog");
    box.setDefaultButton(QMessageBox::Yes);
    return box.exec() == QMessageBox::Yes;
}

void MainWindow::onColdChangeRequested(const core::TrpoConfig& next, const QString& description) {
    if (confirmReset(description))
        resetRun(next);
    else
        m_params->setConfig(m_params->config());
}

void MainWindow::onEnvironmentPicked(int index) {
    const QString id = m_envPicker->itemText(index);
    const core::TrpoConfig current = m_params->config();
    if (id.toStdString() == current.env) return;
    if (!confirmReset(tr("Environment: %1 → %2 (with its preset settings)").arg(QString::fromStdString(current.env), id))) {
        const QSignalBlocker block(m_envPicker);
        m_envPicker->setCurrentText(QString::fromStdString(current.env));
        return;
    }
    core::TrpoConfig cfg;
    try {
        cfg = core::presetConfig(id.toStdString());
    } catch (const std::exception& e) {
        statusBar()->showMessage(QString::fromStdString(e.what()), 15000);
        cfg = current;
        cfg.env = id.toStdString();
    }
    cfg.seed = current.seed;
    if (m_options.stepsPerIteration) cfg.stepsPerIteration = *m_options.stepsPerIteration;
    resetRun(cfg);
}

void MainWindow::setPresentationMode(bool on) {
    if (m_presentation == on) return;
    m_presentation = on;
    {
        const QSignalBlocker block(m_presentationAction);
        m_presentationAction->setChecked(on);
    }
    QFont f = m_baseFont;
    if (on) f.setPointSizeF(f.pointSizeF() * 1.4);
    QApplication::setFont(f);
    m_plots->setPresentation(on);
    m_envView->setLargeText(on);
    m_toolBar->setIconSize(on ? QSize(36, 36) : QSize(22, 22));
    // give the plots and the controls the room the larger type needs
    resizeDocks({m_runDock}, {on ? 450 : 360}, Qt::Horizontal);
    resizeDocks({m_plotDock}, {on ? height() * 11 / 20 : 460}, Qt::Vertical);
}

void MainWindow::saveConfigToFile() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save configuration"), "config.json", tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        f.write(QByteArray::fromStdString(core::configToJson(m_params->config()) + "\n")) < 0) {
        QMessageBox::warning(this, tr("Save configuration"), tr("Could not write %1: %2").arg(path, f.errorString()));
        return;
    }
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
}

void MainWindow::loadConfigFromFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open configuration"), QString(), tr("JSON (*.json)"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        QMessageBox::warning(this, tr("Open configuration"), tr("Could not read %1: %2").arg(path, f.errorString()));
        return;
    }
    core::TrpoConfig cfg = m_params->config();
    try {
        core::applyConfigJson(cfg, f.readAll().toStdString());
        cfg.validate();
        if (!sim::makeEnvironment(cfg.env)) throw core::ConfigError("unknown environment " + cfg.env);
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Open configuration"), tr("%1: %2").arg(path, QString::fromStdString(e.what())));
        return;
    }
    const core::TrpoConfig current = m_params->config();
    bool cold = false;
    for (const core::ConfigChange& c : core::diffConfigs(current, cfg, false)) {
        const core::ConfigField* field = core::findConfigField(c.key);
        if (field && !field->hot) cold = true;
    }
    if (cold) {
        if (confirmReset(tr("%1 changes settings that need a new run.").arg(path))) resetRun(cfg);
        return;
    }
    for (const core::ConfigChange& c : core::diffConfigs(current, cfg, true)) m_params->requestChange(c.key, c.to);
}

void MainWindow::exportPlots() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export all plots to"));
    if (dir.isEmpty()) return;
    if (m_plots->exportAll(dir))
        statusBar()->showMessage(tr("Plots written to %1").arg(dir), 5000);
    else
        QMessageBox::warning(this, tr("Export plots"), tr("Some plots could not be written to %1.").arg(dir));
}

void MainWindow::showShortcuts() {
    QMessageBox::information(this, tr("Keyboard shortcuts"),
                             tr("<table cellpadding=3>"
                                "<tr><td><b>Space</b></td><td>Start / pause training</td></tr>"
                                "<tr><td><b>S</b></td><td>Step one iteration</td></tr>"
                                "<tr><td><b>R</b></td><td>Reset (new run, current settings)</td></tr>"
                                "<tr><td><b>Ctrl+Shift+S / Ctrl+Shift+O</b></td><td>Save run / open run</td></tr>"
                                "<tr><td><b>Ctrl+Z / Ctrl+Shift+Z</b></td><td>Undo / redo a hyperparameter change</td></tr>"
                                "<tr><td><b>F11, Ctrl+P</b></td><td>Presentation mode</td></tr>"
                                "<tr><td><b>Ctrl+Q</b></td><td>Quit</td></tr>"
                                "<tr><td><b>Mouse</b></td><td>Drag a body in the view; wheel/drag/double-click on plots</td></tr>"
                                "</table>"));
}

void MainWindow::resetLayout() {
    restoreState(m_defaultState);
    for (QDockWidget* d : {m_runDock, m_paramDock, m_plotDock}) d->show();
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
    if (s.value("view/presentation", false).toBool()) setPresentationMode(true);
    m_autosaveEvery = std::clamp(s.value("autosave/every", 10).toInt(), 0, 100000);
}

void MainWindow::saveSettings() {
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    s.setValue("window/state", saveState());
    s.setValue("viewer/speed", m_speedPicker->currentIndex());
    s.setValue("viewer/deterministic", m_deterministic->isChecked());
    s.setValue("view/presentation", m_presentation);
    s.setValue("plots/xAxis", m_plots->xAxisMode() == XAxisMode::EnvSteps ? 1 : 0);
    s.setValue("plots/smoothing", m_plots->smoothing());
    s.setValue("autosave/every", m_autosaveEvery);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!m_closing) {
        m_closing = true;
        if (m_options.useSettings) saveSettings();
        // the last autosave: the worker hands over its state after the iteration in flight
        if (m_options.autosave && m_autosaveEvery > 0) {
            const RunStatePtr st = m_session->captureStateNow();
            if (st && st->iteration > 0) {
                try {
                    writeRun(autosavePath().toStdString(), *st);
                } catch (const std::exception& e) {
                    qWarning("trpo-studio: autosave on exit failed: %s", e.what());
                }
            }
        }
        m_session->shutdown();
        if (m_options.autosave) writeCleanExitMarker();
    }
    event->accept();
}

// ---------------------------------------------------------------------------------------
// runs, exports, watch mode, autosave

void MainWindow::showError(const QString& title, const QString& text) {
    emit errorShown(title, text);
    statusBar()->showMessage(text.section('\n', 0, 0), 10000);
    if (m_messageHook)
        m_messageHook(title, text);
    else
        QMessageBox::warning(this, title, text);
}

bool MainWindow::ask(const QString& title, const QString& text) {
    if (m_questionHook) return m_questionHook(title, text);
    QMessageBox box(QMessageBox::Question, title, text, QMessageBox::Yes | QMessageBox::No, this);
    box.setObjectName("questionDialog");
    box.setDefaultButton(QMessageBox::Yes);
    return box.exec() == QMessageBox::Yes;
}

void MainWindow::saveRun(const QString& dir) {
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Run, dir};
    statusBar()->showMessage(tr("Saving the run to %1…").arg(dir));
}

void MainWindow::exportPolicy(const QString& path) {
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Policy, path};
}

void MainWindow::requestAutosave() {
    if (m_autosavePending) return; // the previous one is still on its way
    m_autosavePending = true;
    const int id = m_session->requestState();
    m_pendingSaves[id] = {SaveKind::Autosave, autosavePath()};
}

void MainWindow::onStateCaptured(int requestId, const RunStatePtr& state) {
    auto it = m_pendingSaves.find(requestId);
    if (it == m_pendingSaves.end()) return;
    const PendingSave job = it->second;
    m_pendingSaves.erase(it);
    if (job.kind == SaveKind::Autosave) {
        m_autosavePending = false;
        // a reset came in between: never replace the autosave by an empty run
        if (!state || state->iteration == 0) return;
    }
    if (!state) {
        if (job.kind != SaveKind::Autosave)
            showError(job.kind == SaveKind::Run ? tr("Save run") : tr("Export policy"),
                      tr("%1: nothing to save, there is no trainer (the last reset failed).").arg(job.path));
        return;
    }
    try {
        switch (job.kind) {
        case SaveKind::Run:
        case SaveKind::Autosave: {
            RunState st = *state;
            st.savedAtMs = QDateTime::currentMSecsSinceEpoch();
            writeRun(job.path.toStdString(), st);
            if (job.kind == SaveKind::Run) {
                statusBar()->showMessage(tr("Run saved to %1 (iteration %2)").arg(job.path).arg(st.iteration), 8000);
                emit runSaved(job.path);
            } else {
                emit autosaved(job.path);
            }
            break;
        }
        case SaveKind::Policy:
            writePolicyFile(job.path.toStdString(), *state->snapshot, policyMetadata(state->config, state->events));
            statusBar()->showMessage(tr("Policy of iteration %1 written to %2").arg(state->iteration).arg(job.path), 8000);
            emit policyExported(job.path);
            break;
        }
    } catch (const std::exception& e) {
        const QString msg = QString::fromStdString(e.what());
        if (job.kind == SaveKind::Autosave)
            statusBar()->showMessage(tr("Autosave failed: %1").arg(msg), 15000);
        else
            showError(job.kind == SaveKind::Run ? tr("Save run") : tr("Export policy"), tr("Could not write %1:\n%2").arg(job.path, msg));
    }
}

bool MainWindow::openRun(const QString& dir) {
    RunState st;
    try {
        st = readRun(dir.toStdString());
    } catch (const std::exception& e) {
        showError(tr("Open run"), tr("Could not open the run %1:\n%2\n\nThe current run is unchanged.")
                                      .arg(dir, QString::fromStdString(e.what())));
        return false;
    }
    statusBar()->showMessage(tr("Opening %1…").arg(dir));
    m_session->loadRun(std::make_shared<RunState>(std::move(st)));
    return true;
}

void MainWindow::onRunLoaded(const RunStatePtr& st) {
    leaveWatchMode();
    const core::TrpoConfig& cfg = st->config;
    m_params->setConfig(cfg);
    m_params->undoStack()->clear();
    {
        const QSignalBlocker block(m_envPicker);
        m_envPicker->setCurrentText(QString::fromStdString(cfg.env));
    }
    m_envView->setEnvironment(QString::fromStdString(cfg.env));
    m_liveSnapshot = st->snapshot;
    m_envView->setSnapshot(st->snapshot);

    m_plots->clear();
    m_plots->setSolvedThreshold(solvedThreshold(cfg.env));
    m_plots->addIterations(st->history);
    m_plots->addConfigEvents(st->events);
    m_history = st->history;
    m_iterations = st->iteration;
    m_envSteps = st->envSteps;
    m_last.reset();
    if (!m_history.empty()) {
        showIterationStatus(m_history.back());
    } else {
        m_statusIteration->setText(tr("Iteration 0"));
        m_statusSteps->setText(tr("0 steps"));
    }
    QString summary = tr("Opened <b>%1</b>: %2, iteration %3, %4 steps.")
                          .arg(st->source.toHtmlEscaped(), QString::fromStdString(cfg.env))
                          .arg(st->iteration)
                          .arg(withThousands(st->envSteps));
    if (!m_session->runDirectory().isEmpty())
        summary += tr("<br>Writing %1").arg(m_session->runDirectory().toHtmlEscaped());
    m_runSummary->setText(summary + tr("<br>Press <b>Space</b> to continue training."));
    statusBar()->showMessage(tr("Opened %1 at iteration %2").arg(st->source).arg(st->iteration), 8000);
    updateActions();
    emit runOpened(st->source);
}

bool MainWindow::exportMetrics(const QString& path) {
    std::string csv = core::csvHeader() + "\n";
    for (const core::IterationStats& s : m_history) csv += core::csvRow(s) + "\n";
    try {
        core::writeFileAtomic(path.toStdString(), csv);
    } catch (const std::exception& e) {
        showError(tr("Export metrics"), tr("Could not write %1:\n%2").arg(path, QString::fromStdString(e.what())));
        return false;
    }
    statusBar()->showMessage(tr("%n iteration(s) written to %1", nullptr, static_cast<int>(m_history.size())).arg(path), 8000);
    return true;
}

bool MainWindow::watchPolicy(const QString& path) {
    core::SnapshotPtr snap;
    try {
        snap = readPolicyFile(path.toStdString());
    } catch (const std::exception& e) {
        showError(tr("Watch policy"), tr("Cannot play %1:\n%2").arg(path, QString::fromStdString(e.what())));
        return false;
    }
    m_session->pause();
    m_watching = true;
    m_watchFile = path;
    const QString env = QString::fromStdString(snap->envId);
    m_envView->setEnvironment(env);
    m_envView->setSnapshot(snap);
    m_watchBanner->setText(tr("▶ Watching <b>%1</b> (%2, iteration %3). Training is paused; <b>Start</b>, <b>Step</b> or "
                              "<b>Reset</b> returns to the run.")
                               .arg(QFileInfo(path).fileName().toHtmlEscaped(), env.toHtmlEscaped())
                               .arg(snap->iteration));
    m_watchBanner->setToolTip(path);
    m_watchBanner->show();
    statusBar()->showMessage(tr("Watching %1").arg(path), 8000);
    emit watchStarted(path);
    return true;
}

void MainWindow::leaveWatchMode() {
    if (!m_watching) return;
    m_watching = false;
    m_watchFile.clear();
    m_watchBanner->hide();
    m_envView->setEnvironment(QString::fromStdString(m_session->config().env));
    if (m_liveSnapshot) m_envView->setSnapshot(m_liveSnapshot);
}

QString MainWindow::autosaveDirectory() const {
    if (!m_options.autosaveDir.isEmpty()) return m_options.autosaveDir;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("autosave");
}

QString MainWindow::autosavePath() const { return QDir(autosaveDirectory()).filePath("autosave.trporun"); }

void MainWindow::setAutosaveInterval(int iterations) { m_autosaveSpin->setValue(iterations); }

void MainWindow::writeCleanExitMarker() {
    QDir().mkpath(autosaveDirectory());
    QSaveFile f(QDir(autosaveDirectory()).filePath("clean-exit"));
    if (f.open(QIODevice::WriteOnly)) {
        f.write(QByteArray::number(QDateTime::currentMSecsSinceEpoch()) + "\n");
        f.commit();
    }
}

bool MainWindow::hasUnfinishedAutosave() const {
    const std::string path = autosavePath().toStdString();
    std::optional<std::int64_t> saved = runSavedAt(path);
    if (!saved) saved = runSavedAt(path + ".old"); // a save interrupted mid-swap
    if (!saved) return false;
    QFile marker(QDir(autosaveDirectory()).filePath("clean-exit"));
    qint64 cleanExit = 0;
    if (marker.open(QIODevice::ReadOnly)) cleanExit = marker.readAll().trimmed().toLongLong();
    return *saved > cleanExit;
}

bool MainWindow::offerAutosaveRestore() {
    if (!hasUnfinishedAutosave()) return false;
    const std::optional<std::int64_t> saved = runSavedAt(autosavePath().toStdString());
    const QString when = saved ? QLocale().toString(QDateTime::fromMSecsSinceEpoch(*saved), QLocale::ShortFormat) : tr("an unknown time");
    if (!ask(tr("Restore the last run?"),
             tr("The previous session did not end normally. Its run was autosaved at %1.\n\nRestore it?").arg(when)))
        return false;
    return openRun(autosavePath());
}

void MainWindow::saveRunWithDialog() {
    QString dir = QFileDialog::getSaveFileName(this, tr("Save run"), "run.trporun", tr("TRPO Studio run (*.trporun)"));
    if (dir.isEmpty()) return;
    if (!dir.endsWith(".trporun")) dir += ".trporun";
    saveRun(dir);
}

void MainWindow::openRunWithDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run (a .trporun folder)"));
    if (!dir.isEmpty()) openRun(dir);
}

void MainWindow::exportPolicyWithDialog() {
    QStringList filters{tr("Policy JSON (*.json)")};
    if (onnxAvailable()) filters << tr("ONNX model (*.onnx)");
    QString selected;
    QString path = QFileDialog::getSaveFileName(this, tr("Export policy"), "policy.json", filters.join(";;"), &selected);
    if (path.isEmpty()) return;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != "json" && suffix != "onnx") path += selected.contains("onnx") ? ".onnx" : ".json";
    exportPolicy(path);
}

void MainWindow::exportMetricsWithDialog() {
    QString path = QFileDialog::getSaveFileName(this, tr("Export metrics"), "progress.csv", tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += ".csv";
    exportMetrics(path);
}

void MainWindow::watchPolicyWithDialog() {
    QString filter = tr("Policies (*.json *.ckpt%1);;Policy JSON (*.json);;Checkpoints (*.ckpt)").arg(onnxAvailable() ? " *.onnx" : "");
    if (onnxAvailable()) filter += tr(";;ONNX models (*.onnx)");
    const QString path = QFileDialog::getOpenFileName(this, tr("Watch policy"), QString(), filter);
    if (!path.isEmpty()) watchPolicy(path);
}

} // namespace ui
