// A Box2D environment that can also draw itself and be perturbed by the viewer's mouse.
#pragma once

#include "core/environment.h"
#include "sim/draw_list.h"

namespace sim {

class SimEnvironment : public core::Environment {
public:
    // records the current scene (after the last reset/step) into `out` (cleared first)
    virtual void draw(DrawList& out) const = 0;

    // viewer perturbations (Box2D mouse joint / impulse). Return false when nothing was hit.
    virtual bool grab(Vec2 worldPoint) { return false; }
    virtual void moveGrab(Vec2 worldTarget) {}
    virtual void release() {}
    virtual bool applyImpulse(Vec2 worldPoint, Vec2 impulse) { return false; }
};

} // namespace sim
