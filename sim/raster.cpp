#include "sim/raster.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace sim {

double darkness(Color c) {
    return 1.0 - (0.299 * c.r + 0.587 * c.g + 0.114 * c.b) / 255.0;
}

namespace {

struct P {
    double x, y; // image coordinates: columns, rows (down), continuous
};

bool insidePolygon(const std::vector<P>& poly, P q) {
    bool in = false;
    for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
        const P& a = poly[i];
        const P& b = poly[j];
        if ((a.y > q.y) != (b.y > q.y) && q.x < (b.x - a.x) * (q.y - a.y) / (b.y - a.y) + a.x) in = !in;
    }
    return in;
}

double distanceSquaredToSegment(P a, P b, P q) {
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((q.x - a.x) * dx + (q.y - a.y) * dy) / len2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const double ex = a.x + t * dx - q.x, ey = a.y + t * dy - q.y;
    return ex * ex + ey * ey;
}

class Canvas {
public:
    Canvas(const RasterView& v, std::span<double> out) : m_v(v), m_out(out) {}

    P toImage(Vec2 w) const {
        return {(static_cast<double>(w.x) - m_v.x0) / m_v.metresPerPixel, (m_v.yTop - static_cast<double>(w.y)) / m_v.metresPerPixel};
    }
    // composites `value` with `alpha` over every pixel of the box [minX, maxX] × [minY, maxY]
    // (image coordinates), weighted by the share of the pixel's sample points `inside` accepts
    template <typename Inside>
    void paint(double minX, double maxX, double minY, double maxY, double value, double alpha, Inside&& inside) {
        const int c0 = std::max(0, static_cast<int>(std::floor(minX))), c1 = std::min(m_v.cols - 1, static_cast<int>(std::floor(maxX)));
        const int r0 = std::max(0, static_cast<int>(std::floor(minY))), r1 = std::min(m_v.rows - 1, static_cast<int>(std::floor(maxY)));
        const int s = std::max(1, m_v.samples);
        const double total = static_cast<double>(s) * s;
        for (int r = r0; r <= r1; ++r)
            for (int c = c0; c <= c1; ++c) {
                int hits = 0;
                for (int i = 0; i < s; ++i)
                    for (int j = 0; j < s; ++j)
                        if (inside(P{c + (j + 0.5) / s, r + (i + 0.5) / s})) ++hits;
                if (hits == 0) continue;
                const double a = alpha * hits / total;
                double& px = m_out[static_cast<size_t>(r) * static_cast<size_t>(m_v.cols) + static_cast<size_t>(c)];
                px = px * (1.0 - a) + value * a;
            }
    }

private:
    const RasterView& m_v;
    std::span<double> m_out;
};

} // namespace

void rasterizeGray(const DrawList& scene, const RasterView& view, std::span<double> out) {
    assert(out.size() == static_cast<size_t>(view.rows) * static_cast<size_t>(view.cols));
    std::fill(out.begin(), out.end(), darkness(scene.background));
    Canvas canvas(view, out);
    for (const Primitive& pr : scene.primitives) {
        if (pr.points.empty()) continue;
        std::vector<P> pts;
        pts.reserve(pr.points.size());
        for (Vec2 w : pr.points) pts.push_back(canvas.toImage(w));
        double minX = pts[0].x, maxX = pts[0].x, minY = pts[0].y, maxY = pts[0].y;
        for (const P& p : pts) {
            minX = std::min(minX, p.x), maxX = std::max(maxX, p.x);
            minY = std::min(minY, p.y), maxY = std::max(maxY, p.y);
        }
        switch (pr.kind) {
        case Primitive::Kind::Polygon: {
            if (!pr.filled || pts.size() < 3) break;
            canvas.paint(minX, maxX, minY, maxY, darkness(pr.fill), pr.fill.a / 255.0, [&](P q) { return insidePolygon(pts, q); });
            break;
        }
        case Primitive::Kind::Circle: {
            if (!pr.filled) break;
            const double r = pr.radius / view.metresPerPixel;
            const P c = pts[0];
            canvas.paint(c.x - r, c.x + r, c.y - r, c.y + r, darkness(pr.fill), pr.fill.a / 255.0,
                         [&](P q) { return (q.x - c.x) * (q.x - c.x) + (q.y - c.y) * (q.y - c.y) <= r * r; });
            break;
        }
        case Primitive::Kind::Segment:
        case Primitive::Kind::Polyline: {
            if (pts.size() < 2) break;
            const double half = std::max(1.0, static_cast<double>(pr.strokeWidth)) / 2.0, half2 = half * half;
            canvas.paint(minX - half, maxX + half, minY - half, maxY + half, darkness(pr.stroke), pr.stroke.a / 255.0, [&](P q) {
                for (size_t i = 0; i + 1 < pts.size(); ++i)
                    if (distanceSquaredToSegment(pts[i], pts[i + 1], q) <= half2) return true;
                return false;
            });
            break;
        }
        }
    }
}

} // namespace sim
