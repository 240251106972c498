// MainWindow: the studio's layout, actions and menus. Centre: the environment view (with the
// watch, solved and guardrail banners above it); docks: run controls, hyperparameters, plots,
// the trust-region inspector (a tab beside the plots); a status bar with the run's vital
// signs. Presentation mode keeps the environment large with two chosen plots beside it. The
// work is done by the parts it wires together: RunLifecycle (start / pause / step / reset on
// the TrainingSession), RunHistory (the one copy of the run's iterations, which the plots, the
// status bar and the exports read), RunController (save, open, autosave, watch, export),
// ConfigFiles (configuration files, help) and Dialogs (messages the tests can replace).
#pragma once

#include <QMainWindow>
#include <QString>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ui/dialogs.h"
#include "ui/metatypes.h"
#include "ui/pace.h"

namespace run {
struct Lesson;
}

class QAction;
class QComboBox;
class QCheckBox;
class QLabel;
class QDockWidget;
class QFormLayout;
class QFrame;
class QMenu;
class QSpinBox;
class QToolBar;

namespace ui {

class ReplayController;

class ComparisonView;
class ClipExporter;
class ForkController;
class ConfigFiles;
class EnvView;
class GuardrailBanner;
class InspectorDock;
class HyperparameterPanel;
class LessonPanel;
class PhaseView;
class PlotPanel;
class RunController;
class RunHistory;
class RunLifecycle;
class RunStatus;
class TrainingSession;

struct StudioOptions {
    QString env = "CartPole-v1";
    std::optional<int> stepsPerIteration; // overrides the preset (tests, bench)
    // settings over every preset, by key as config.json names them (--collapse-drop)
    std::vector<std::pair<std::string, std::string>> settings;
    QString runDirBase;                   // non-empty: write run directories there
    bool useSettings = true;              // restore and save layout and choices with QSettings
    bool autosave = true;                 // save the run every N iterations and on close
    QString autosaveDir;                  // empty: <AppDataLocation>/autosave
    std::optional<core::TrpoConfig> config; // the first run's settings (--config); else the env's preset
    // the training pace (--pace, tests, bench); unset: the remembered one, else
    // Pace::teachingDefault()
    std::optional<Pace> pace;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    TrainingSession* session() const { return m_session; }
    RunHistory* history() const { return m_history; }
    RunLifecycle* lifecycle() const { return m_lifecycle; }
    RunController* runs() const { return m_runs; }
    ClipExporter* clips() const { return m_clips; }
    // Run > Fork… (toolbar too): the live run forked into variants trained side by side
    ForkController* forks() const { return m_forks; }
    QAction* forkAction() const { return m_forkAction; }
    QAction* exportClipAction() const { return m_exportClipAction; }
    ConfigFiles* configFiles() const { return m_configFiles; }
    EnvView* envView() const { return m_envView; }
    PlotPanel* plotPanel() const { return m_plots; }
    HyperparameterPanel* hyperparameterPanel() const { return m_params; }
    QComboBox* environmentPicker() const { return m_envPicker; }
    QToolBar* runToolBar() const { return m_toolBar; }
    QAction* startAction() const { return m_startAction; }
    QAction* pauseAction() const { return m_pauseAction; }
    QAction* stepAction() const { return m_stepAction; }
    QAction* stepPhaseAction() const { return m_stepPhaseAction; }
    PhaseView* phaseView() const { return m_phaseView; }
    QDockWidget* phaseDock() const { return m_phaseDock; }
    QAction* resetAction() const { return m_resetAction; }
    QAction* presentationAction() const { return m_presentationAction; }
    QAction* pauseWhenSolvedAction() const { return m_pauseWhenSolvedAction; }
    QCheckBox* pauseWhenSolvedBox() const { return m_pauseWhenSolvedBox; }
    // the pace controls: in the toolbar and in the Run dock (they always agree)
    QComboBox* paceToolBarPicker() const { return m_paceToolBar; }
    QComboBox* paceDockPicker() const { return m_paceDock; }
    // "Solved at iteration 23: ..." above the viewer, after pause-when-solved paused
    QFrame* solvedBanner() const { return m_solvedBanner; }
    QLabel* solvedBannerText() const { return m_solvedText; }
    // View > Presentation plots: the upper and the lower plot's choices
    QMenu* presentationPlotsMenu() const { return m_presentationPlotsMenu; }
    QAction* openRunAction() const { return m_openRunAction; }
    QAction* saveRunAction() const { return m_saveRunAction; }
    QLabel* watchBanner() const { return m_watchBanner; }
    InspectorDock* inspector() const { return m_inspector; }
    ReplayController* replay() const { return m_replay; }
    GuardrailBanner* guardrailBanner() const { return m_guardrail; }
    QSpinBox* autosaveEditor() const { return m_autosaveSpin; }
    QLabel* runSummary() const { return m_runSummary; }
    // the history's last iteration and environment steps
    int iterationCount() const;
    std::int64_t envSteps() const;
    bool isPresentationMode() const { return m_presentation; }
    // presentation mode's type: the normal font times this (every window follows it)
    static constexpr double kPresentationFontScale = 1.4;

