// BipedalWalker-v3 and BipedalWalkerHardcore-v3 on Box2D 2.4.1. See bipedal_walker.cpp.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "sim/box2d_env.h"

namespace sim {

class BipedalWalkerEnv : public Box2DEnvironment {
public:
    static constexpr int kTerrainLength = 200; // terrain points (199 edges)
    static constexpr int kLidarRays = 10;

    struct LidarRay {
        Vec2 p1{};              // hull position after the step
        Vec2 p2{};              // closest ground hit, or the end of the ray
        double fraction = 1.0;  // of LIDAR_RANGE
    };

    // The terrain and the initial force of one episode, given instead of drawn from the seeded
    // generator, to replay an episode recorded in Gymnasium (tests/sim/test_gym_golden.cpp)
    struct Script {
        std::vector<double> terrainX, terrainY;                  // kTerrainLength surface points, m
        std::vector<std::vector<std::array<double, 2>>> obstacles; // polygons in creation order, m
        double forceX = 0.0;                                     // initial x force on the hull, N
    };

    // Per-episode randomisation of the physics, for policies that must also walk in Gymnasium
    // (README, "LunarLander and BipedalWalker against the real Gymnasium"): at every reset the
    // motors' torque and speed and the ground's friction are scaled by factors drawn uniformly
    // from [1 - x, 1 + x], from a stream of their own (the terrain of a seed is unchanged).
    // The reward's energy term and the observation's speed scale keep the nominal constants.
    struct Randomization {
        double torque = 0.0, speed = 0.0, friction = 0.0;
        bool enabled() const { return torque > 0.0 || speed > 0.0 || friction > 0.0; }
    };
    // the factors of the current episode (1 when the environment is not randomised)
    struct PhysicsScale {
        double torque = 1.0, speed = 1.0, friction = 1.0;
    };

    explicit BipedalWalkerEnv(bool hardcore) : BipedalWalkerEnv(hardcore, Randomization{}) {}
    BipedalWalkerEnv(bool hardcore, Randomization randomization);
    const core::EnvSpec& spec() const override { return m_spec; }
    const Randomization& randomization() const { return m_randomization; }
    const PhysicsScale& physicsScale() const { return m_scale; }
    void draw(DrawList& out) const override;

    // read access for tests and the viewer; valid until the next reset
    bool hardcore() const { return m_hardcore; }
    const b2Body* hull() const { return m_hull; }
    // legs = [thigh(-1), shin(-1), thigh(+1), shin(+1)]
    const b2Body* leg(int i) const { return m_legs[static_cast<std::size_t>(i)]; }
    // joints = [hip(-1), knee(-1), hip(+1), knee(+1)]
    const b2RevoluteJoint* joint(int i) const { return m_joints[static_cast<std::size_t>(i)]; }
    // ground contact of shin 0 (legs[1]) or shin 1 (legs[3])
    bool groundContact(int shin) const { return m_groundContact[static_cast<std::size_t>(shin == 0 ? 1 : 3)]; }
    bool gameOver() const { return m_gameOver; }
    double prevShaping() const { return m_prevShaping; }
    const LidarRay& lidar(int i) const { return m_lidar[static_cast<std::size_t>(i)]; }
    // terrain surface: one static body per edge, and the obstacles (stumps, stairs, pit walls)
    const std::vector<b2Body*>& terrainEdges() const { return m_edges; }
    const std::vector<b2Body*>& obstacles() const { return m_obstacles; }
    // height of the terrain surface line at x (linear between the terrain points)
    double terrainHeightAt(double x) const;
    // test hook: moves the hull and the legs rigidly so that the hull origin is at (x, y)
    // with angle `angle` (legs keep their pose relative to it); velocities zeroed, bodies awake
    void setWalkerPose(double x, double y, double angle);
    // The next reset() builds its terrain and obstacles from `script` and applies its force;
    // the clouds (decoration) still come from the seed. Later resets are seeded as usual.
    // Throws std::invalid_argument when the terrain does not have kTerrainLength points.
    void scriptNextEpisode(Script script);

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    class ContactDetector : public b2ContactListener {
    public:
        explicit ContactDetector(BipedalWalkerEnv& env) : m_env(env) {}
        void BeginContact(b2Contact* contact) override;
        void EndContact(b2Contact* contact) override;

    private:
        BipedalWalkerEnv& m_env;
    };

    void generateTerrain();
    // one static body per two-sided edge between consecutive terrain points
    void createTerrainEdges();
    void generateClouds();
    // creates one static obstacle body; returns false (and creates nothing) for a polygon
    // Box2D 2.4.1 would reject (it asserts on degenerate input)
    bool addObstacle(const b2Vec2* verts, int count);
    core::StepResult advance(const double* action, std::span<double> obs);

    bool m_hardcore;
    Randomization m_randomization;
    PhysicsScale m_scale;
    core::EnvSpec m_spec;
    core::Rng m_rng;
    ContactDetector m_contacts{*this};
    b2Body* m_hull = nullptr;
    std::array<b2Body*, 4> m_legs{};
    std::array<b2RevoluteJoint*, 4> m_joints{};
    std::array<bool, 4> m_groundContact{};
    bool m_gameOver = false;
    bool m_hasPrevShaping = false;
    double m_prevShaping = 0.0;
    std::array<LidarRay, kLidarRays> m_lidar{};
    std::array<double, kTerrainLength> m_terrainX{}, m_terrainY{};
    std::vector<b2Body*> m_edges;     // edge i from point i to point i+1
    std::vector<b2Body*> m_obstacles; // in creation order
    std::vector<std::array<Vec2, 5>> m_clouds;
    std::optional<Script> m_pendingScript; // for the next reset
};

} // namespace sim
