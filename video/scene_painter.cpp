#include "video/scene_painter.h"

#include <QCoreApplication>
#include <QFontMetrics>
#include <algorithm>
#include <cmath>

namespace video {

namespace {

QColor toQColor(const sim::Color& c) { return QColor(c.r, c.g, c.b, c.a); }

QString tr(const char* text) { return QCoreApplication::translate("ui::EnvView", text); }

// boxes kept (two per frame; their size changes when a line's width does)
constexpr int kBoxes = 16;

constexpr int kHudPad = 8; // text to a HUD box's edge

QFont hudFont(const SceneOverlay& o) {
    QFont f = o.font;
    f.setPointSizeF(f.pointSizeF() * 1.1 * (o.largeText ? 1.6 : 1.0));
    return f;
}
QFont environmentFont(const SceneOverlay& o) {
    QFont f = hudFont(o);
    f.setPointSizeF(f.pointSizeF() * 0.9);
    return f;
}
QStringList environmentLines(const sim::DrawList& scene) {
    QStringList lines;
    for (const auto& [label, value] : scene.hud) lines << QString::fromStdString(label) + "  " + QString::fromStdString(value);
    return lines;
}

// paintPrimitives' pen width for a primitive's stroke on a view of `size`
double penWidth(QSize size, const sim::Primitive& prim) {
    const double penScale = std::max(1.0, std::min(size.width(), size.height()) / 400.0);
    return std::max(1.0, static_cast<double>(prim.strokeWidth) * penScale);
}

bool samePoint(const sim::Vec2& a, const sim::Vec2& b) { return a.x == b.x && a.y == b.y; }
bool sameColour(const sim::Color& a, const sim::Color& b) { return a.r == b.r && a.g == b.g && a.b == b.b && a.a == b.a; }
bool samePrimitive(const sim::Primitive& a, const sim::Primitive& b) {
    return a.kind == b.kind &&
           std::equal(a.points.begin(), a.points.end(), b.points.begin(), b.points.end(), samePoint) &&
           a.radius == b.radius && a.filled == b.filled && sameColour(a.fill, b.fill) && sameColour(a.stroke, b.stroke) &&
           a.strokeWidth == b.strokeWidth;
}
bool sameCamera(const sim::Camera& a, const sim::Camera& b) {
    return samePoint(a.centre, b.centre) && a.width == b.width && a.height == b.height;
}

} // namespace

const QImage& PaintCache::box(QSize size, double radius, QColor fill, QColor border, double devicePixelRatio) {
    const QString key = QString("%1x%2 r%3 %4 %5 @%6")
                            .arg(size.width())
                            .arg(size.height())
                            .arg(radius)
                            .arg(fill.rgba(), 0, 16)
                            .arg(border.rgba(), 0, 16)
                            .arg(devicePixelRatio);
    auto it = m_boxes.find(key);
    if (it != m_boxes.end()) return *it;
    if (m_boxes.size() >= kBoxes) m_boxes.clear();
    const QSize full = size + QSize(2 * margin, 2 * margin);
    QImage image(full * devicePixelRatio, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(devicePixelRatio);
    image.fill(Qt::transparent);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(border.alpha() > 0 ? QPen(border, 1) : QPen(Qt::NoPen));
    p.setBrush(fill);
    p.drawRoundedRect(QRectF(margin, margin, size.width(), size.height()), radius, radius);
    p.end();
    return *m_boxes.insert(key, image);
}

HudLayout PaintCache::hudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& o) {
    for (const Remembered& r : m_layouts)
        if (r.width == size.width() && r.largeText == o.largeText && r.environmentHud == o.environmentHud &&
            r.hud == o.hud && r.envHud == scene.hud && r.font == o.font)
            return r.layout;
    Remembered& r = m_layouts[m_nextLayout];
    m_nextLayout = 1 - m_nextLayout;
    r = {size.width(), o.hud, scene.hud, o.font, o.largeText, o.environmentHud, video::hudLayout(size, scene, o)};
    return r.layout;
}

QStringList playerHudLines(const PlayerHud& h) {
    QStringList lines;
    switch (h.player) {
    case PlayerHud::Player::Heuristic:
        lines << tr("Hand-written controller (Gymnasium's heuristic)");
        break;
    case PlayerHud::Player::Policy:
        lines << tr("Policy of iteration %1, %2")
                     .arg(h.iteration)
                     .arg(h.deterministic ? tr("deterministic") : tr("stochastic"));
        break;
    case PlayerHud::Player::Random:
        lines << tr("Random policy");
        break;
    }
    lines << tr("Return %1   step %2").arg(h.episodeReturn, 0, 'f', 1).arg(h.step);
    if (h.lastReturn) lines << tr("Last episode %1").arg(*h.lastReturn, 0, 'f', 1);
    if (h.speed == 2) lines << tr("Speed 2×");
    if (h.speed == 4) lines << tr("Speed 4×");
    return lines;
}

QPointF worldToScreen(const sim::Camera& cam, QSizeF size, const sim::Vec2& p) {
    const double s = std::min(size.width() / std::max(1e-3f, cam.width), size.height() / std::max(1e-3f, cam.height));
    return {size.width() / 2.0 + (p.x - cam.centre.x) * s, size.height() / 2.0 - (p.y - cam.centre.y) * s};
}

sim::Vec2 screenToWorld(const sim::Camera& cam, QSizeF size, const QPointF& p) {
    const double s = std::min(size.width() / std::max(1e-3f, cam.width), size.height() / std::max(1e-3f, cam.height));
    return {static_cast<float>(cam.centre.x + (p.x() - size.width() / 2.0) / s),
            static_cast<float>(cam.centre.y - (p.y() - size.height() / 2.0) / s)};
}

void paintPrimitives(QPainter& p, const sim::Camera& cam, QSize size, const sim::DrawList& list, int alpha) {
    const int width = size.width(), height = size.height();
    const QSizeF sz(size);
    auto toScreen = [&](const sim::Vec2& v) { return worldToScreen(cam, sz, v); };
    auto colour = [alpha](const sim::Color& c) { return QColor(c.r, c.g, c.b, c.a * alpha / 255); };
    const double scale = std::min(width / std::max(1e-3f, cam.width), height / std::max(1e-3f, cam.height));
    for (const sim::Primitive& prim : list.primitives) {
        const bool stroke = prim.strokeWidth > 0.f || !prim.filled;
        QPen pen(colour(prim.stroke), penWidth(size, prim));
        pen.setJoinStyle(Qt::RoundJoin);
        pen.setCapStyle(Qt::RoundCap);
        switch (prim.kind) {
        case sim::Primitive::Kind::Polygon: {
            QPolygonF poly;
            for (const sim::Vec2& v : prim.points) poly << toScreen(v);
            p.setPen(stroke ? pen : QPen(Qt::NoPen));
            p.setBrush(prim.filled ? QBrush(colour(prim.fill)) : QBrush(Qt::NoBrush));
            p.drawPolygon(poly);
            break;
        }
        case sim::Primitive::Kind::Circle: {
            if (prim.points.empty()) break;
            const QPointF c = toScreen(prim.points[0]);
            const double r = prim.radius * scale;
            p.setPen(stroke ? pen : QPen(Qt::NoPen));
            p.setBrush(prim.filled ? QBrush(colour(prim.fill)) : QBrush(Qt::NoBrush));
            p.drawEllipse(c, r, r);
            break;
        }
        case sim::Primitive::Kind::Segment:
        case sim::Primitive::Kind::Polyline: {
            if (prim.points.size() < 2) break;
            QPolygonF line;
            for (const sim::Vec2& v : prim.points) line << toScreen(v);
            p.setPen(pen);
            p.setBrush(Qt::NoBrush);
            p.drawPolyline(line);
            break;
        }
        }
    }
}

void paintScene(QPainter& p, QSize size, const sim::DrawList& scene, const SceneOverlay& o) {
    const int width = size.width(), height = size.height();
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    p.fillRect(QRect(QPoint(0, 0), size), toQColor(scene.background));

    // the banner at the bottom; the sampled states' caption sits above it
    QFont bannerFont = hudFont(o);
    bannerFont.setBold(true);
    bannerFont.setPointSizeF(bannerFont.pointSizeF() * 1.15);
    QRect banner;
    if (!o.banner.isEmpty()) {
        // wrapped onto more lines where the view is narrower than the text (large type)
        const QFontMetrics bfm(bannerFont);
        const int maxTextW = std::max(40, width - 52);
        const QRect textRect = bfm.boundingRect(QRect(0, 0, maxTextW, 10000), Qt::AlignCenter | Qt::TextWordWrap, o.banner);
        const int w = textRect.width() + 32, h = textRect.height() + 16;
        banner = QRect((width - w) / 2, height - h - 24, w, h);
    }

    const sim::Camera& cam = scene.camera;
    const QSizeF sz(size);
    auto toScreen = [&](const sim::Vec2& v) { return worldToScreen(cam, sz, v); };
    paintPrimitives(p, cam, size, scene);
    if (o.ghost && o.ghost->scene) {
        paintPrimitives(p, cam, size, *o.ghost->scene, o.ghost->alpha);
        const double r = o.largeText ? 5.5 : 4.0;
        p.setPen(QPen(QColor(60, 30, 20, 120), 1.0));
        for (size_t i = 0; i < o.ghost->trail.size() && i < o.ghost->trailColours.size(); ++i) {
            p.setBrush(o.ghost->trailColours[i]);
            p.drawEllipse(toScreen(o.ghost->trail[i]), r, r);
        }
    }

    if (o.states && !o.states->points.empty()) {
        const StatesOverlay& st = *o.states;
        // the batch's states, translucent so that dense regions read as solid colour
        const double r = o.largeText ? 4.5 : 3.0;
        if (st.anchors.size() == st.points.size()) {
            // a fan of faint rods, one per state: which way the pole leant, in its colour
            for (size_t i = 0; i < st.points.size(); ++i) {
                QColor c = st.colours[i];
                c.setAlpha(70);
                p.setPen(QPen(c, o.largeText ? 2.0 : 1.5));
                p.drawLine(toScreen(st.anchors[i]), toScreen(st.points[i]));
            }
        }
        p.setPen(Qt::NoPen);
        for (size_t i = 0; i < st.points.size(); ++i) {
            QColor c = st.colours[i];
            c.setAlpha(150);
            p.setBrush(c);
            p.drawEllipse(toScreen(st.points[i]), r, r);
        }
        if (!st.caption.isEmpty()) {
            QFont f = hudFont(o);
            f.setBold(true);
            const QFontMetrics fm(f);
            // wrapped where the view is narrow, above the banner when that is shown
            const QRect text = fm.boundingRect(QRect(0, 0, std::max(40, width - 36), 10000),
                                               Qt::AlignCenter | Qt::TextWordWrap, st.caption);
            const int bottom = banner.isValid() ? banner.top() - 8 : height - 10;
            const QRect box(10, bottom - text.height() - 16, width - 20, text.height() + 16);
            p.setBrush(QColor(250, 250, 250, 215));
            p.setPen(QPen(QColor(0, 0, 0, 40), 1));
            p.drawRoundedRect(box, 6, 6);
            p.setPen(QColor(30, 30, 30));
            p.setFont(f);
            p.drawText(box.adjusted(8, 0, -8, 0), Qt::AlignCenter | Qt::TextWordWrap, st.caption);
        }
    }

    // HUD: who plays (first: at a teaching pace it changes every episode), episode return
    // and step, and the environment's own values
    const HudLayout boxes = cachedHudLayout(size, scene, o);
    auto drawBox = [&](const QStringList& text, const QFont& f, const QRect& box) {
        if (text.isEmpty()) return;
        p.setFont(f);
        const QFontMetrics fm(f);
        const QColor fill(250, 250, 250, 215), border(0, 0, 0, 40);
        if (o.cache) {
            const int m = PaintCache::margin;
            p.drawImage(box.topLeft() - QPoint(m, m), o.cache->box(box.size(), 6, fill, border, p.device()->devicePixelRatio()));
        } else {
            p.setPen(QPen(border, 1));
            p.setBrush(fill);
            p.drawRoundedRect(box, 6, 6);
        }
        p.setPen(QColor(30, 30, 30));
        for (int i = 0; i < text.size(); ++i)
            p.drawText(box.left() + kHudPad, box.top() + kHudPad + fm.ascent() + i * fm.height(), text[i]);
    };
    if (boxes.player.isValid()) drawBox(o.hud, hudFont(o), boxes.player);
    if (boxes.environment.isValid()) drawBox(environmentLines(scene), environmentFont(o), boxes.environment);

    if (banner.isValid()) {
        p.setPen(Qt::NoPen);
        p.setBrush(QColor(255, 193, 7, 230));
        p.drawRoundedRect(banner, 8, 8);
        p.setPen(QColor(40, 30, 0));
        p.setFont(bannerFont);
        p.drawText(banner, Qt::AlignCenter | Qt::TextWordWrap, o.banner);
    }
}

HudLayout hudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& o) {
    HudLayout l;
    if (o.hud.isEmpty()) return l;
    const int width = size.width();
    // a box of text lines anchored at the top left or top right, at `top`
    auto boxRect = [&](const QStringList& text, const QFont& f, bool right, int top) {
        const QFontMetrics fm(f);
        int boxW = 0;
        for (const QString& line : text) boxW = std::max(boxW, fm.horizontalAdvance(line));
        const int w = boxW + 2 * kHudPad;
        return QRect(right ? width - w - 10 : 10, top, w, static_cast<int>(text.size()) * fm.height() + 2 * kHudPad);
    };
    l.player = boxRect(o.hud, hudFont(o), false, 10);
    const QStringList env = environmentLines(scene);
    if (o.environmentHud && !env.isEmpty()) {
        // under the first box where it would cover it (a narrow view, large type)
        l.environment = boxRect(env, environmentFont(o), true, 10);
        if (l.environment.left() < l.player.right() + 10) l.environment.moveTop(l.player.bottom() + 8);
    }
    return l;
}

