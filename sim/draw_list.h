// A plain recording of what an environment looks like after a step: primitives in world
// units (metres, y up), in paint order, plus a suggested camera and a few HUD values.
// It is a value type: safe to copy across threads; nothing here includes Qt.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sim {

struct Vec2 {
    float x = 0.f;
    float y = 0.f;
};

struct Color {
    std::uint8_t r = 0, g = 0, b = 0, a = 255;
};

struct Primitive {
    enum class Kind { Polygon, Circle, Segment, Polyline };
    Kind kind = Kind::Polygon;
    std::vector<Vec2> points; // polygon/polyline vertices; segment end points; circle centre
    float radius = 0.f;       // circle radius in metres
    bool filled = true;       // polygons and circles
    Color fill{};
    Color stroke{};
    float strokeWidth = 0.f;  // in screen pixels at scale 1 (0 = no outline for filled shapes)
};

// world rectangle the viewer should show: centre and visible width/height in metres
struct Camera {
    Vec2 centre{};
    float width = 10.f;
    float height = 6.f;
};

struct DrawList {
    Color background{255, 255, 255, 255};
    Camera camera{};
    std::vector<Primitive> primitives;
    std::vector<std::pair<std::string, std::string>> hud; // label, value

    void clear() {
        primitives.clear();
        hud.clear();
    }
    void polygon(std::vector<Vec2> pts, Color fill, Color stroke = {}, float strokeWidth = 0.f) {
        primitives.push_back({Primitive::Kind::Polygon, std::move(pts), 0.f, true, fill, stroke, strokeWidth});
    }
    void circle(Vec2 c, float r, Color fill, Color stroke = {}, float strokeWidth = 0.f, bool filled = true) {
        primitives.push_back({Primitive::Kind::Circle, {c}, r, filled, fill, stroke, strokeWidth});
    }
    void segment(Vec2 a, Vec2 b, Color color, float width = 1.f) {
        primitives.push_back({Primitive::Kind::Segment, {a, b}, 0.f, false, {}, color, width});
    }
    void polyline(std::vector<Vec2> pts, Color color, float width = 1.f) {
        primitives.push_back({Primitive::Kind::Polyline, std::move(pts), 0.f, false, {}, color, width});
    }
};

} // namespace sim
