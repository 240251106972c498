// A Box2D environment that can also draw itself and be perturbed by the viewer's mouse.
#pragma once

#include <cstdio>
#include <optional>
#include <span>
#include <string>

#include "core/environment.h"
#include "sim/draw_list.h"

namespace sim {

// the HUD lines every environment shows: "step", "return" and "reward" (3 decimals)
inline void addEpisodeHud(DrawList& out, int step, double episodeReturn, double lastReward) {
    char buf[64];
    out.hud.emplace_back("step", std::to_string(step));
    std::snprintf(buf, sizeof buf, "%.2f", episodeReturn);
    out.hud.emplace_back("return", buf);
    std::snprintf(buf, sizeof buf, "%.3f", lastReward);
    out.hud.emplace_back("reward", buf);
}

class SimEnvironment : public core::Environment {
public:
    // records the current scene (after the last reset/step) into `out` (cleared first)
    virtual void draw(DrawList& out) const = 0;

    // Where the state with observation `obs` (raw, as the environment returns it) puts the
    // part of the picture a class follows, in world coordinates: the pole's tip, the
    // lander's body. The viewer paints a batch's states there, coloured by advantage.
    // nullopt where the observation does not say (the walker has no position in it).
    virtual std::optional<Vec2> statePoint(std::span<const double> obs) const { return std::nullopt; }
    // Where that part is attached in the same state (the cart's axle, the pendulum's pivot),
    // when a straight rod joins it to statePoint: the viewer draws the rod, so a batch reads
    // as a fan of poles. nullopt otherwise.
    virtual std::optional<Vec2> stateAnchor(std::span<const double> obs) const { return std::nullopt; }

    // viewer perturbations (Box2D mouse joint / impulse). Return false when nothing was hit.
    virtual bool grab(Vec2 worldPoint) { return false; }
    virtual void moveGrab(Vec2 worldTarget) {}
    virtual void release() {}
    virtual bool applyImpulse(Vec2 worldPoint, Vec2 impulse) { return false; }
};

} // namespace sim
