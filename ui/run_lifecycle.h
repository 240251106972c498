// RunLifecycle: start, pause, step and reset of the run on the TrainingSession, and the
// questions around them (a cold setting or another environment needs a new run). It feeds
// the session's iterations and config events into the RunHistory and clears it when a new
// run is ready; the window only connects its actions here.
#pragma once

#include <QObject>
#include <QString>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ui/metatypes.h"

class QComboBox;

namespace ui {

class Dialogs;
class EnvView;
class HyperparameterPanel;
class RunHistory;
class TrainingSession;

class RunLifecycle : public QObject {
    Q_OBJECT
public:
    struct Widgets {
        HyperparameterPanel* params;
        QComboBox* envPicker;
        EnvView* envView;
    };
    // stepsPerIteration overrides every preset's (tests, bench)
    RunLifecycle(TrainingSession* session, RunHistory* history, const Widgets& widgets, Dialogs* dialogs,
                 std::optional<int> stepsPerIteration, QObject* parent = nullptr);

    void start();
    void pause();
    void step();
    // phase stepping: the next phase of the iteration only
    void stepPhase();
    // new run with cfg: the widgets show it at once, the history is cleared when the
    // trainer is ready (runReset follows)
    void reset(const core::TrpoConfig& cfg);
    // new run with the settings shown in the hyperparameter panel (the Reset action)
    void resetWithCurrentSettings();
    // new run with env's preset (with the steps-per-iteration override)
    void resetToPreset(const QString& env);
    // settings applied over every preset, by config key (checked by the caller); a value
    // that does not fit a preset is reported and left out
    void setPresetOverrides(std::vector<std::pair<std::string, std::string>> settings) { m_overrides = std::move(settings); }
    // a changed setting or file that needs a new run: asks, true on Yes
    bool confirmReset(const QString& what);
    // the hyperparameter panel, the environment picker and the viewer show cfg's run
    // (clearUndo: a run was opened, its changes are not this session's to undo)
    void showRunConfig(const core::TrpoConfig& cfg, bool clearUndo = false);

signals:
    // the user asked the run to go on (start, step, reset): watching a policy file ends
    void trainingRequested();
    // the history and the counters have been cleared for a new run
    void runReset();

private:
    // env's preset (fallback with env's id if there is none), with the steps override
    core::TrpoConfig presetFor(const QString& env, const core::TrpoConfig& fallback);
    void onConfigApplied(const std::vector<core::ConfigEvent>& events);
    void onColdChangeRequested(const core::TrpoConfig& next, const QString& description);
    void onEnvironmentPicked(int index);

    TrainingSession* m_session;
    RunHistory* m_history;
    Widgets m_widgets;
    Dialogs* m_dialogs;
    std::optional<int> m_stepsPerIteration;
    std::vector<std::pair<std::string, std::string>> m_overrides;
};

} // namespace ui
