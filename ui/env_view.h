// EnvView: the environment, painted from its DrawList with QPainter (anti-aliased, scaled to
// the widget keeping the aspect ratio, y up). It runs its own copy of the environment on the
// UI thread (a QTimer at the environment's frame rate) and plays the latest policy snapshot,
// or a random policy until the first snapshot arrives. At a teaching pace (ui/pace.h) each
// new snapshot starts a fresh episode, so every policy is seen from its first step; otherwise
// the episode in progress goes on with the new policy. The mouse grabs and drags bodies.
//
// Two other modes take the policy's place until they are stopped (README, "Replay and
// ghost"): a replay plays a recorded episode (its reset seed, then its actions), and the
// ghost plays π_old translucent over π_new from one reset seed, painting KL(π_old ‖ π_new)
// of each state π_new visits along its trajectory, with a histogram of those KLs and δ.
#pragma once

#include <QElapsedTimer>
#include <QPointF>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

#include "core/episode_record.h"
#include "core/rng.h"
#include "core/snapshot.h"
#include "sim/draw_list.h"
#include "sim/heuristics.h"
#include "sim/sim_environment.h"

namespace video {
class PaintCache;
struct SceneOverlay;
}

namespace ui {

class EnvView : public QWidget {
    Q_OBJECT
public:
    enum class Speed { RealTime, Double, Quadruple, RenderOff };

    explicit EnvView(QWidget* parent = nullptr);
    ~EnvView() override;

    // a fresh copy of environment `id`; the snapshot is dropped (random policy until the next)
    bool setEnvironment(const QString& id);
    QString environmentId() const { return m_envId; }
    void setSnapshot(const core::SnapshotPtr& snapshot);
    bool hasSnapshot() const { return m_snapshot != nullptr; }
    // on: each new snapshot restarts the episode (the policy is seen from its start)
    void setRestartOnNewPolicy(bool on) { m_restartOnNewPolicy = on; }
    bool restartsOnNewPolicy() const { return m_restartOnNewPolicy; }
    // the iteration whose policy is playing (the HUD shows it); 0 while a random policy plays
    int playingIteration() const { return m_snapshot ? m_snapshot->iteration : 0; }
    const core::SnapshotPtr& snapshot() const { return m_snapshot; }
    void setSpeed(Speed speed);
    Speed speed() const { return m_speed; }
    void setDeterministic(bool deterministic) { m_deterministic = deterministic; }
    // on: the environment's hand-written controller (sim::makeHeuristic, Gymnasium's
    // heuristic) plays instead of the policy, from a fresh episode, as a baseline to compare
    // with; it stays chosen across environments and plays wherever one exists
    void setPlayHeuristic(bool on);
    bool playsHeuristic() const { return m_controller != nullptr; }
    static bool hasHeuristic(const QString& envId);
    bool isDeterministic() const { return m_deterministic; }
    // frames per second of the viewer; 0 = the environment's own frame rate
    void setFrameRateOverride(double fps);
    void setLargeText(bool large);
    bool largeText() const { return m_largeText; }
    // the HUD box and the waiting banner (on by default)
    void setOverlaysVisible(bool visible);

    // A batch's states painted over the scene (phase stepping's advantages): each raw
    // observation (dim numbers, one after another) as a dot at the environment's statePoint,
    // in its colour, with a caption under the scene. Returns false, painting nothing, when
    // the environment cannot place its states (its observation holds no position). Stays
    // until clearStates() or another environment.
    bool showStates(const std::vector<double>& states, int dim, const std::vector<QColor>& colours,
                    const QString& caption);
    void clearStates();
    int shownStates() const { return static_cast<int>(m_statePoints.size()); }
    const std::vector<sim::Vec2>& statePoints() const { return m_statePoints; }
    QString statesCaption() const { return m_statesCaption; }

    // ---- replay ----------------------------------------------------------------------
    // Plays `record` (iteration's `rank` episode) from its seed at the viewer's speed, then
    // holds the last frame for 1.5 s and plays it again, until stopReplay(). The mouse does
    // not grab bodies meanwhile (a push would change the episode). False when the record
    // does not fit the environment (another action space).
    bool playReplay(const core::EpisodeRecord& record, int iteration, core::EpisodeRank rank);
    void stopReplay();
    bool isReplaying() const { return m_replay.has_value(); }
    int replayIteration() const { return m_replay ? m_replay->iteration : 0; }
    core::EpisodeRank replayRank() const { return m_replay ? m_replay->rank : core::EpisodeRank::Best; }
    // "Replay: iteration 12, best episode, return 500"
    QString replayCaption() const;

    // ---- ghost -------------------------------------------------------------------------
    struct GhostRequest {
        core::SnapshotPtr oldPolicy, newPolicy; // π_old (before iteration's update) and π_new
        int iteration = 0;                      // the update compared
        std::uint64_t seed = 0;                 // the reset seed both play from
        double delta = 0;                       // the iteration's δ (marked on the histogram)
        QString seedNote;                       // where the seed comes from, for the caption
    };
    // Plays both policies from the seed (actions as the viewer's deterministic setting says,
    // the same random numbers for both), computes the per-state KL along π_new's trajectory
    // (core::perStateKl) and shows them until clearGhost(). A request while a ghost plays
    // waits until its playback ends (so a class sees every comparison to the end). False,
    // with the reason in *why, when the policies do not fit the environment.
    bool showGhost(const GhostRequest& request, QString* why = nullptr);
    void clearGhost();
    bool isGhostShown() const { return m_ghost.has_value(); }
    int ghostIteration() const { return m_ghost ? m_ghost->request.iteration : 0; }
    // the per-state KL(π_old ‖ π_new) along π_new's trajectory, one per step
    const std::vector<double>& ghostKl() const;
    // π_new's and π_old's steps in the ghost playback
    int ghostNewLength() const { return m_ghost ? m_ghost->newRun.length : 0; }
    int ghostOldLength() const { return m_ghost ? m_ghost->oldRun.length : 0; }
    QString ghostCaption() const;
    // the KL colour scale: light yellow at 0 through orange to dark red at `top`
    static QColor klColour(double kl, double top);

