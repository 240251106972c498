// EnvView: the environment, painted from its DrawList with QPainter (anti-aliased, scaled to
// the widget keeping the aspect ratio, y up). It runs its own copy of the environment on the
// UI thread (a QTimer at the environment's frame rate) and plays the latest policy snapshot,
// or a random policy until the first snapshot arrives. At a teaching pace (ui/pace.h) each
// new snapshot starts a fresh episode, so every policy is seen from its first step; otherwise
// the episode in progress goes on with the new policy. The mouse grabs and drags bodies.
#pragma once

#include <QElapsedTimer>
#include <QPointF>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "core/snapshot.h"
#include "sim/draw_list.h"
#include "sim/heuristics.h"
#include "sim/sim_environment.h"

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

    // intervals between painted frames (ms), for the bench: recorded only after
    // clearFrameTimes() starts a measurement (an ordinary session keeps none)
    const std::vector<double>& frameIntervals() const { return m_frameIntervals; }
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
    // after every painted frame of the environment (connect queued: it is emitted while painting)
    void framePainted();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    void tick();
    void stepEnvironment();
    void resetEpisode();
    void updateTimer();
    void pickAction();

    QString m_envId;
    std::unique_ptr<sim::SimEnvironment> m_env;
    core::SnapshotPtr m_snapshot;
    bool m_wantHeuristic = false;
    std::unique_ptr<sim::Controller> m_controller; // playing instead of the snapshot
    core::PolicySnapshot::HeldNoise m_heldNoise; // exploration noise held as in training
    core::Rng m_rng{12345};
    std::uint64_t m_episodeSeed = 1000;
    std::vector<double> m_obs, m_action;
    sim::DrawList m_drawList;
    QTimer m_timer;
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
    std::vector<sim::Vec2> m_statePoints; // showStates(), in world coordinates
    std::vector<sim::Vec2> m_stateAnchors; // one per point, or none (no rods)
    std::vector<QColor> m_stateColours;
    QString m_statesCaption;
};

} // namespace ui
