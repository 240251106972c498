// LunarLander-v3 and LunarLanderContinuous-v3 on Box2D 2.4.1. See lunar_lander.cpp.
#pragma once

#include <array>
#include <vector>

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class LunarLanderEnv : public Box2DEnvironment {
public:
    // The random draws of one episode, given instead of drawn from the seeded generator, to
    // replay an episode recorded in Gymnasium (tests/sim/test_gym_golden.cpp). Same order
    // and units as Gymnasium's draws.
    struct Script {
        std::array<double, 12> heightDraw{};             // terrain heights as drawn, U(0, H/2), m
        double forceX = 0.0, forceY = 0.0;               // initial force on the lander, N
        std::vector<std::array<double, 2>> engineDraws;  // the two U(-1, 1) dispersion draws of every
                                                         // step, the reset's internal step first
    };

    // Gymnasium's wind option (its enable_wind, wind_power, turbulence_power; off by default).
    // While neither leg touches the ground, every step (the reset's internal one included)
    // first applies a lateral force tanh(sin(0.02·k) + sin(π·0.01·k))·power at the lander's
    // centre and a torque of the same form with its own index and `turbulence`; each index
    // starts at an integer drawn uniformly from [-9999, 9998] at reset (after the initial
    // force) and goes up by one per step. The draws are made only when the wind is on, so a
    // windless episode is the same as without the option.
    struct Wind {
        bool enabled = false;
        double power = 15.0;      // N, the largest lateral force; 0..20
        double turbulence = 1.5;  // N·m, the largest torque; 0..2
        // throws std::invalid_argument naming the value and its range (Gymnasium only warns)
        void validate() const;
    };
    // tanh(sin(0.02·k) + sin(π·0.01·k)): the wind's and the turbulence's profile at index k
    static double windProfile(long long k);

    // without wind
    explicit LunarLanderEnv(bool continuous);
    // throws std::invalid_argument for a wind outside its ranges
    LunarLanderEnv(bool continuous, Wind wind);
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

    // read access for tests and the viewer; valid until the next reset
    const b2Body* lander() const { return m_lander; }
    const b2Body* leg(int i) const { return m_legs[static_cast<std::size_t>(i)]; }
    const b2RevoluteJoint* legJoint(int i) const { return m_legJoints[static_cast<std::size_t>(i)]; }
    const b2Body* moon() const { return m_moon; }
    bool legContact(int i) const { return m_legContact[static_cast<std::size_t>(i)]; }
    const Wind& wind() const { return m_wind; }
    // the indices the next step's wind force and torque use (meaningful with the wind on)
    long long windIndex() const { return m_windIdx; }
    long long torqueIndex() const { return m_torqueIdx; }
    bool gameOver() const { return m_gameOver; }
    double helipadY() const;
    // test hook: moves the lander and its legs rigidly so that the lander origin is at
    // (x, y) with angle `angle` (legs keep their pose relative to it); velocities zeroed
    void setLanderPose(double x, double y, double angle);
    // The next reset() takes its draws from `script` instead of the seeded generator; once
    // the script's engine draws run out, that episode's steps go on with the generator
    // seeded by reset(). Later resets are seeded as usual.
    void scriptNextEpisode(Script script);

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    class ContactDetector : public b2ContactListener {
    public:
        explicit ContactDetector(LunarLanderEnv& env) : m_env(env) {}
        void BeginContact(b2Contact* contact) override;
        void EndContact(b2Contact* contact) override;

    private:
        LunarLanderEnv& m_env;
    };

    core::StepResult advance(int discreteAction, double a0, double a1, std::span<double> obs);
    // the next scripted draw if any is left, else m_rng.uniform(lo, hi)
    double uniform(double lo, double hi);

    bool m_continuous;
    Wind m_wind;
    long long m_windIdx = 0, m_torqueIdx = 0;
    core::EnvSpec m_spec;
    core::Rng m_rng;
    std::vector<double> m_pendingScript;  // flattened Script for the next reset
    std::vector<double> m_script;         // draws of the current episode, in order
    std::size_t m_scriptNext = 0;
    ContactDetector m_contacts{*this};
    b2Body* m_moon = nullptr;
    b2Body* m_lander = nullptr;
    std::array<b2Body*, 2> m_legs{};
    std::array<b2RevoluteJoint*, 2> m_legJoints{};
    std::array<bool, 2> m_legContact{};
    bool m_gameOver = false;
    bool m_hasPrevShaping = false;
    double m_prevShaping = 0.0;
    std::vector<std::array<Vec2, 4>> m_ground;   // ground polygons below the terrain
    // last engine firing, for drawing flames: world point and power (0 = off)
    Vec2 m_mainFlame{}, m_sideFlame{};
    double m_mainPower = 0.0, m_sidePower = 0.0;
};

} // namespace sim