    void setPresentationMode(bool on);
    // opens the trust-region inspector, in front of the plots
    void showInspector();
    // the pace of training: both pace controls, the session and the viewer follow
    void setPace(Pace pace);
    Pace pace() const;

    // opens the fork in dir (README "Forks") as one comparison in a window of its own;
    // returns it, or null after an error message naming the file
    ComparisonView* openComparison(const QString& dir);

    // Lessons (README "Lessons"). openLesson reads a .trpolesson file (a message naming the file
    // and the problem on failure, false) and plays it: the lesson dock shows it, the controls
    // it does not list are hidden, a new run starts with its settings and its first step runs
    // once that run is ready. closeLesson shows every control again.
    bool openLesson(const QString& path);
    void playLesson(const run::Lesson& lesson, const QString& path);
    void closeLesson();
    void openLessonWithDialog();
    LessonPanel* lessonPanel() const { return m_lessonPanel; }
    QDockWidget* lessonDock() const { return m_lessonDock; }
    QAction* openLessonAction() const { return m_openLessonAction; }
    QAction* closeLessonAction() const { return m_closeLessonAction; }
    QDockWidget* hyperparameterDock() const { return m_paramDock; }
    QAction* inspectorViewAction() const { return m_inspectorViewAction; }

    // hooks replacing the modal dialogs (tests): error messages and Yes/No questions
    void setMessageHook(Dialogs::MessageHook hook) { m_dialogs->setMessageHook(std::move(hook)); }
    void setQuestionHook(Dialogs::QuestionHook hook) { m_dialogs->setQuestionHook(std::move(hook)); }

signals:
    // emitted after the plots and counters have been cleared for a new run
    void runReset();
    // every error message shown (also when a hook replaces the dialog)
    void errorShown(const QString& title, const QString& text);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createDocks();
    void createMenus();
    void restoreSettings();
    void saveSettings();
    void updateActions();
    void resetLayout();
    QComboBox* makePacePicker(const QString& objectName);
    void createPresentationPlotsMenu(QMenu* view);
    void syncPresentationPlotsMenu();
    void showSolved(int iteration, double recentReturnMean, double threshold);
    void updateBannerFont();
    // shows the controls `lesson` lists and hides the others; nullptr shows every control
    void showLessonControls(const run::Lesson* lesson);

    StudioOptions m_options;
    Dialogs* m_dialogs = nullptr;
    TrainingSession* m_session = nullptr;
    RunHistory* m_history = nullptr;
    RunLifecycle* m_lifecycle = nullptr;
    RunController* m_runs = nullptr;
    RunStatus* m_status = nullptr;
    ConfigFiles* m_configFiles = nullptr;
    EnvView* m_envView = nullptr;
    PlotPanel* m_plots = nullptr;
    HyperparameterPanel* m_params = nullptr;
    QLabel* m_watchBanner = nullptr;
    GuardrailBanner* m_guardrail = nullptr;
    InspectorDock* m_inspector = nullptr;
    ReplayController* m_replay = nullptr;
    QFrame* m_solvedBanner = nullptr;
    QLabel* m_solvedText = nullptr;
    QSpinBox* m_autosaveSpin = nullptr;
    QDockWidget* m_runDock = nullptr;
    QDockWidget* m_paramDock = nullptr;
    QDockWidget* m_plotDock = nullptr;
    QToolBar* m_toolBar = nullptr;
    QComboBox* m_envPicker = nullptr;
    QComboBox* m_speedPicker = nullptr;
    QComboBox* m_paceToolBar = nullptr;
    QComboBox* m_paceDock = nullptr;
    QCheckBox* m_pauseWhenSolvedBox = nullptr;
    QCheckBox* m_deterministic = nullptr;
    QCheckBox* m_heuristic = nullptr;
    QLabel* m_runSummary = nullptr;
    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_stepAction = nullptr;
    QAction* m_stepPhaseAction = nullptr;
    PhaseView* m_phaseView = nullptr;
    QDockWidget* m_phaseDock = nullptr;
    QAction* m_resetAction = nullptr;
    QAction* m_presentationAction = nullptr;
    QAction* m_pauseWhenSolvedAction = nullptr;
    QMenu* m_presentationPlotsMenu = nullptr;
    std::vector<QAction*> m_upperPlotActions, m_lowerPlotActions; // one per plot, in plots() order
    QAction* m_openRunAction = nullptr;
    QAction* m_saveRunAction = nullptr;
    QAction* m_quitAction = nullptr;
    QFormLayout* m_runForm = nullptr;
    std::vector<QAction*> m_paceToolBarActions; // the toolbar's pace label and picker
    QAction* m_inspectorViewAction = nullptr;
    LessonPanel* m_lessonPanel = nullptr;
    QDockWidget* m_lessonDock = nullptr;
    QAction* m_openLessonAction = nullptr;
    QAction* m_closeLessonAction = nullptr;
    QAction* m_exportClipAction = nullptr;
    ClipExporter* m_clips = nullptr;
    QAction* m_forkAction = nullptr;
    ForkController* m_forks = nullptr;
    QByteArray m_defaultState;
    QByteArray m_normalState; // the layout presentation mode came from (restored on leaving)
    QFont m_baseFont;
    bool m_presentation = false;
    bool m_closing = false;
};

} // namespace ui
