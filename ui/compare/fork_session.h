// ForkSession: a fork of the studio's run (README "Forks", "In the studio") training on a
// thread of its own. The variants are made on the UI thread, exactly as trpo-train --fork makes
// them (run::createFork: one run directory per variant and fork.json), then one std::thread
// runs run::RunSet::train, the one owner of the fork's thread budget (it starts the budget's
// other threads itself). Nothing crosses back but values: after each variant's iteration the
// training thread pushes a closure holding the IterationStats (and, after a rollback, the
// restored iteration) into a HandOff (ui/hand_off.h) and wakes the UI thread with a signal
// without arguments; the UI thread runs the closures in order and emits variantIteration /
// variantRolledBack there. The widgets are never touched from the training thread.
//
// The pace: a variant's next iteration starts no sooner than pace.interval() after the start
// of its previous one (RunSet's BeforeIteration waits on a condition variable, which a pace
// change or a stop wakes at once), so a class sees every variant's iterations one by one at
// the window's pace. Stop (and the destructor) sets the cancel flag, wakes that wait and joins
// the thread: the iteration in progress is discarded at its next check, and every variant is
// left at its last completed iteration with its checkpoint, policy files and a stopped event
// (RunSet::train), so the fork reopens with File > Open comparison and each variant resumes.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/stats.h"
#include "run/fork.h"
#include "ui/hand_off.h"
#include "ui/metatypes.h"
#include "ui/pace.h"

namespace ui {

class ForkSession : public QObject {
    Q_OBJECT
public:
    explicit ForkSession(QObject* parent = nullptr);
    ~ForkSession() override; // stops and joins

    // Makes the fork in outDir from `parent` at iteration `at` (its state: forkState), trains
    // each variant `iterations` more iterations on `threads` threads. Throws core::FileError or
    // core::ConfigError naming the folder or the setting; nothing runs then.
    void start(const run::RunContents& parent, int at, const core::TrainerState& forkState, const run::VarySpec& vary,
               const std::filesystem::path& outDir, int iterations, int threads);
    // Continues the fork in dir (run::resumeFork: every variant from its checkpoint) for
    // `iterations` more iterations each. `beforeTraining` runs once the variants' files are
    // as they go on from and before anything writes to them (a view reads them then). Throws
    // core::FileError naming the file, or what beforeTraining throws; nothing runs then.
    void resume(const std::filesystem::path& dir, int iterations, int threads,
                const std::function<void()>& beforeTraining = {});
    // stops every variant at its last completed iteration (prompt: the one in progress is
    // discarded), waits for the files to be written and delivers what arrived; idempotent
    void stop();
    // the pace of every variant from now on (a wait in progress is shortened or lengthened)
    void setPace(Pace pace);

    bool isRunning() const { return m_running; }
    const run::ForkManifest& manifest() const { return m_manifest; }
    const std::filesystem::path& directory() const { return m_dir; }
    int iterations() const { return m_iterations; }
    // the least iteration a variant started this session's training from (the fork iteration
    // for a new fork, the checkpoints' for a continued one)
    int startIteration() const { return m_startIteration; }
    // why each variant stopped ("budget reached", "interrupted", "diverged", ...), once finished
    const std::vector<std::string>& outcomes() const { return m_outcomes; }

signals:
    // on the UI thread, in the order the variants finished them
    void variantIteration(int variant, const core::IterationStats& stats);
    // the guardrail rolled the variant back after `diverged`: iterations restored + 1 ..
    // diverged are undone (RunSet rolls back as trpo-train does)
    void variantRolledBack(int variant, int diverged, int restored, const QString& explanation);
    // every variant has stopped and its files are complete
    void finished();
    // training failed (a file could not be written, ...); the fork stopped
    void failed(const QString& message);

    // internal: the training thread has pushed results (emitted on that thread)
    void resultsPosted();

private:
    void launch(int iterations, int threads); // the training thread over m_set
    void halt();             // cancel, wake and join, without delivering
    void waitForTurn(int m); // on a training thread: the pace of member m
    void deliver();          // on the UI thread: runs the queued results

    run::RunSet m_set;
    run::ForkManifest m_manifest;
    std::filesystem::path m_dir;
    int m_iterations = 0;
    int m_startIteration = 0;
    std::vector<std::string> m_outcomes;
    std::thread m_thread;
    std::atomic<bool> m_cancel{false};
    bool m_running = false;
    HandOff<> m_results;

    // the pace, shared with the training threads
    std::mutex m_paceMutex;
    std::condition_variable m_paceChanged;
    Pace m_pace = Pace::max();
    std::vector<std::chrono::steady_clock::time_point> m_lastStart; // per variant
    std::vector<char> m_started;                                    // per variant: m_lastStart is set
};

} // namespace ui
