#include "ui/env_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <cmath>

#include "sim/registry.h"

namespace ui {

namespace {

QColor toQColor(const sim::Color& c) { return QColor(c.r, c.g, c.b, c.a); }

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
    const sim::Camera& cam = m_drawList.camera;
    const double s = std::min(width() / std::max(1e-3f, cam.width), height() / std::max(1e-3f, cam.height));
    return {width() / 2.0 + (p.x - cam.centre.x) * s, height() / 2.0 - (p.y - cam.centre.y) * s};
}

sim::Vec2 EnvView::screenToWorld(const QPointF& p) const {
    const sim::Camera& cam = m_drawList.camera;
    const double s = std::min(width() / std::max(1e-3f, cam.width), height() / std::max(1e-3f, cam.height));
    return {static_cast<float>(cam.centre.x + (p.x() - width() / 2.0) / s),
            static_cast<float>(cam.centre.y - (p.y() - height() / 2.0) / s)};
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
    p.fillRect(rect(), toQColor(m_drawList.background));

    const double fontScale = m_largeText ? 1.6 : 1.0;
    QFont hudFont = font();
    hudFont.setPointSizeF(hudFont.pointSizeF() * 1.1 * fontScale);

    // the banner shown until the first policy arrives, at the bottom; the sampled states'
    // caption sits above it
    const bool waiting = m_overlays && !m_snapshot && !m_controller;
    QFont bannerFont = hudFont;
    bannerFont.setBold(true);
    bannerFont.setPointSizeF(hudFont.pointSizeF() * 1.15);
    const QString waitingText = tr("Waiting for the first policy: a random policy plays meanwhile");
    QRect banner;
    if (waiting) {
        // wrapped onto more lines where the view is narrower than the text (large type)
        const QFontMetrics bfm(bannerFont);
        const int maxTextW = std::max(40, width() - 52);
        const QRect textRect = bfm.boundingRect(QRect(0, 0, maxTextW, 10000), Qt::AlignCenter | Qt::TextWordWrap, waitingText);
        const int w = textRect.width() + 32, h = textRect.height() + 16;
        banner = QRect((width() - w) / 2, height() - h - 24, w, h);
    }

    if (!m_env) {
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

    const sim::Camera& cam = m_drawList.camera;
    const double scale = std::min(width() / std::max(1e-3f, cam.width), height() / std::max(1e-3f, cam.height));
    const double penScale = std::max(1.0, std::min(width(), height()) / 400.0);
    for (const sim::Primitive& prim : m_drawList.primitives) {
        const bool stroke = prim.strokeWidth > 0.f || !prim.filled;
        QPen pen(toQColor(prim.stroke), std::max(1.0, static_cast<double>(prim.strokeWidth) * penScale));
        pen.setJoinStyle(Qt::RoundJoin);
        pen.setCapStyle(Qt::RoundCap);
        switch (prim.kind) {
        case sim::Primitive::Kind::Polygon: {
            QPolygonF poly;
            for (const sim::Vec2& v : prim.points) poly << worldToScreen(v);
            p.setPen(stroke ? pen : QPen(Qt::NoPen));
            p.setBrush(prim.filled ? QBrush(toQColor(prim.fill)) : QBrush(Qt::NoBrush));
            p.drawPolygon(poly);
            break;
        }
        case sim::Primitive::Kind::Circle: {
            if (prim.points.empty()) break;
            const QPointF c = worldToScreen(prim.points[0]);
            const double r = prim.radius * scale;
            p.setPen(stroke ? pen : QPen(Qt::NoPen));
            p.setBrush(prim.filled ? QBrush(toQColor(prim.fill)) : QBrush(Qt::NoBrush));
            p.drawEllipse(c, r, r);
            break;
        }
        case sim::Primitive::Kind::Segment:
        case sim::Primitive::Kind::Polyline: {
            if (prim.points.size() < 2) break;
            QPolygonF line;
            for (const sim::Vec2& v : prim.points) line << worldToScreen(v);
            p.setPen(pen);
            p.setBrush(Qt::NoBrush);
            p.drawPolyline(line);
            break;
        }
        }
    }

    if (!m_statePoints.empty()) {
        // the batch's states, translucent so that dense regions read as solid colour
        const double r = m_largeText ? 4.5 : 3.0;
        if (m_stateAnchors.size() == m_statePoints.size()) {
            // a fan of faint rods, one per state: which way the pole leant, in its colour
            for (size_t i = 0; i < m_statePoints.size(); ++i) {
                QColor c = m_stateColours[i];
                c.setAlpha(70);
                p.setPen(QPen(c, m_largeText ? 2.0 : 1.5));
                p.drawLine(worldToScreen(m_stateAnchors[i]), worldToScreen(m_statePoints[i]));
            }
        }
        p.setPen(Qt::NoPen);
        for (size_t i = 0; i < m_statePoints.size(); ++i) {
            QColor c = m_stateColours[i];
            c.setAlpha(150);
            p.setBrush(c);
            p.drawEllipse(worldToScreen(m_statePoints[i]), r, r);
        }
        if (!m_statesCaption.isEmpty()) {
            QFont f = hudFont;
            f.setBold(true);
            const QFontMetrics fm(f);
            // wrapped where the view is narrow, above the waiting banner when that is shown
            const QRect text = fm.boundingRect(QRect(0, 0, std::max(40, width() - 36), 10000),
                                               Qt::AlignCenter | Qt::TextWordWrap, m_statesCaption);
            const int bottom = waiting ? banner.top() - 8 : height() - 10;
            const QRect box(10, bottom - text.height() - 16, width() - 20, text.height() + 16);
            p.setBrush(QColor(250, 250, 250, 215));
            p.setPen(QPen(QColor(0, 0, 0, 40), 1));
            p.drawRoundedRect(box, 6, 6);
            p.setPen(QColor(30, 30, 30));
            p.setFont(f);
            p.drawText(box.adjusted(8, 0, -8, 0), Qt::AlignCenter | Qt::TextWordWrap, m_statesCaption);
        }
    }

    if (!m_overlays) return;
    // HUD: which iteration's policy plays (first: at a teaching pace it changes every
    // episode), episode return and step, and the environment's own values
    QStringList lines;
    if (m_controller)
        lines << tr("Hand-written controller (Gymnasium's heuristic)");
    else
        lines << (m_snapshot ? tr("Policy of iteration %1, %2")
                                   .arg(m_snapshot->iteration)
                                   .arg(m_deterministic ? tr("deterministic") : tr("stochastic"))
                             : tr("Random policy"));
    lines << tr("Return %1   step %2").arg(m_episodeReturn, 0, 'f', 1).arg(m_episodeStep);
    if (m_hasLastReturn) lines << tr("Last episode %1").arg(m_lastReturn, 0, 'f', 1);
    if (m_speed == Speed::Double) lines << tr("Speed 2×");
    if (m_speed == Speed::Quadruple) lines << tr("Speed 4×");
    // a translucent box of text lines, anchored at the top left or top right (at `top`)
    const int pad = 8;
    auto boxRect = [&](const QStringList& text, const QFont& f, bool right, int top) {
        const QFontMetrics fm(f);
        int boxW = 0;
        for (const QString& l : text) boxW = std::max(boxW, fm.horizontalAdvance(l));
        const int w = boxW + 2 * pad;
        return QRect(right ? width() - w - 10 : 10, top, w, static_cast<int>(text.size()) * fm.height() + 2 * pad);
    };
    auto drawBox = [&](const QStringList& text, const QFont& f, const QRect& box) {
        if (text.isEmpty()) return;
        p.setFont(f);
        const QFontMetrics fm(f);
        p.setPen(QPen(QColor(0, 0, 0, 40), 1));
        p.setBrush(QColor(250, 250, 250, 215));
        p.drawRoundedRect(box, 6, 6);
        p.setPen(QColor(30, 30, 30));
        for (int i = 0; i < text.size(); ++i)
            p.drawText(box.left() + pad, box.top() + pad + fm.ascent() + i * fm.height(), text[i]);
    };
    const QRect left = boxRect(lines, hudFont, false, 10);
    drawBox(lines, hudFont, left);
    QStringList envLines;
    for (const auto& [label, value] : m_drawList.hud)
        envLines << QString::fromStdString(label) + "  " + QString::fromStdString(value);
    QFont envFont = hudFont;
    envFont.setPointSizeF(hudFont.pointSizeF() * 0.9);
    // the environment's values at the top right, or under the first box where they would
    // cover it (a narrow view, large type)
    QRect right = boxRect(envLines, envFont, true, 10);
    if (right.left() < left.right() + 10) right.moveTop(left.bottom() + 8);
    drawBox(envLines, envFont, right);

    if (waiting) {
        p.setPen(Qt::NoPen);
        p.setBrush(QColor(255, 193, 7, 230));
        p.drawRoundedRect(banner, 8, 8);
        p.setPen(QColor(40, 30, 0));
        p.setFont(bannerFont);
        p.drawText(banner, Qt::AlignCenter | Qt::TextWordWrap, waitingText);
    }
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
