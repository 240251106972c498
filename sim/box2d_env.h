// Shared plumbing for the Box2D environments: world ownership, episode bookkeeping for the
// HUD, the viewer's perturbation hooks (mouse joint, impulse) and drawing helpers.
#pragma once

#include <box2d/box2d.h>

#include <cmath>
#include <memory>

#include "sim/sim_environment.h"

namespace sim {

inline Vec2 toVec(const b2Vec2& v) { return {v.x, v.y}; }
inline b2Vec2 toB2(Vec2 v) { return {v.x, v.y}; }

// numpy's sign(): 0 at 0 (std::copysign is never 0)
inline double npSign(double x) { return static_cast<double>((x > 0.0) - (x < 0.0)); }
inline double clampd(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// FNV-1a over raw bytes; the tests use it for golden trajectories
inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

class Box2DEnvironment : public SimEnvironment {
public:
    Box2DEnvironment() = default;
    Box2DEnvironment(const Box2DEnvironment&) = delete;
    Box2DEnvironment& operator=(const Box2DEnvironment&) = delete;
    ~Box2DEnvironment() override;

    // mouse joint from a static anchor to the dynamic body under `worldPoint`
    bool grab(Vec2 worldPoint) override;
    void moveGrab(Vec2 worldTarget) override;
    void release() override;
    // linear impulse (N·s) at `worldPoint` on the dynamic body under it
    bool applyImpulse(Vec2 worldPoint, Vec2 impulse) override;

    bool isGrabbing() const { return m_mouse != nullptr; }
    // sum of rewards since the last reset (the internal reset step of LunarLander and
    // BipedalWalker is not counted, as in Gymnasium)
    double episodeReturn() const { return m_episodeReturn; }
    double lastReward() const { return m_lastReward; }
    // the world of the current episode; valid until the next reset
    const b2World* world() const { return m_world.get(); }

protected:
    virtual void resetEpisode(std::uint64_t seed, std::span<double> obs) = 0;
    virtual core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) = 0;

    // destroys the current world (dropping any grab) and creates an empty one with a static,
    // fixture-less anchor body at the origin (m_anchor) for mouse joints
    b2World& newWorld(b2Vec2 gravity);
    // the dynamic body with a fixture containing `p`, or nullptr
    b2Body* bodyAt(Vec2 p) const;

    // appends every fixture of `body` (polygons, circles, edges) in world coordinates
    static void drawBody(DrawList& out, const b2Body* body, Color fill, Color stroke = {}, float strokeWidth = 0.f);
    // the grab line (anchor on body -> target), if grabbing
    void drawGrab(DrawList& out) const;
    // "step" and "return" pairs
    void addEpisodeHud(DrawList& out) const;

    std::unique_ptr<b2World> m_world;
    b2Body* m_anchor = nullptr;       // static, no fixtures; owned by m_world
    b2MouseJoint* m_mouse = nullptr;  // owned by m_world

private:
    void doReset(std::uint64_t seed, std::span<double> obs) final;
    core::StepResult doStep(std::span<const double> action, std::span<double> obs) final;

    double m_episodeReturn = 0.0;
    double m_lastReward = 0.0;
};

} // namespace sim
