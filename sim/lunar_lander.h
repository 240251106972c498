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

    explicit LunarLanderEnv(bool continuous);
    const core::EnvSpec& spec() const override { return m_spec; }
    void draw(DrawList& out) const override;
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

    // read access for tests and the viewer; valid until the next reset
    const b2Body* lander() const { return m_lander; }
    const b2Body* leg(int i) const { return m_legs[static_cast<std::size_t>(i)]; }
    const b2RevoluteJoint* legJoint(int i) const { return m_legJoints[static_cast<std::size_t>(i)]; }
    const b2Body* moon() const { return m_moon; }
    bool legContact(int i) const { return m_legContact[static_cast<std::size_t>(i)]; }
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
