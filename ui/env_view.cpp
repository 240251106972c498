#include "ui/env_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

#include "core/cpu_time.h"
#include "sim/registry.h"
#include "video/scene_painter.h"

namespace ui {

namespace {

double randomNormal(core::Rng& rng) { return rng.normal(); }

} // namespace

EnvView::EnvView(QWidget* parent) : QWidget(parent), m_paintCache(std::make_unique<video::PaintCache>()) {
    setObjectName("envView");
    setMouseTracking(false);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setCursor(Qt::OpenHandCursor);
    setToolTip(tr("Drag a body with the mouse to perturb the agent; release to let it recover."));
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        armFrameTimer();
        tick();
    });
    m_frameClock.start();
}

EnvView::~EnvView() = default;

bool EnvView::setEnvironment(const QString& id) {
    std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(id.toStdString());
    if (!env) return false;
    m_env = std::move(env);
    m_replay.reset();
    m_ghost.reset();
    m_pendingGhost.reset();
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
    if (m_replay || m_ghost) {
        // a replay or the ghost is on screen: the new policy plays once they stop
    } else if (m_restartOnNewPolicy && !m_controller) {
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

double EnvView::meanPaintMilliseconds() const { return m_paintCount > 0 ? m_paintCpuMs / m_paintCount : 0.0; }

void EnvView::clearFrameTimes() {
    m_frameIntervals.clear();
    m_paintCpuMs = 0;
    m_paintCount = 0;
    m_lastFrameNs = -1;
    m_timingFrames = true;
}

void EnvView::updateTimer() {
    if (!m_env || m_speed == Speed::RenderOff) {
        m_timer.stop();
        return;
    }
    const double fps = m_fpsOverride > 0 ? m_fpsOverride : std::max(1.0, m_env->spec().frameRate);
    m_framePeriodNs = std::llround(1e9 / fps);
    m_nextFrameNs = m_frameClock.nsecsElapsed();
    armFrameTimer();
}

void EnvView::armFrameTimer() {
    // frames keep a grid of exact periods (60 fps is 16.67 ms, which a periodic timer in whole
    // milliseconds cannot keep): each wait is to the next grid time, so a late frame does not
    // push back the ones after it
    const qint64 now = m_frameClock.nsecsElapsed();
    m_nextFrameNs += m_framePeriodNs;
    if (m_nextFrameNs < now) m_nextFrameNs = now + m_framePeriodNs; // a whole frame behind: a new grid
    m_timer.start(static_cast<int>((m_nextFrameNs - now) / 1000000));
}

void EnvView::resetEpisode() {
    if (!m_env) return;
    if (m_grabbing) {
        m_env->release();
        m_grabbing = false;
    }
    m_env->reset(m_episodeSeed++, m_obs);
    m_actState.reset();
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
        m_snapshot->act(m_obs, m_rng, m_deterministic, m_action, &m_actState);
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

QStringList EnvView::hudLines() const {
    if (!m_overlays) return {};
    video::PlayerHud hud;
    hud.player = m_controller ? video::PlayerHud::Player::Heuristic
                 : m_snapshot ? video::PlayerHud::Player::Policy
                              : video::PlayerHud::Player::Random;
    hud.iteration = m_snapshot ? m_snapshot->iteration : 0;
    hud.deterministic = m_deterministic;
    hud.episodeReturn = m_episodeReturn;
    hud.step = m_episodeStep;
    if (m_hasLastReturn && !m_ghost) hud.lastReturn = m_lastReturn;
    hud.speed = m_speed == Speed::Double ? 2 : m_speed == Speed::Quadruple ? 4 : 1;
    QStringList lines = video::playerHudLines(hud);
    // a replay or the ghost names what plays instead (first line); the ghost adds both
    // episodes' returns after the running one
    if (m_ghost) {
        lines[0] = tr("π_new: policy of iteration %1 (solid)").arg(m_ghost->request.iteration);
        lines.insert(1, tr("π_old: policy before it (translucent)"));
        lines.insert(3, tr("π_new's episode: return %1, %2 steps").arg(m_ghost->newRun.ret, 0, 'f', 1).arg(m_ghost->newRun.length));
        lines.insert(4, tr("π_old's episode: return %1, %2 steps").arg(m_ghost->oldRun.ret, 0, 'f', 1).arg(m_ghost->oldRun.length));
    } else if (m_replay) {
        lines[0] = tr("Replay of iteration %1's %2 episode")
                       .arg(m_replay->iteration)
                       .arg(QString::fromLatin1(core::episodeRankName(m_replay->rank)));
    }
    return lines;
}

video::SceneOverlay EnvView::sceneOverlay() const {
    video::SceneOverlay overlay;
    overlay.font = font();
    overlay.largeText = m_largeText;
    overlay.cache = m_paintCache.get();
    overlay.hud = hudLines();
    // shown until the first policy arrives
    if (m_overlays && !m_snapshot && !m_controller && !m_replay && !m_ghost)
        overlay.banner = tr("Waiting for the first policy: a random policy plays meanwhile");
    return overlay;
}

void EnvView::tick() {
    if (!m_env) return;
    const int steps = m_speed == Speed::Double ? 2 : m_speed == Speed::Quadruple ? 4 : 1;
    for (int i = 0; i < steps; ++i) {
        if (m_ghost)
            stepGhost();
        else if (m_replay)
            stepReplay();
        else
            stepEnvironment();
    }
    m_env->draw(m_drawList);
    // a replay's or the ghost's caption and the batch's states are not in the scene: those
    // frames are painted whole, as are the ones after anything else asked for a repaint
    if (m_painted && !m_ghost && !m_replay && m_statePoints.empty() && m_statesCaption.isEmpty()) {
        update(video::sceneDamage(size(), m_paintedDrawList, m_paintedHud, m_drawList, sceneOverlay()));
    } else {
        update();
    }
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
        double cpuStartMs;
        ~Notify() {
            if (v->m_timingFrames) {
                v->m_paintCpuMs += 1e3 * core::threadCpuSeconds() - cpuStartMs;
                ++v->m_paintCount;
            }
            emit v->framePainted();
        }
    } notify{this, m_timingFrames ? 1e3 * core::threadCpuSeconds() : 0.0};
    const qint64 now = m_frameClock.nsecsElapsed();
    if (m_timingFrames && m_lastFrameNs >= 0) m_frameIntervals.push_back((now - m_lastFrameNs) / 1e6);
    m_lastFrameNs = now;

    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    QFont hudFont = font();
    hudFont.setPointSizeF(hudFont.pointSizeF() * 1.1 * (m_largeText ? 1.6 : 1.0));

    m_painted = false;
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

    video::SceneOverlay overlay = sceneOverlay();
    video::StatesOverlay states;
    if (!m_statePoints.empty()) {
        states.points = m_statePoints;
        states.anchors = m_stateAnchors;
        states.colours = m_stateColours;
        states.caption = m_statesCaption;
        overlay.states = &states;
    }
    video::GhostOverlay ghost;
    if (m_ghost) {
        // π_old over π_new, translucent, and the KL trail along π_new's states so far
        ghost.scene = &m_ghost->oldDraw;
        ghost.trail = m_ghost->trail;
        ghost.trailColours = m_ghost->trailColours;
        overlay.ghost = &ghost;
    }
    m_paintedDrawList = m_drawList;
    m_paintedHud = overlay.hud;
    m_painted = true;
    video::paintScene(p, size(), m_drawList, overlay);

    // the replay's or the ghost's caption at the bottom, large enough for the back row
    if (m_overlays && m_ghost)
        paintGhostOverlay(p, hudFont);
    else if (m_overlays && m_replay)
        paintCaption(p, hudFont, replayCaption(), height() - 10, QColor(225, 238, 255, 235));
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
    // a push would change a recorded episode or the policies' comparison
    if (!m_env || event->button() != Qt::LeftButton || m_replay || m_ghost) return;
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

// ---- replay ------------------------------------------------------------------------------

namespace {
int holdTicksFor(double fps, double seconds) { return std::max(1, static_cast<int>(std::lround(fps * seconds))); }
} // namespace

bool EnvView::playReplay(const core::EpisodeRecord& record, int iteration, core::EpisodeRank rank) {
    if (!m_env || record.actionDim != m_env->spec().action.dim() ||
        record.actions.size() != static_cast<std::size_t>(record.length) * static_cast<std::size_t>(record.actionDim))
        return false;
    if (m_grabbing) {
        m_env->release();
        m_grabbing = false;
    }
    clearStates();
    m_replay = Replay{record, iteration, rank, 0, 0};
    m_env->reset(record.seed, m_obs);
    m_episodeReturn = 0;
    m_episodeStep = 0;
    m_hasLastReturn = false;
    m_env->draw(m_drawList);
    update();
    return true;
}

void EnvView::stopReplay() {
    if (!m_replay) return;
    m_replay.reset();
    // the live policy goes on from a fresh episode
    m_hasLastReturn = false;
    if (!m_ghost) resetEpisode();
    update();
}

QString EnvView::replayCaption() const {
    if (!m_replay) return {};
    return tr("Replay: iteration %1, %2 episode, return %3")
        .arg(m_replay->iteration)
        .arg(QString::fromLatin1(core::episodeRankName(m_replay->rank)))
        .arg(m_replay->record.ret, 0, 'f', 1);
}

void EnvView::stepReplay() {
    Replay& r = *m_replay;
    if (r.holdTicks > 0) {
        // the last frame stays a moment, then the episode plays again from its seed
        if (--r.holdTicks == 0) {
            m_env->reset(r.record.seed, m_obs);
            r.next = 0;
            m_episodeReturn = 0;
            m_episodeStep = 0;
        }
        return;
    }
    const std::size_t ad = static_cast<std::size_t>(r.record.actionDim);
    bool ended = r.next * ad >= r.record.actions.size();
    if (!ended) {
        const core::StepResult s = m_env->step(std::span<const double>(r.record.actions.data() + r.next * ad, ad), m_obs);
        m_episodeReturn += s.reward;
        ++m_episodeStep;
        ++r.next;
        ended = s.terminated || s.truncated || r.next * ad >= r.record.actions.size();
    }
    if (ended) {
        m_lastReturn = m_episodeReturn;
        m_hasLastReturn = true;
        r.holdTicks = holdTicksFor(m_fpsOverride > 0 ? m_fpsOverride : m_env->spec().frameRate, kHoldSeconds);
        emit replayFinished(m_episodeReturn, m_episodeStep);
    }
}

// ---- ghost -------------------------------------------------------------------------------

QColor EnvView::klColour(double kl, double top) {
    // light yellow, orange, dark red (a sequential scale that prints and projects)
    const double t = top > 0 ? std::clamp(kl / top, 0.0, 1.0) : 0.0;
    struct Stop {
        double at;
        int r, g, b;
    };
    static constexpr Stop stops[] = {{0.0, 255, 237, 160}, {0.35, 254, 178, 76}, {0.7, 240, 59, 32}, {1.0, 128, 0, 38}};
    for (std::size_t i = 1; i < std::size(stops); ++i)
        if (t <= stops[i].at) {
            const Stop& a = stops[i - 1];
            const Stop& b = stops[i];
            const double u = (t - a.at) / (b.at - a.at);
            return QColor(static_cast<int>(std::lround(a.r + u * (b.r - a.r))), static_cast<int>(std::lround(a.g + u * (b.g - a.g))),
                          static_cast<int>(std::lround(a.b + u * (b.b - a.b))));
        }
    return QColor(stops[3].r, stops[3].g, stops[3].b);
}

const std::vector<double>& EnvView::ghostKl() const {
    static const std::vector<double> none;
    return m_ghost ? m_ghost->kl : none;
}

bool EnvView::showGhost(const GhostRequest& request, QString* why) {
    auto refuse = [why](const QString& reason) {
        if (why) *why = reason;
        return false;
    };
    if (!m_env) return refuse(tr("there is no environment"));
    if (!request.oldPolicy || !request.newPolicy) return refuse(tr("π_old or π_new is missing"));
    if (QString::fromStdString(request.oldPolicy->envId) != m_envId ||
        QString::fromStdString(request.newPolicy->envId) != m_envId)
        return refuse(tr("the policies belong to another environment"));
    if (request.oldPolicy->theta.size() != request.newPolicy->theta.size())
        return refuse(tr("π_old and π_new have different network layouts"));
    if (m_ghost && m_ghost->step > 0 && m_ghost->holdTicks == 0) {
        // the comparison on screen plays to its end first
        m_pendingGhost = request;
        return true;
    }
    try {
        startGhost(request);
    } catch (const std::exception& e) {
        m_ghost.reset();
        return refuse(QString::fromStdString(e.what()));
    }
    return true;
}

void EnvView::startGhost(const GhostRequest& request) {
    GhostPlay g;
    g.request = request;
    std::unique_ptr<sim::SimEnvironment> oldEnv = sim::makeEnvironment(m_envId.toStdString());
    if (!oldEnv) throw std::runtime_error("no copy of the environment");
    const int maxSteps = m_env->spec().maxEpisodeSteps + 1;
    // the same random numbers for both: where they differ, the policies differ
    const core::Rng rng(request.seed ^ 0x9e3779b97f4a7c15ULL);
    g.newRun = core::rollout(*request.newPolicy, *m_env, request.seed, rng, m_deterministic, maxSteps);
    g.oldRun = core::rollout(*request.oldPolicy, *oldEnv, request.seed, rng, m_deterministic, maxSteps);
    const Eigen::Map<const Eigen::MatrixXd> states(g.newRun.obs.data(), g.newRun.obsDim, g.newRun.length);
    const Eigen::VectorXd kl = core::perStateKl(*request.oldPolicy, *request.newPolicy, states);
    g.kl.assign(kl.data(), kl.data() + kl.size());
    const double maxKl = g.kl.empty() ? 0.0 : *std::max_element(g.kl.begin(), g.kl.end());
    g.klTop = std::max({maxKl, request.delta, 1e-12});
    g.oldEnv = std::move(oldEnv);
    m_ghost = std::move(g);
    m_pendingGhost.reset();
    if (m_grabbing) {
        m_env->release();
        m_grabbing = false;
    }
    // both from the seed again, stepped together by stepGhost()
    m_env->reset(request.seed, m_obs);
    std::vector<double> scratch(static_cast<std::size_t>(m_ghost->oldRun.obsDim));
    m_ghost->oldEnv->reset(request.seed, scratch);
    m_ghost->oldEnv->draw(m_ghost->oldDraw);
    m_episodeReturn = 0;
    m_episodeStep = 0;
    m_env->draw(m_drawList);
    update();
}

void EnvView::clearGhost() {
    m_pendingGhost.reset();
    if (!m_ghost) return;
    m_ghost.reset();
    // back to what played before: the replay from its start, or the live policy
    if (m_replay)
        playReplay(m_replay->record, m_replay->iteration, m_replay->rank);
    else
        resetEpisode();
    update();
}

void EnvView::stepGhost() {
    GhostPlay& g = *m_ghost;
    if (g.holdTicks > 0) {
        if (--g.holdTicks == 0) {
            if (m_pendingGhost) {
                const GhostRequest next = std::move(*m_pendingGhost);
                try {
                    startGhost(next);
                    return;
                } catch (const std::exception&) {
                    m_pendingGhost.reset(); // the comparison on screen plays again instead
                }
            }
            try {
                startGhost(GhostRequest(g.request));
            } catch (const std::exception&) {
                clearGhost(); // cannot happen for a comparison that started once; the live policy plays
            }
        }
        return;
    }
    const int k = g.step;
    std::vector<double> scratch(static_cast<std::size_t>(g.oldRun.obsDim));
    if (k < g.newRun.length) {
        // the state π_new acts in, coloured by how far the update moved the policy there
        const std::span<const double> s(g.newRun.obs.data() + static_cast<std::size_t>(k) * g.newRun.obsDim,
                                        static_cast<std::size_t>(g.newRun.obsDim));
        if (const std::optional<sim::Vec2> at = m_env->statePoint(s)) {
            g.trail.push_back(*at);
            g.trailColours.push_back(klColour(g.kl[static_cast<std::size_t>(k)], g.klTop));
        }
        const core::StepResult r = m_env->step(
            std::span<const double>(g.newRun.actions.data() + static_cast<std::size_t>(k) * g.newRun.actionDim,
                                    static_cast<std::size_t>(g.newRun.actionDim)),
            m_obs);
        m_episodeReturn += r.reward;
        ++m_episodeStep;
    }
    if (k < g.oldRun.length) {
        g.oldEnv->step(std::span<const double>(g.oldRun.actions.data() + static_cast<std::size_t>(k) * g.oldRun.actionDim,
                                               static_cast<std::size_t>(g.oldRun.actionDim)),
                       scratch);
        g.oldEnv->draw(g.oldDraw);
    }
    ++g.step;
    if (g.step >= std::max(g.newRun.length, g.oldRun.length)) {
        g.holdTicks = holdTicksFor(m_fpsOverride > 0 ? m_fpsOverride : m_env->spec().frameRate, kHoldSeconds);
        emit ghostFinished();
    }
}

QString EnvView::ghostCaption() const {
    if (!m_ghost) return {};
    return tr("Ghost of iteration %1's update: π_old translucent, π_new solid, both from %2. "
              "Dots: KL(π_old ‖ π_new) in each state π_new visits.")
        .arg(m_ghost->request.iteration)
        .arg(m_ghost->request.seedNote.isEmpty() ? tr("seed %1").arg(m_ghost->request.seed) : m_ghost->request.seedNote);
}

void EnvView::paintCaption(QPainter& p, const QFont& hudFont, const QString& text, int bottom, const QColor& bg) {
    QFont f = hudFont;
    f.setBold(true);
    f.setPointSizeF(hudFont.pointSizeF() * 1.15);
    const QFontMetrics fm(f);
    const QRect t = fm.boundingRect(QRect(0, 0, std::max(40, width() - 36), 10000), Qt::AlignCenter | Qt::TextWordWrap, text);
    const QRect box(10, bottom - t.height() - 16, width() - 20, t.height() + 16);
    p.setBrush(bg);
    p.setPen(QPen(QColor(0, 0, 0, 60), 1));
    p.drawRoundedRect(box, 6, 6);
    p.setPen(QColor(20, 20, 30));
    p.setFont(f);
    p.drawText(box.adjusted(8, 0, -8, 0), Qt::AlignCenter | Qt::TextWordWrap, text);
}

void EnvView::paintGhostOverlay(QPainter& p, const QFont& hudFont) {
    const GhostPlay& g = *m_ghost;
    // the caption along the bottom
    QFont capFont = hudFont;
    capFont.setBold(true);
    const QFontMetrics cfm(capFont);
    const QString caption = ghostCaption();
    const int capH = cfm.boundingRect(QRect(0, 0, std::max(40, width() - 36), 10000), Qt::AlignCenter | Qt::TextWordWrap, caption).height() + 16;
    {
        const QRect box(10, height() - 10 - capH, width() - 20, capH);
        p.setBrush(QColor(250, 250, 250, 230));
        p.setPen(QPen(QColor(0, 0, 0, 60), 1));
        p.drawRoundedRect(box, 6, 6);
        p.setPen(QColor(20, 20, 30));
        p.setFont(capFont);
        p.drawText(box.adjusted(8, 0, -8, 0), Qt::AlignCenter | Qt::TextWordWrap, caption);
    }
    if (g.kl.empty()) return;

    // the histogram of the per-state KL, its bars in the trail's colours (so it is the
    // legend too), with δ and the mean marked
    const double scale = m_largeText ? 1.5 : 1.0;
    QFont f = hudFont;
    f.setPointSizeF(hudFont.pointSizeF() * 0.9);
    const QFontMetrics fm(f);
    const double delta = g.request.delta;
    std::size_t above = 0;
    double sum = 0;
    for (double v : g.kl) {
        sum += v;
        if (delta > 0 && v > delta) ++above;
    }
    const double mean = sum / static_cast<double>(g.kl.size());
    const QString title = tr("KL(π_old ‖ π_new) per state (%1 states)").arg(g.kl.size());
    const QString deltaLine = tr("dashed: δ = %1 bounds the mean").arg(QString::number(delta, 'g', 3));
    const QString meanLine = tr("solid: mean %1 · max %2")
                                 .arg(QString::number(mean, 'g', 3),
                                      QString::number(*std::max_element(g.kl.begin(), g.kl.end()), 'g', 3));
    const QString aboveLine =
        tr("%1% of the states are above δ")
            .arg(QString::number(100.0 * static_cast<double>(above) / static_cast<double>(g.kl.size()), 'f', 0));
    // as wide as its longest line (the type grows in presentation mode), within the view
    int textW = 0;
    for (const QString& l : {title, deltaLine, meanLine, aboveLine}) textW = std::max(textW, fm.horizontalAdvance(l));
    const int w = std::min(std::max(static_cast<int>(300 * scale), textW + 24), width() - 20);
    const int plotH = static_cast<int>(90 * scale);
    const int h = plotH + 5 * fm.height() + 30;
    const QRect box(width() - w - 10, height() - 10 - capH - 8 - h, w, h);
    p.setBrush(QColor(255, 255, 255, 235));
    p.setPen(QPen(QColor(0, 0, 0, 60), 1));
    p.drawRoundedRect(box, 6, 6);
    p.setFont(f);
    p.setPen(QColor(20, 20, 30));
    const int x0 = box.left() + 12, x1 = box.right() - 12;
    int y = box.top() + 6 + fm.ascent();
    p.drawText(x0, y, title);
    y += fm.height();
    const QRect plot(x0, y, x1 - x0, plotH);
    constexpr int kBins = 24;
    std::vector<int> counts(kBins, 0);
    for (double v : g.kl) counts[static_cast<std::size_t>(std::clamp(static_cast<int>(v / g.klTop * kBins), 0, kBins - 1))]++;
    const int most = std::max(1, *std::max_element(counts.begin(), counts.end()));
    const double bw = static_cast<double>(plot.width()) / kBins;
    p.setPen(QPen(QColor(0, 0, 0, 70), 1));
    for (int b = 0; b < kBins; ++b) {
        const double bh = counts[static_cast<std::size_t>(b)] == 0 ? 0.0 : std::max(1.5, plot.height() * counts[static_cast<std::size_t>(b)] / static_cast<double>(most));
        p.setBrush(klColour((b + 0.5) / kBins * g.klTop, g.klTop));
        p.drawRect(QRectF(plot.left() + b * bw, plot.bottom() - bh, bw, bh));
    }
    p.setPen(QPen(QColor(60, 60, 60), 1));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    auto xAt = [&](double v) { return plot.left() + plot.width() * std::clamp(v / g.klTop, 0.0, 1.0); };
    // δ: the bound on the mean, not on each state
    if (delta > 0) {
        p.setPen(QPen(QColor(30, 90, 200), 2.5 * scale, Qt::DashLine));
        p.drawLine(QPointF(xAt(delta), plot.top()), QPointF(xAt(delta), plot.bottom()));
    }
    p.setPen(QPen(QColor(20, 20, 20), 2.0 * scale));
    p.drawLine(QPointF(xAt(mean), plot.top() + plot.height() * 0.3), QPointF(xAt(mean), plot.bottom()));
    // the scale under the bars
    y = plot.bottom() + 4 + fm.ascent();
    p.setPen(QColor(20, 20, 30));
    p.drawText(x0, y, QStringLiteral("0"));
    const QString top = QString::number(g.klTop, 'g', 3);
    p.drawText(x1 - fm.horizontalAdvance(top), y, top);
    y += fm.height();
    p.setPen(QColor(30, 90, 200));
    p.drawText(x0, y, deltaLine);
    y += fm.height();
    p.setPen(QColor(20, 20, 30));
    p.drawText(x0, y, meanLine);
    y += fm.height();
    p.drawText(x0, y, aboveLine);
}

} // namespace ui
