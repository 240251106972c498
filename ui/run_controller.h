// RunController: the File menu's runs and exports. Save run, Open run, autosave (every N
// iterations, on close, and the restore offer after a crash), Watch policy (a policy file
// played in the viewer with training paused) and the policy / metrics exports. It asks the
// TrainingSession for the trainer's state between iterations and keeps the saves waiting for
// it; the iteration history it saves and exports is the RunHistory's. All file formats are
// ui/run_file.h's (writeRun, readRun, writePolicyFile, readPolicyFile).
#pragma once

#include <QObject>
#include <QString>
#include <map>

#include "ui/metatypes.h"

class QLabel;
class QWidget;

namespace ui {

class Dialogs;
class EnvView;
class RunHistory;
class RunLifecycle;
class TrainingSession;

class RunController : public QObject {
    Q_OBJECT
public:
    struct Options {
        bool autosave = true;   // autosave every N iterations and on close
        QString autosaveDir;    // empty: <AppDataLocation>/autosave
    };
    // watchBanner: the label above the viewer that says which policy file is playing
    RunController(TrainingSession* session, RunHistory* history, RunLifecycle* lifecycle, EnvView* envView,
                  QLabel* watchBanner, Dialogs* dialogs, const Options& options, QObject* parent = nullptr);

    // saves the whole run to dir (NAME.trporun, see ui/run_file.h); the trainer's state comes
    // from the worker between iterations. runSaved(dir) or an error message follows.
    void saveRun(const QString& dir);
    // restores a saved run: false (and an error message) if its files are unreadable; else
    // runOpened follows, or an error message with the current run untouched
    bool openRun(const QString& dir);
    // the current policy as .json or .onnx (by suffix); policyExported(path) or an error follows
    void exportPolicy(const QString& path);
    // progress.csv-style metrics of every iteration of the history; false (and a message) on failure
    bool exportMetrics(const QString& path);
    // plays a policy file (.json, .onnx, .ckpt) in the viewer with training paused; Start,
    // Step, Reset or Open leave watch mode. False (and a message) if the file is unusable.
    bool watchPolicy(const QString& path);
    void leaveWatchMode();
    bool isWatching() const { return m_watching; }
    QString watchedFile() const { return m_watchFile; }

    // the same verbs, asking for the path first (dialogParent owns the file dialog)
    void saveRunWithDialog(QWidget* dialogParent);
    void openRunWithDialog(QWidget* dialogParent);
    void exportPolicyWithDialog(QWidget* dialogParent);
    void exportMetricsWithDialog(QWidget* dialogParent);
    void watchPolicyWithDialog(QWidget* dialogParent);

    // --- autosave ---
    QString autosaveDirectory() const;                      // holds the autosave and the clean-exit marker
    QString autosavePath() const;                           // <autosaveDirectory>/autosave.trporun
    // where the last autosave is: the live run directory (when the studio writes one, the
    // autosave is its checkpoint) or autosavePath(), whichever is newer
    QString lastAutosave() const;
    int autosaveInterval() const { return m_autosaveEvery; } // 0 = off
    void setAutosaveInterval(int iterations);
    // an autosave newer than the last clean exit (the previous session did not close normally)
    bool hasUnfinishedAutosave() const;
    // asks whether to restore such an autosave and opens it on Yes; true if it is being restored
    bool offerAutosaveRestore();
    // closing: the last autosave (waits for the worker), to be followed by the session's
    // shutdown and then markCleanExit
    void autosaveOnExit();
    void markCleanExit();

signals:
    void runSaved(const QString& dir);
    void runOpened(const QString& dir);
    // an opened run's trust-region probes (trust_region.jsonl), before runOpened
    void probesOpened(const std::vector<ui::ProbePtr>& probes);
    void policyExported(const QString& path);
    void autosaved(const QString& dir);
    void watchStarted(const QString& path);
    void autosaveIntervalChanged(int iterations);

private:
    enum class SaveKind { Run, Autosave, Policy };
    struct PendingSave {
        SaveKind kind;
        QString path;
    };
    void requestAutosave();
    void onIterationAppended(const core::IterationStats& s);
    void onStateCaptured(int requestId, const RunStatePtr& state);
    void onRunLoaded(const RunStatePtr& state);
    // writes state with RunHistory's iterations; throws if they do not end at its iteration
    void writeRunState(const QString& dir, const RunState& state);
    void autosave(const RunState& state); // throws std::runtime_error
    QString liveRunPointerPath() const;     // <autosaveDirectory>/live-run

    TrainingSession* m_session;
    RunHistory* m_history;
    RunLifecycle* m_lifecycle;
    EnvView* m_envView;
    QLabel* m_watchBanner;
    Dialogs* m_dialogs;
    Options m_options;
    std::map<int, PendingSave> m_pendingSaves;
    core::SnapshotPtr m_liveSnapshot; // the run's latest policy (the viewer's while not watching)
    bool m_watching = false;
    QString m_watchFile;
    bool m_autosavePending = false;
    int m_autosaveEvery = 10;
};

} // namespace ui
