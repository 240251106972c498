// MainWindow: the studio. Centre: the environment view; docks: run controls,
// hyperparameters, plots; a status bar with the run's vital signs. It owns one
// TrainingSession and only exchanges value snapshots with it.
#pragma once

#include <QMainWindow>
#include <QString>
#include <optional>

#include "ui/metatypes.h"

class QAction;
class QComboBox;
class QCheckBox;
class QLabel;
class QDockWidget;
class QToolBar;

namespace ui {

class EnvView;
class HyperparameterPanel;
class PlotPanel;
class TrainingSession;

struct StudioOptions {
    QString env = "CartPole-v1";
    std::optional<int> stepsPerIteration; // overrides the preset (tests, bench)
    QString runDirBase;                   // non-empty: write run directories there
    bool useSettings = true;              // restore and save layout and choices with QSettings
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    TrainingSession* session() const { return m_session; }
    EnvView* envView() const { return m_envView; }
    PlotPanel* plotPanel() const { return m_plots; }
    HyperparameterPanel* hyperparameterPanel() const { return m_params; }
    QComboBox* environmentPicker() const { return m_envPicker; }
    QToolBar* runToolBar() const { return m_toolBar; }
    QAction* startAction() const { return m_startAction; }
    QAction* pauseAction() const { return m_pauseAction; }
    QAction* stepAction() const { return m_stepAction; }
    QAction* resetAction() const { return m_resetAction; }
    QAction* presentationAction() const { return m_presentationAction; }
    int iterationCount() const { return m_iterations; }
    std::int64_t envSteps() const { return m_envSteps; }
    bool isPresentationMode() const { return m_presentation; }

    void setPresentationMode(bool on);
    // new run with cfg: clears plots and counters, rebuilds the trainer and the viewer
    void resetRun(const core::TrpoConfig& cfg);

signals:
    // emitted after the plots and counters have been cleared for a new run
    void runReset();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createDocks();
    void createMenus();
    void createStatusBar();
    void restoreSettings();
    void saveSettings();
    void updateActions();
    void onIterationFinished(const core::IterationStats& s);
    void onConfigApplied(const std::vector<core::ConfigEvent>& events);
    void onResetFinished(const core::TrpoConfig& cfg);
    void onColdChangeRequested(const core::TrpoConfig& next, const QString& description);
    void onEnvironmentPicked(int index);
    bool confirmReset(const QString& what);
    void saveConfigToFile();
    void loadConfigFromFile();
    void exportPlots();
    void showShortcuts();
    void resetLayout();

    StudioOptions m_options;
    TrainingSession* m_session = nullptr;
    EnvView* m_envView = nullptr;
    PlotPanel* m_plots = nullptr;
    HyperparameterPanel* m_params = nullptr;
    QDockWidget* m_runDock = nullptr;
    QDockWidget* m_paramDock = nullptr;
    QDockWidget* m_plotDock = nullptr;
    QToolBar* m_toolBar = nullptr;
    QComboBox* m_envPicker = nullptr;
    QComboBox* m_speedPicker = nullptr;
    QCheckBox* m_deterministic = nullptr;
    QLabel* m_runSummary = nullptr;
    QLabel* m_statusIteration = nullptr;
    QLabel* m_statusSteps = nullptr;
    QLabel* m_statusSpeed = nullptr;
    QLabel* m_statusKl = nullptr;
    QLabel* m_statusLineSearch = nullptr;
    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_stepAction = nullptr;
    QAction* m_resetAction = nullptr;
    QAction* m_presentationAction = nullptr;
    QAction* m_quitAction = nullptr;
    QByteArray m_defaultState;
    QFont m_baseFont;
    bool m_presentation = false;
    bool m_closing = false;
    int m_iterations = 0;
    std::int64_t m_envSteps = 0;
    std::optional<core::IterationStats> m_last;
};

} // namespace ui
