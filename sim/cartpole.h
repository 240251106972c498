// CartPole-v1 on Box2D: a cart on a frictionless prismatic joint and a uniform pole on a
// revolute joint, integrated so that the reduced state follows Gymnasium's equations in
// semi-implicit Euler form. See cartpole.cpp for the constants.
#pragma once

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class CartPoleEnv : public Box2DEnvironment {
public:
    // Gymnasium's state: x (m), xDot (m/s), theta (rad, 0 = upright, + leans to +x), thetaDot (rad/s)
    struct State {
        double x = 0.0, xDot = 0.0, theta = 0.0, thetaDot = 0.0;
    };

    static constexpr double kGravity = 9.8;       // m/s²
    static constexpr double kMassCart = 1.0;      // kg
    static constexpr double kMassPole = 0.1;      // kg
    static constexpr double kHalfLength = 0.5;    // m, half the pole length ("length")
    static constexpr double kForceMag = 10.0;     // N
    static constexpr double kTau = 0.02;          // s
    static constexpr double kThetaThreshold = 12.0 * 2.0 * 3.14159265358979323846 / 360.0; // rad
    static constexpr double kXThreshold = 2.4;    // m
    static constexpr float kAxleOffset = 0.06f;   // m, pivot (axle) above the cart centre

    CartPoleEnv();
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;
    std::optional<Vec2> stateAnchor(std::span<const double> obs) const override;

    State state() const;
    // test hook: puts the bodies in the given state (velocities made consistent)
    void setState(const State& s);

protected:
    // for variants (CartPoleSwingUp): same bodies, another spec
    explicit CartPoleEnv(core::EnvSpec spec);
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;
    // a fresh world with the cart and pole
    void buildWorld();
    // applies `force` (N) to the cart for one 0.02 s step
    void advance(double force);

    core::EnvSpec m_spec;
    core::Rng m_rng;
    bool m_done = false;    // terminated earlier in this episode (later steps earn 0)
    double m_force = 0.0;   // last applied force, N (HUD)

private:
    void writeObservation(std::span<double> obs) const;

    b2Body* m_cart = nullptr;
    b2Body* m_pole = nullptr;
};

// CartPoleNoVel-v1: CartPole-v1 observed without its two velocities, obs = [x, θ]. The
// dynamics, rewards, episode ends and seeds are CartPole-v1's; only the observation drops
// ẋ and θ̇, so a policy that sees one observation at a time cannot tell which way the pole
// is moving: the task for a policy with memory (a recurrent one), as in garage's recurrent
// CartPole example.
class CartPoleNoVelEnv : public CartPoleEnv {
public:
    CartPoleNoVelEnv();
    // obs = [x, θ]: the pole's tip and the axle, as for CartPole-v1
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;
    std::optional<Vec2> stateAnchor(std::span<const double> obs) const override;

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;
};

} // namespace sim
