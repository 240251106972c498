// MountainCarContinuous-v0: Gymnasium's 1-D map, with a viewer grab. See mountain_car.cpp.
#pragma once

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class MountainCarContinuousEnv : public Box2DEnvironment {
public:
    struct State {
        double position = 0.0, velocity = 0.0;
    };

    MountainCarContinuousEnv();
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

    // the car is not a Box2D body (see the .cpp): a grab pulls it along the track towards
    // the target's x, an impulse changes its velocity by impulse.x·0.01
    bool grab(Vec2 worldPoint) override;
    void moveGrab(Vec2 worldTarget) override;
    void release() override;
    bool applyImpulse(Vec2 worldPoint, Vec2 impulse) override;
    bool isHeld() const { return m_held; }

    State state() const { return m_state; }
    void setState(const State& s) { m_state = s; } // test hook
    static double hillHeight(double x);

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    bool nearCar(Vec2 p) const;

    core::EnvSpec m_spec;
    core::Rng m_rng;
    State m_state;
    double m_force = 0.0;
    bool m_held = false;
    double m_targetX = 0.0;
};

} // namespace sim