HudLayout cachedHudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& o) {
    return o.cache ? o.cache->hudLayout(size, scene, o) : hudLayout(size, scene, o);
}

QRect primitiveBounds(const sim::Camera& cam, QSize size, const sim::Primitive& prim) {
    const QSizeF sz(size);
    QRectF r;
    if (prim.kind == sim::Primitive::Kind::Circle) {
        if (prim.points.empty()) return {};
        const double scale = std::min(size.width() / std::max(1e-3f, cam.width), size.height() / std::max(1e-3f, cam.height));
        const double radius = prim.radius * scale;
        const QPointF c = worldToScreen(cam, sz, prim.points[0]);
        r = QRectF(c.x() - radius, c.y() - radius, 2 * radius, 2 * radius);
    } else {
        if (prim.points.empty()) return {};
        const QPointF first = worldToScreen(cam, sz, prim.points[0]);
        double x0 = first.x(), x1 = first.x(), y0 = first.y(), y1 = first.y();
        for (const sim::Vec2& v : prim.points) {
            const QPointF s = worldToScreen(cam, sz, v);
            x0 = std::min(x0, s.x());
            x1 = std::max(x1, s.x());
            y0 = std::min(y0, s.y());
            y1 = std::max(y1, s.y());
        }
        r = QRectF(x0, y0, x1 - x0, y1 - y0);
    }
    // half the pen (round caps and joins reach no further) and the anti-aliased fringe
    const double grow = penWidth(size, prim) / 2 + 2;
    return r.adjusted(-grow, -grow, grow, grow).toAlignedRect();
}

