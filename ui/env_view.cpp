#include "ui/env_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <cmath>

#include "sim/registry.h"
#include "video/scene_painter.h"

namespace ui {

namespace {

double randomNormal(core::Rng& rng) { return rng.normal(); }

} // namespace

EnvView::EnvView(QWidget* parent) : QWidget(parent) {
    setObjectName("envView");
    setMouseTracking(false);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setCursor(Qt::OpenHandCursor);
    setToolTip(tr("Drag a body with the mouse to perturb the agent; release to let it recover."));
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &EnvView::tick);
    m_frameClock.start();
}

EnvView::~EnvView() = default;

bool EnvView::setEnvironment(const QString& id) {
    std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(id.toStdString());
    if (!env) return false;
    m_env = std::move(env);
    clearStates();
    m_envId = id;
    m_snapshot.reset();
    m_grabbing = false;
    const core::EnvSpec& spec = m_env->spec();
    m_obs.assign(static_cast<size_t>(spec.observation.dim()), 0.0);
    m_action.assign(static_cast<size_t>(spec.action.dim()), 0.0);
    m_episodes = 0;
    m_hasLastReturn = false;
    m_controller = m_wantHeuristic ? sim::makeHeuristic(id.toStdString()) : nullptr;
    resetEpisode();
    updateTimer();
    update();
    emit environmentChanged(id);
    return true;
}

bool EnvView::hasHeuristic(const QString& envId) { return sim::makeHeuristic(envId.toStdString()) != nullptr; }

void EnvView::setPlayHeuristic(bool on) {
    if (on == m_wantHeuristic) return;
    m_wantHeuristic = on;
    m_controller = on ? sim::makeHeuristic(m_envId.toStdString()) : nullptr;
    // either player starts from a fresh episode, so their returns compare
    m_hasLastReturn = false;
    resetEpisode();
    update();
}

void EnvView::setSnapshot(const core::SnapshotPtr& snapshot) {
    if (!snapshot || QString::fromStdString(snapshot->envId) != m_envId) return;
    const bool first = m_snapshot == nullptr;
    m_snapshot = snapshot;
    if (m_restartOnNewPolicy && !m_controller) {
        // the new policy plays from the first step of a fresh episode; the one in progress
        // (another policy's) is not counted as finished
        resetEpisode();
        update();
    } else if (first) {
        update();
    }
}

void EnvView::setSpeed(Speed speed) {
    m_speed = speed;
    updateTimer();
    update();
}

void EnvView::setFrameRateOverride(double fps) {
    m_fpsOverride = fps;
    updateTimer();
}

void EnvView::setLargeText(bool large) {
    m_largeText = large;
    update();
}

void EnvView::setOverlaysVisible(bool visible) {
    m_overlays = visible;
    update();
}

void EnvView::clearFrameTimes() {
    m_frameIntervals.clear();
    m_lastFrameNs = -1;
    m_timingFrames = true;
}

void EnvView::updateTimer() {
    if (!m_env || m_speed == Speed::RenderOff) {
        m_timer.stop();
        return;
    }
    const double fps = m_fpsOverride > 0 ? m_fpsOverride : std::max(1.0, m_env->spec().frameRate);
    m_timer.start(std::max(1, static_cast<int>(std::lround(1000.0 / fps))));
}

void EnvView::resetEpisode() {
    if (!m_env) return;
    if (m_grabbing) {
        m_env->release();
        m_grabbing = false;
    }
    m_env->reset(m_episodeSeed++, m_obs);
    m_heldNoise.reset();
    if (m_controller) m_controller->reset();
    m_episodeReturn = 0;
    m_episodeStep = 0;
    m_env->draw(m_drawList);
}

void EnvView::pickAction() {
    if (m_controller) {
        m_controller->act(m_obs, m_action);
        return;
    }
    if (m_snapshot) {
        m_snapshot->act(m_obs, m_rng, m_deterministic, m_action, &m_heldNoise);
        return;
    }
    // no policy yet: a uniformly random one
    const core::Space& a = m_env->spec().action;
    if (a.isDiscrete()) {
        m_action[0] = static_cast<double>(m_rng.below(static_cast<std::uint64_t>(a.n)));
        return;
    }
    for (size_t j = 0; j < m_action.size(); ++j) {
        const double lo = a.low[j], hi = a.high[j];
        m_action[j] = (std::isfinite(lo) && std::isfinite(hi)) ? m_rng.uniform(lo, hi) : randomNormal(m_rng);
    }
}

void EnvView::stepEnvironment() {
    pickAction();
    const core::StepResult r = m_env->step(m_action, m_obs);
    m_episodeReturn += r.reward;
    ++m_episodeStep;
    if (r.terminated || r.truncated) {
        m_lastReturn = m_episodeReturn;
        m_hasLastReturn = true;
        ++m_episodes;
        emit episodeFinished(m_episodeReturn, m_episodeStep);
        resetEpisode();
    }
}