    // intervals between painted frames (ms), for the bench: recorded only after
    // clearFrameTimes() starts a measurement (an ordinary session keeps none)
    const std::vector<double>& frameIntervals() const { return m_frameIntervals; }
    // the UI thread's CPU time spent in paintEvent per frame, in ms, since clearFrameTimes()
    double meanPaintMilliseconds() const;
    void clearFrameTimes();
    int episodeStep() const { return m_episodeStep; }
    // the seed the episode in progress was reset with
    std::uint64_t episodeSeed() const { return m_episodeSeed - 1; }
    const sim::DrawList& drawList() const { return m_drawList; }

    // screen <-> world mapping of the current camera
    QPointF worldToScreen(const sim::Vec2& p) const;
    sim::Vec2 screenToWorld(const QPointF& p) const;

    QSize sizeHint() const override { return {900, 520}; }
    QSize minimumSizeHint() const override { return {240, 160}; }

signals:
    void episodeFinished(double episodeReturn, int length);
    void environmentChanged(const QString& id);
    // a replay played its last action: the return it summed and its steps
    void replayFinished(double episodeReturn, int length);
    // the ghost played both policies to the end
    void ghostFinished();
    // after every painted frame of the environment (connect queued: it is emitted while painting)
    void framePainted();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    void tick();
    // the HUD's left box as paintEvent draws it (empty with the overlays off)
    QStringList hudLines() const;
    // what paintEvent paints over the scene apart from the batch's states and the ghost:
    // the HUD and the "Waiting for the first policy" banner
    video::SceneOverlay sceneOverlay() const;
    void stepEnvironment();
    void resetEpisode();
    void updateTimer();
    void armFrameTimer();
    void pickAction();
    void stepReplay();
    void stepGhost();
    void startGhost(const GhostRequest& request);
    void paintGhostOverlay(QPainter& p, const QFont& hudFont);
    void paintCaption(QPainter& p, const QFont& hudFont, const QString& text, int bottom, const QColor& bg);

    QString m_envId;
    std::unique_ptr<sim::SimEnvironment> m_env;
    core::SnapshotPtr m_snapshot;
    bool m_wantHeuristic = false;
    std::unique_ptr<sim::Controller> m_controller; // playing instead of the snapshot
    core::PolicySnapshot::ActState m_actState; // held exploration noise, a recurrent policy's state
    core::Rng m_rng{12345};
    std::uint64_t m_episodeSeed = 1000;
    std::vector<double> m_obs, m_action;
    sim::DrawList m_drawList;
    // the scene and HUD last painted: a tick repaints only what changed since
    // (video::sceneDamage), where a full repaint and its copy to the screen cost the viewer,
    // the X server and training (on two cores) several times as much. Every other change to
    // what is painted asks for a full repaint.
    sim::DrawList m_paintedDrawList;
    QStringList m_paintedHud;
    bool m_painted = false; // the two above are valid
    QTimer m_timer;
    qint64 m_framePeriodNs = 0, m_nextFrameNs = 0; // on m_frameClock
    Speed m_speed = Speed::RealTime;
    bool m_deterministic = false;
    bool m_restartOnNewPolicy = false;
    bool m_largeText = false;
    bool m_overlays = true;
    bool m_grabbing = false;
    double m_fpsOverride = 0;
    double m_episodeReturn = 0, m_lastReturn = 0;
    int m_episodeStep = 0, m_episodes = 0;
    bool m_hasLastReturn = false;
    QElapsedTimer m_frameClock;
    qint64 m_lastFrameNs = -1;
    bool m_timingFrames = false; // clearFrameTimes() was called
    std::vector<double> m_frameIntervals;
    std::unique_ptr<video::PaintCache> m_paintCache; // the HUD's text and boxes between frames
    double m_paintCpuMs = 0; // summed over m_paintCount frames while timing
    int m_paintCount = 0;
    std::vector<sim::Vec2> m_statePoints; // showStates(), in world coordinates
    std::vector<sim::Vec2> m_stateAnchors; // one per point, or none (no rods)
    std::vector<QColor> m_stateColours;
    QString m_statesCaption;

    static constexpr double kHoldSeconds = 1.5; // the last frame of a replay or a ghost, before it plays again
    struct Replay {
        core::EpisodeRecord record;
        int iteration = 0;
        core::EpisodeRank rank = core::EpisodeRank::Best;
        std::size_t next = 0; // the next action's step
        int holdTicks = 0;    // ticks left showing the last frame
    };
    std::optional<Replay> m_replay;
    struct GhostPlay {
        GhostRequest request;
        core::Rollout oldRun, newRun;
        std::vector<double> kl; // per state of newRun
        double klTop = 0;       // the colour scale's top
        std::unique_ptr<sim::SimEnvironment> oldEnv;
        sim::DrawList oldDraw;
        std::vector<sim::Vec2> trail; // statePoint of each π_new state so far
        std::vector<QColor> trailColours;
        int step = 0;
        int holdTicks = 0;
    };
    std::optional<GhostPlay> m_ghost;
    std::optional<GhostRequest> m_pendingGhost;
};

} // namespace ui
