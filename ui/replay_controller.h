// ReplayController: replaying a recorded episode in the viewer, and the π_old ghost
// (README, "Replay and ghost"). A click on the return plot replays that iteration's best
// episode (Shift: the worst, Ctrl: the median, or the one chosen in the bar) from the seed
// and actions RunHistory keeps; a bar above the viewer names it and offers the other two
// and "Back to live". View → π_old ghost plays the policy before an update translucent over
// the policy after it, from one seed, with the per-state KL painted on the trajectory.
//
// It keeps the policies of the last kPoliciesKept iterations (the snapshots the worker sends
// after each iteration), which the ghost compares; an opened run starts with its last only.
#pragma once

#include <QObject>
#include <QString>
#include <map>

#include "core/episode_record.h"
#include "core/snapshot.h"

class QAction;
class QFrame;
class QLabel;
class QToolButton;

namespace ui {

class Dialogs;
class EnvView;
class RunHistory;

class ReplayController : public QObject {
    Q_OBJECT
public:
    static constexpr std::size_t kPoliciesKept = 100;

    ReplayController(RunHistory* history, EnvView* view, Dialogs* dialogs, QObject* parent = nullptr);

    // the bar shown above the viewer during a replay (the main window lays it out)
    QFrame* bar() const { return m_bar; }
    QLabel* barText() const { return m_text; }
    QToolButton* rankButton(core::EpisodeRank rank) const;
    QToolButton* liveButton() const { return m_live; }
    // View → π_old ghost (checkable)
    QAction* ghostAction() const { return m_ghostAction; }

    // replays iteration's episode of that rank; false (saying why in the status bar) when
    // the iteration kept none
    bool replay(int iteration, core::EpisodeRank rank);
    // a click on the return plot at iteration: Shift picks the worst, Ctrl the median,
    // otherwise the rank chosen in the bar (the best at first)
    void replayClicked(int iteration, Qt::KeyboardModifiers modifiers);
    void backToLive();
    bool isReplaying() const;

    // the worker's policy after an iteration (kept for the ghost)
    void addPolicy(const core::SnapshotPtr& snapshot);
    // a new or opened run: no replay, no policies but the run's current one
    void restart(const core::SnapshotPtr& current = nullptr);
    std::size_t policiesKept() const { return m_policies.size(); }

    // shows the ghost for the replayed iteration, else the latest; false (and the action
    // unchecked, the reason in the status bar) when π_old or π_new is not kept
    bool showGhost(bool waitForPlayback = false);

signals:
    void replayStarted(int iteration, core::EpisodeRank rank);
    void replayStopped();

private:
    void updateBar();
    void setGhost(bool on);

    RunHistory* m_history;
    EnvView* m_view;
    Dialogs* m_dialogs;
    QFrame* m_bar = nullptr;
    QLabel* m_text = nullptr;
    QToolButton* m_rankButtons[3] = {nullptr, nullptr, nullptr}; // best, median, worst
    QToolButton* m_live = nullptr;
    QAction* m_ghostAction = nullptr;
    core::EpisodeRank m_rank = core::EpisodeRank::Best;
    std::optional<core::IterationEpisodes> m_replayed; // the iteration being replayed
    std::map<int, core::SnapshotPtr> m_policies;        // iteration -> the policy after it
};

} // namespace ui