void EnvView::tick() {
    if (!m_env) return;
    const int steps = m_speed == Speed::Double ? 2 : m_speed == Speed::Quadruple ? 4 : 1;
    for (int i = 0; i < steps; ++i) stepEnvironment();
    m_env->draw(m_drawList);
    update();
}

QPointF EnvView::worldToScreen(const sim::Vec2& p) const {
    return video::worldToScreen(m_drawList.camera, QSizeF(size()), p);
}

sim::Vec2 EnvView::screenToWorld(const QPointF& p) const {
    return video::screenToWorld(m_drawList.camera, QSizeF(size()), p);
}

void EnvView::paintEvent(QPaintEvent*) {
    // told after this frame is on screen (queued), so work paced by frames lands between them
    struct Notify {
        EnvView* v;
        ~Notify() { emit v->framePainted(); }
    } notify{this};
    const qint64 now = m_frameClock.nsecsElapsed();
    if (m_timingFrames && m_lastFrameNs >= 0) m_frameIntervals.push_back((now - m_lastFrameNs) / 1e6);
    m_lastFrameNs = now;

    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    QFont hudFont = font();
    hudFont.setPointSizeF(hudFont.pointSizeF() * 1.1 * (m_largeText ? 1.6 : 1.0));

    if (!m_env) {
        p.fillRect(rect(), Qt::white);
        p.setFont(hudFont);
        p.drawText(rect(), Qt::AlignCenter, tr("No environment"));
        return;
    }
    if (m_speed == Speed::RenderOff) {
        p.fillRect(rect(), QColor(40, 44, 52));
        p.setPen(Qt::white);
        p.setFont(hudFont);
        p.drawText(rect(), Qt::AlignCenter, tr("Rendering off: training has the CPU.\nChoose a viewer speed to watch again."));
        return;
    }

    video::SceneOverlay overlay;
    overlay.font = font();
    overlay.largeText = m_largeText;
    video::StatesOverlay states;
    if (!m_statePoints.empty()) {
        states.points = m_statePoints;
        states.anchors = m_stateAnchors;
        states.colours = m_stateColours;
        states.caption = m_statesCaption;
        overlay.states = &states;
    }
    if (m_overlays) {
        video::PlayerHud hud;
        hud.player = m_controller ? video::PlayerHud::Player::Heuristic
                     : m_snapshot ? video::PlayerHud::Player::Policy
                                  : video::PlayerHud::Player::Random;
        hud.iteration = m_snapshot ? m_snapshot->iteration : 0;
        hud.deterministic = m_deterministic;
        hud.episodeReturn = m_episodeReturn;
        hud.step = m_episodeStep;
        if (m_hasLastReturn) hud.lastReturn = m_lastReturn;
        hud.speed = m_speed == Speed::Double ? 2 : m_speed == Speed::Quadruple ? 4 : 1;
        overlay.hud = video::playerHudLines(hud);
        // the banner shown until the first policy arrives
        if (!m_snapshot && !m_controller) overlay.banner = tr("Waiting for the first policy: a random policy plays meanwhile");
    }
    video::paintScene(p, size(), m_drawList, overlay);
}

bool EnvView::showStates(const std::vector<double>& states, int dim, const std::vector<QColor>& colours,
                         const QString& caption) {
    clearStates();
    if (!m_env || dim != static_cast<int>(m_obs.size()) || dim <= 0) return false;
    const size_t n = states.size() / static_cast<size_t>(dim);
    if (colours.size() != n) return false;
    for (size_t i = 0; i < n; ++i) {
        const std::optional<sim::Vec2> at = m_env->statePoint({states.data() + i * static_cast<size_t>(dim), static_cast<size_t>(dim)});
        if (!at) {
            clearStates();
            return false;
        }
        m_statePoints.push_back(*at);
        m_stateColours.push_back(colours[i]);
        const std::optional<sim::Vec2> from =
            m_env->stateAnchor({states.data() + i * static_cast<size_t>(dim), static_cast<size_t>(dim)});
        if (from) m_stateAnchors.push_back(*from);
    }
    m_statesCaption = caption;
    update();
    return true;
}

void EnvView::clearStates() {
    if (m_statePoints.empty() && m_statesCaption.isEmpty()) return;
    m_statePoints.clear();
    m_stateAnchors.clear();
    m_stateColours.clear();
    m_statesCaption.clear();
    update();
}

void EnvView::mousePressEvent(QMouseEvent* event) {
    if (!m_env || event->button() != Qt::LeftButton) return;
    m_grabbing = m_env->grab(screenToWorld(event->position()));
    if (m_grabbing) setCursor(Qt::ClosedHandCursor);
}

void EnvView::mouseMoveEvent(QMouseEvent* event) {
    if (m_env && m_grabbing) m_env->moveGrab(screenToWorld(event->position()));
}

void EnvView::mouseReleaseEvent(QMouseEvent* event) {
    if (!m_env || event->button() != Qt::LeftButton) return;
    if (m_grabbing) m_env->release();
    m_grabbing = false;
    setCursor(Qt::OpenHandCursor);
}

} // namespace ui
