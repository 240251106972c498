// Pendulum-v1 on Box2D: a uniform 1 m rod on a revolute joint at a static pivot, driven by
// a torque. See pendulum.cpp for the constants.
#pragma once

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class PendulumEnv : public Box2DEnvironment {
public:
    // theta (rad, 0 = upright, counter-clockwise positive, not wrapped), thetaDot (rad/s)
    struct State {
        double theta = 0.0, thetaDot = 0.0;
    };

    static constexpr double kMaxSpeed = 8.0;   // rad/s
    static constexpr double kMaxTorque = 2.0;  // N·m
    static constexpr double kDt = 0.05;        // s
    static constexpr double kGravity = 10.0;   // m/s²
    static constexpr double kMass = 1.0;       // kg
    static constexpr double kLength = 1.0;     // m

    PendulumEnv();
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;
    std::optional<Vec2> stateAnchor(std::span<const double> obs) const override;

    State state() const;
    // test hook
    void setState(const State& s);
    // ((x + π) floor-mod 2π) − π
    static double angleNormalize(double x);

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    void buildWorld();
    void writeObservation(std::span<double> obs) const;

    core::EnvSpec m_spec;
    core::Rng m_rng;
    b2Body* m_rod = nullptr;
    double m_lastU = 0.0;    // last applied (clipped) torque, N·m
    bool m_stepped = false;  // the torque arrow is drawn only after the first step
};

} // namespace sim
