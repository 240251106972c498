// Acrobot-v1 on Box2D: two links on revolute joints, torque at the middle joint. See
// acrobot.cpp for the constants and how the model relates to Gymnasium's RK4 integration.
#pragma once

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class AcrobotEnv : public Box2DEnvironment {
public:
    // θ1 (rad, 0 = link 1 hanging down, counter-clockwise positive), θ2 (rad, relative to
    // link 1), and their rates (rad/s)
    struct State {
        double theta1 = 0.0, theta2 = 0.0, dtheta1 = 0.0, dtheta2 = 0.0;
    };

    static constexpr double kDt = 0.2;          // s per env step
    static constexpr int kSubsteps = 50;        // Box2D steps per env step
    static constexpr double kLinkLength = 1.0;  // m (both links)
    static constexpr double kLinkMass = 1.0;    // kg
    static constexpr double kLinkComPos = 0.5;  // m from the link's joint
    static constexpr double kLinkMoi = 1.0;     // kg·m² about the COM
    static constexpr double kGravity = 9.8;     // m/s²

    AcrobotEnv();
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

    State state() const;
    void setState(const State& s); // test hook; angles are stored as given
    // Gymnasium's wrap(x, -π, π) and bound(x, -m, m)
    static double wrapAngle(double x);

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    void buildWorld();
    void writeObservation(std::span<double> obs) const;
    void substep(double torque);

    core::EnvSpec m_spec;
    core::Rng m_rng;
    b2Body* m_link1 = nullptr;
    b2Body* m_link2 = nullptr;
    double m_torque = 0.0; // last applied torque, N·m (HUD)
};

} // namespace sim