QRegion sceneDamage(QSize size, const sim::DrawList& before, const QStringList& hudBefore, const sim::DrawList& after,
                    const SceneOverlay& o) {
    const QRect whole(QPoint(0, 0), size);
    if (!o.banner.isEmpty() || (o.states && (!o.states->points.empty() || !o.states->caption.isEmpty())) || o.ghost ||
        !sameCamera(before.camera, after.camera) || !sameColour(before.background, after.background) ||
        before.primitives.size() != after.primitives.size())
        return whole;
    QRegion damage;
    for (size_t i = 0; i < after.primitives.size(); ++i) {
        const sim::Primitive &was = before.primitives[i], &is = after.primitives[i];
        if (samePrimitive(was, is)) continue;
        damage += primitiveBounds(before.camera, size, was);
        damage += primitiveBounds(after.camera, size, is);
    }
    SceneOverlay old = o;
    old.hud = hudBefore;
    const HudLayout was = cachedHudLayout(size, before, old), is = cachedHudLayout(size, after, o);
    // a box's margin: the cached image's one pixel, and the rounded border's fringe
    for (const QRect& r : {was.player, was.environment, is.player, is.environment})
        if (r.isValid()) damage += r.adjusted(-2, -2, 2, 2);
    return damage & whole;
}

} // namespace video
