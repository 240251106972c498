// MainWindow: the studio. Centre: the environment view; docks: run controls,
// hyperparameters, plots; a status bar with the run's vital signs. It owns one
// TrainingSession and only exchanges value snapshots with it.
#pragma once

#include <QMainWindow>
#include <QString>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "ui/metatypes.h"

class QAction;
class QComboBox;
class QCheckBox;
class QLabel;
class QDockWidget;
class QSpinBox;
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
    bool autosave = true;                 // save the run every N iterations and on close
    QString autosaveDir;                  // empty: <AppDataLocation>/autosave
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

    // --- runs and exports (the File menu's verbs; the actions ask for the path first) ---
    // saves the whole run to dir (NAME.trporun, see ui/run_file.h); the trainer's state comes
    // from the worker between iterations. runSaved(dir) or an error message follows.
    void saveRun(const QString& dir);
    // restores a saved run: false (and an error message) if its files are unreadable; else
    // runOpened follows, or an error message with the current run untouched
    bool openRun(const QString& dir);
    // the current policy as .json or .onnx (by suffix); policyExported(path) or an error follows
    void exportPolicy(const QString& path);
    // progress.csv-style metrics of every iteration shown; false (and a message) on failure
    bool exportMetrics(const QString& path);
    // plays a policy file (.json, .onnx, .ckpt) in the viewer with training paused; Start,
    // Step, Reset or Open leave watch mode. False (and a message) if the file is unusable.
    bool watchPolicy(const QString& path);
    void leaveWatchMode();
    bool isWatching() const { return m_watching; }
    QString watchedFile() const { return m_watchFile; }
    QLabel* watchBanner() const { return m_watchBanner; }
    // every iteration of the current run, as shown in the plots
    const std::vector<core::IterationStats>& history() const { return m_history; }

    // --- autosave ---
    QString autosaveDirectory() const;                      // holds the autosave and the clean-exit marker
    QString autosavePath() const;                           // <autosaveDirectory>/autosave.trporun
    int autosaveInterval() const { return m_autosaveEvery; } // 0 = off
    void setAutosaveInterval(int iterations);
    QSpinBox* autosaveEditor() const { return m_autosaveSpin; }
    // an autosave newer than the last clean exit (the previous session did not close normally)
    bool hasUnfinishedAutosave() const;
    // asks whether to restore such an autosave and opens it on Yes; true if it is being restored
    bool offerAutosaveRestore();

    // hooks replacing the modal dialogs (tests): error messages and Yes/No questions
    using MessageHook = std::function<void(const QString& title, const QString& text)>;
    using QuestionHook = std::function<bool(const QString& title, const QString& text)>;
    void setMessageHook(MessageHook hook) { m_messageHook = std::move(hook); }
    void setQuestionHook(QuestionHook hook) { m_questionHook = std::move(hook); }
    // new run with cfg: clears plots and counters, rebuilds the trainer and the viewer
    void resetRun(const core::TrpoConfig& cfg);

signals:
    // emitted after the plots and counters have been cleared for a new run
    void runReset();
    void runSaved(const QString& dir);
    void runOpened(const QString& dir);
    void policyExported(const QString& path);
    void autosaved(const QString& dir);
    void watchStarted(const QString& path);
    // every error message shown (also when a hook replaces the dialog)
    void errorShown(const QString& title, const QString& text);

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
    void showIterationStatus(const core::IterationStats& s);
    void onStateCaptured(int requestId, const RunStatePtr& state);
    void onRunLoaded(const RunStatePtr& state);
    void showError(const QString& title, const QString& text);
    bool ask(const QString& title, const QString& text);
    void saveRunWithDialog();
    void openRunWithDialog();
    void exportPolicyWithDialog();
    void exportMetricsWithDialog();
    void watchPolicyWithDialog();
    void requestAutosave();
    void writeCleanExitMarker();

    enum class SaveKind { Run, Autosave, Policy };
    struct PendingSave {
        SaveKind kind;
        QString path;
    };
    std::map<int, PendingSave> m_pendingSaves;
    std::vector<core::IterationStats> m_history;
    core::SnapshotPtr m_liveSnapshot;
    QLabel* m_watchBanner = nullptr;
    QSpinBox* m_autosaveSpin = nullptr;
    bool m_watching = false;
    bool m_autosavePending = false;
    QString m_watchFile;
    int m_autosaveEvery = 10;
    MessageHook m_messageHook;
    QuestionHook m_questionHook;

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
