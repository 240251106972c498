// BipedalWalker-v3 / BipedalWalkerHardcore-v3 on Box2D 2.4.1.
// Source: Gymnasium gymnasium/envs/box2d/bipedal_walker.py (v1.3.0); max_episode_steps 1600
// (hardcore 2000), reward_threshold 300.
//
// Constants (pixel constants are divided by SCALE to get metres)
//   FPS 50 (dt 0.02 s), SCALE 30 px/m, world Step(1/50, 180, 60), gravity (0, -10) m/s²
//   MOTORS_TORQUE 80 N·m, SPEED_HIP 4 rad/s, SPEED_KNEE 6 rad/s, LIDAR_RANGE 160 px
//   INITIAL_RANDOM 5 N (x force on the hull during the reset step)
//   HULL_POLY (-30,9) (6,9) (34,1) (34,-8) (-30,-8) px, density 5, friction 0.1
//   LEG_DOWN -8 px, LEG_W 8 px, LEG_H 34 px (full sizes); shins are 0.8·LEG_W wide; density 1
//   hips: limits [-0.8, 1.1], knees [-1.6, -0.1]; walker parts collide with the ground only
//   TERRAIN_STEP 14 px, TERRAIN_LENGTH 200, TERRAIN_HEIGHT H/4, TERRAIN_GRASS 10,
//   TERRAIN_STARTPAD 20, FRICTION 2.5; VIEWPORT 600×400 px = 20 m × 13.333 m
// Reward: Δ(130·x/SCALE − 5·|hull angle|) − 0.00035·MOTORS_TORQUE·Σ clip(|a|, 0, 1);
// −100 and terminated when the hull touches the ground or x < 0; terminated without bonus
// past (TERRAIN_LENGTH − TERRAIN_GRASS)·TERRAIN_STEP.
// Porting notes (docs/environments.md §9): a fresh b2World per reset (Gymnasium reuses one; the
// physics is the same); one static body per two-sided terrain edge, never a chain; hips get
// referenceAngle = i·0.05 explicitly, knees 0; SetMotorSpeed/SetMaxMotorTorque only wake the
// bodies on change in 2.4.1, so both bodies of every joint are woken when the action is
// applied (pybox2d's 2.3 wakes them every step); joint limits switched on and off by 2.3's
// rule each step (see advance()); obstacle polygons are validated before
// Box2D sees them; the lidar callback returns `fraction` so the closest hit wins; the contact
// listener is detached before the world is destroyed.
#include "sim/bipedal_walker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kFps = 50.0;
constexpr double kScale = 30.0;
constexpr double kMotorsTorque = 80.0;
constexpr double kSpeedHip = 4.0, kSpeedKnee = 6.0;
constexpr double kLidarRange = 160.0 / kScale;
constexpr double kInitialRandom = 5.0;
constexpr float kHullPoly[5][2] = {{-30, 9}, {6, 9}, {34, 1}, {34, -8}, {-30, -8}};
constexpr double kLegDown = -8.0 / kScale;
constexpr double kLegW = 8.0 / kScale, kLegH = 34.0 / kScale;
constexpr double kViewW = 600.0 / kScale, kViewH = 400.0 / kScale;
constexpr double kTerrainStep = 14.0 / kScale;
constexpr int kTerrainLength = BipedalWalkerEnv::kTerrainLength;
constexpr double kTerrainHeight = kViewH / 4;
constexpr int kTerrainGrass = 10;
constexpr int kTerrainStartpad = 20;
constexpr double kFriction = 2.5;
constexpr double kFinishX = (kTerrainLength - kTerrainGrass) * kTerrainStep;
enum TerrainState { kGrass = 0, kStump = 1, kStairs = 2, kPit = 3, kStates = 4 };

// collision filtering: terrain edges and obstacles are the ground (Box2D's default category
// 0x0001, mask 0xFFFF); hull, thighs and shins share one category and collide with the
// ground only, never with each other; the lidar sees only fixtures in the ground category
// (docs/environments.md §1)
constexpr uint16 kCategoryGround = 0x0001;
constexpr uint16 kCategoryWalker = 0x0020;
constexpr uint16 kMaskGroundOnly = kCategoryGround;

const Color kSky{215, 215, 255, 255};
const Color kCloud{255, 255, 255, 255};
const Color kGround{102, 153, 76, 255};
const Color kObstacleFill{255, 255, 255, 255};
const Color kObstacleLine{153, 153, 153, 255};
const Color kHullFill{127, 51, 229, 255};
const Color kHullLine{76, 76, 127, 255};
const Color kLidarColor{255, 0, 0, 255};

// legs of side i (-1 or +1): colour1 = (153, 76, 127) - 25i, colour2 = (102, 51, 76) - 25i
Color legColor(int i, bool outline) {
    const int base[2][3] = {{153, 76, 127}, {102, 51, 76}};
    const int* b = base[outline ? 1 : 0];
    return {static_cast<std::uint8_t>(b[0] - 25 * i), static_cast<std::uint8_t>(b[1] - 25 * i),
            static_cast<std::uint8_t>(b[2] - 25 * i), 255};
}

// what b2PolygonShape::Set in 2.4.1 accepts without asserting: 3..8 finite vertices, no two
// closer than the weld distance, and a hull with a clearly positive area
bool validPolygon(const b2Vec2* v, int n) {
    if (n < 3 || n > b2_maxPolygonVertices) return false;
    const float weld = 0.5f * b2_linearSlop;
    for (int i = 0; i < n; ++i) {
        if (!std::isfinite(v[i].x) || !std::isfinite(v[i].y)) return false;
        for (int j = i + 1; j < n; ++j)
            if (b2DistanceSquared(v[i], v[j]) < weld * weld) return false;
    }
    double area2 = 0.0; // shoelace; our obstacles are convex quads
    for (int i = 0; i < n; ++i) {
        const b2Vec2& a = v[i];
        const b2Vec2& b = v[(i + 1) % n];
        area2 += static_cast<double>(a.x) * b.y - static_cast<double>(b.x) * a.y;
    }
    return std::abs(area2) > 1e-4;
}

// world ray cast for one lidar ray: ignores walker parts (category bit 1 clear) and clips
// the ray at every hit, so the closest ground hit remains
class LidarCallback : public b2RayCastCallback {
public:
    float ReportFixture(b2Fixture* fixture, const b2Vec2& point, const b2Vec2&, float fraction) override {
        if ((fixture->GetFilterData().categoryBits & kCategoryGround) == 0) return -1.0f;
        m_point = point;
        m_fraction = fraction;
        return fraction;
    }
    b2Vec2 m_point{};
    float m_fraction = 1.0f;
};
} // namespace

BipedalWalkerEnv::BipedalWalkerEnv(bool hardcore, Randomization randomization)
    : m_hardcore(hardcore), m_randomization(randomization) {
    m_spec.id = hardcore ? "BipedalWalkerHardcore-v3" : "BipedalWalker-v3";
    if (m_randomization.enabled()) m_spec.id = hardcore ? "BipedalWalkerHardcoreRandomized-v3" : "BipedalWalkerRandomized-v3";
    std::vector<double> low{-kPi, -5.0, -5.0, -5.0, -kPi, -5.0, -kPi, -5.0, -0.0, -kPi, -5.0, -kPi, -5.0, -0.0};
    std::vector<double> high{kPi, 5.0, 5.0, 5.0, kPi, 5.0, kPi, 5.0, 5.0, kPi, 5.0, kPi, 5.0, 5.0};
    low.insert(low.end(), kLidarRays, -1.0);
    high.insert(high.end(), kLidarRays, 1.0);
    m_spec.observation = core::Space::box(std::move(low), std::move(high));
    m_spec.action = core::Space::box({-1.0, -1.0, -1.0, -1.0}, {1.0, 1.0, 1.0, 1.0});
    m_spec.maxEpisodeSteps = hardcore ? 2000 : 1600;
    m_spec.rewardThreshold = 300.0;
    m_spec.frameRate = kFps;
    m_edges.reserve(kTerrainLength - 1);
    std::vector<double> obs(24);
    resetEpisode(0, obs); // a valid scene before the first reset
}

void BipedalWalkerEnv::ContactDetector::BeginContact(b2Contact* contact) {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    if (a == m_env.m_hull || b == m_env.m_hull) m_env.m_gameOver = true;
    for (std::size_t i : {std::size_t{1}, std::size_t{3}}) // shins only; thighs are ignored
        if (a == m_env.m_legs[i] || b == m_env.m_legs[i]) m_env.m_groundContact[i] = true;
}

void BipedalWalkerEnv::ContactDetector::EndContact(b2Contact* contact) {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    for (std::size_t i : {std::size_t{1}, std::size_t{3}})
        if (a == m_env.m_legs[i] || b == m_env.m_legs[i]) m_env.m_groundContact[i] = false;
}

bool BipedalWalkerEnv::addObstacle(const b2Vec2* verts, int count) {
    if (!validPolygon(verts, count)) return false;
    b2PolygonShape poly;
    poly.Set(verts, count);
    b2FixtureDef fd; // fd_polygon: friction 2.5, density 0, default filter (kCategoryGround)
    fd.shape = &poly;
    fd.friction = static_cast<float>(m_scale.friction * kFriction);
    b2BodyDef bd;
    b2Body* body = m_world->CreateBody(&bd);
    body->CreateFixture(&fd);
    m_obstacles.push_back(body);
    return true;
}

void BipedalWalkerEnv::generateTerrain() {
    const double ts = kTerrainStep;
    int state = kGrass;
    double velocity = 0.0;
    double y = kTerrainHeight;
    int counter = kTerrainStartpad;
    bool oneshot = false;
    double originalY = 0.0;
    int stairHeight = 0, stairWidth = 0, stairSteps = 0;
    m_obstacles.clear();
    m_edges.clear();
    auto integers = [this](int lo, int hi) { return lo + static_cast<int>(m_rng.below(static_cast<std::uint64_t>(hi - lo))); };
    auto quad = [](double x0, double y0, double x1, double y1, b2Vec2* out) {
        out[0].Set(static_cast<float>(x0), static_cast<float>(y0));
        out[1].Set(static_cast<float>(x1), static_cast<float>(y0));
        out[2].Set(static_cast<float>(x1), static_cast<float>(y1));
        out[3].Set(static_cast<float>(x0), static_cast<float>(y1));
    };

    for (int i = 0; i < kTerrainLength; ++i) {
        const double x = i * ts;
        m_terrainX[static_cast<std::size_t>(i)] = x;
        b2Vec2 v[4];
        if (state == kGrass && !oneshot) {
            velocity = 0.8 * velocity + 0.01 * npSign(kTerrainHeight - y);
            if (i > kTerrainStartpad) velocity += m_rng.uniform(-1.0, 1.0) / kScale;
            y += velocity;
        } else if (state == kPit && oneshot) {
            counter = integers(3, 5);
            quad(x, y, x + ts, y - 4 * ts, v); // left wall
            addObstacle(v, 4);
            quad(x + ts * counter, y, x + ts * counter + ts, y - 4 * ts, v); // right wall
            addObstacle(v, 4);
            counter += 2;
            originalY = y;
        } else if (state == kPit && !oneshot) {
            y = originalY;
            if (counter > 1) y -= 4 * ts;
        } else if (state == kStump && oneshot) {
            counter = integers(1, 3);
            quad(x, y, x + counter * ts, y + counter * ts, v);
            addObstacle(v, 4);
        } else if (state == kStairs && oneshot) {
            stairHeight = m_rng.uniform() > 0.5 ? 1 : -1;
            stairWidth = integers(4, 5);
            stairSteps = integers(3, 5);
            originalY = y;
            for (int s = 0; s < stairSteps; ++s) {
                quad(x + (s * stairWidth) * ts, y + (s * stairHeight) * ts, x + ((1 + s) * stairWidth) * ts,
                     y + (-1 + s * stairHeight) * ts, v);
                addObstacle(v, 4);
            }
            counter = stairSteps * stairWidth;
        } else if (state == kStairs && !oneshot) {
            const double s = stairSteps * stairWidth - counter - stairHeight;
            const double n = s / stairWidth;
            y = originalY + (n * stairHeight) * ts;
        }
        oneshot = false;
        m_terrainY[static_cast<std::size_t>(i)] = y;
        counter -= 1;
        if (counter == 0) {
            counter = integers(kTerrainGrass / 2, kTerrainGrass);
            state = (state == kGrass && m_hardcore) ? integers(1, kStates) : kGrass;
            oneshot = true;
        }
    }
    createTerrainEdges();
}

void BipedalWalkerEnv::createTerrainEdges() {
    // the surface: one static body per two-sided edge
    b2EdgeShape edge;
    b2FixtureDef fd; // fd_edge: friction 2.5, ground category
    fd.shape = &edge;
    fd.friction = static_cast<float>(m_scale.friction * kFriction);
    fd.filter.categoryBits = kCategoryGround;
    b2BodyDef bd;
    for (int i = 0; i < kTerrainLength - 1; ++i) {
        const std::size_t k = static_cast<std::size_t>(i);
        edge.SetTwoSided(b2Vec2(static_cast<float>(m_terrainX[k]), static_cast<float>(m_terrainY[k])),
                         b2Vec2(static_cast<float>(m_terrainX[k + 1]), static_cast<float>(m_terrainY[k + 1])));
        b2Body* body = m_world->CreateBody(&bd);
        body->CreateFixture(&fd);
        m_edges.push_back(body);
    }
}

void BipedalWalkerEnv::generateClouds() {
    m_clouds.clear();
    for (int c = 0; c < kTerrainLength / 20; ++c) {
        const double x = m_rng.uniform(0.0, kTerrainLength) * kTerrainStep;
        const double y = kViewH * 3 / 4;
        std::array<Vec2, 5> poly{};
        for (int a = 0; a < 5; ++a) {
            const double px = x + 15 * kTerrainStep * std::sin(3.14 * 2 * a / 5) + m_rng.uniform(0.0, 5 * kTerrainStep);
            const double py = y + 5 * kTerrainStep * std::cos(3.14 * 2 * a / 5) + m_rng.uniform(0.0, 5 * kTerrainStep);
            poly[static_cast<std::size_t>(a)] = {static_cast<float>(px), static_cast<float>(py)};
        }
        m_clouds.push_back(poly);
    }
}

double BipedalWalkerEnv::terrainHeightAt(double x) const {
    if (x <= m_terrainX.front()) return m_terrainY.front();
    if (x >= m_terrainX.back()) return m_terrainY.back();
    const std::size_t i = std::min(static_cast<std::size_t>(x / kTerrainStep), static_cast<std::size_t>(kTerrainLength - 2));
    const double t = (x - m_terrainX[i]) / (m_terrainX[i + 1] - m_terrainX[i]);
    return m_terrainY[i] + t * (m_terrainY[i + 1] - m_terrainY[i]);
}

void BipedalWalkerEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    if (m_randomization.enabled()) {
        // a stream of its own, so the seed's terrain, clouds and force are those of the
        // unrandomised environment
        core::Rng r = core::Rng::stream(seed, 0x7a6e646f6d697365ULL);
        m_scale.torque = r.uniform(1.0 - m_randomization.torque, 1.0 + m_randomization.torque);
        m_scale.speed = r.uniform(1.0 - m_randomization.speed, 1.0 + m_randomization.speed);
        m_scale.friction = r.uniform(1.0 - m_randomization.friction, 1.0 + m_randomization.friction);
    }
    if (m_world) m_world->SetContactListener(nullptr);
    b2World& world = newWorld(b2Vec2(0.0f, -10.0f)); // sleeping allowed (the default)
    world.SetContactListener(&m_contacts);
    m_gameOver = false;
    m_hasPrevShaping = false;
    m_prevShaping = 0.0;
    m_groundContact = {false, false, false, false};

    // RNG order: terrain, clouds, hull force
    std::optional<Script> script = std::move(m_pendingScript);
    m_pendingScript.reset();
    if (script) {
        // the script's terrain: obstacles first, then the edges, as generateTerrain() creates them
        std::copy(script->terrainX.begin(), script->terrainX.end(), m_terrainX.begin());
        std::copy(script->terrainY.begin(), script->terrainY.end(), m_terrainY.begin());
        m_obstacles.clear();
        m_edges.clear();
        for (const auto& poly : script->obstacles) {
            std::vector<b2Vec2> v;
            for (const auto& p : poly) v.emplace_back(static_cast<float>(p[0]), static_cast<float>(p[1]));
            addObstacle(v.data(), static_cast<int>(v.size()));
        }
        createTerrainEdges();
    } else {
        generateTerrain();
    }
    generateClouds();

    const double initX = kTerrainStep * kTerrainStartpad / 2;
    const double initY = kTerrainHeight + 2 * kLegH;
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    bd.position.Set(static_cast<float>(initX), static_cast<float>(initY));
    m_hull = world.CreateBody(&bd);
    b2Vec2 verts[5];
    for (int i = 0; i < 5; ++i) verts[i].Set(kHullPoly[i][0] / static_cast<float>(kScale), kHullPoly[i][1] / static_cast<float>(kScale));
    b2PolygonShape hullShape;
    hullShape.Set(verts, 5);
    b2FixtureDef hfd;
    hfd.shape = &hullShape;
    hfd.density = 5.0f;
    hfd.friction = 0.1f;
    hfd.filter.categoryBits = kCategoryWalker;
    hfd.filter.maskBits = kMaskGroundOnly;
    hfd.restitution = 0.0f;
    m_hull->CreateFixture(&hfd);
    const double forceX = script ? script->forceX : m_rng.uniform(-kInitialRandom, kInitialRandom);
    m_hull->ApplyForceToCenter(b2Vec2(static_cast<float>(forceX), 0.0f), true);

    for (int k = 0; k < 2; ++k) {
        const int i = k == 0 ? -1 : 1;
        const float angle = static_cast<float>(i * 0.05);
        // thigh
        bd.position.Set(static_cast<float>(initX), static_cast<float>(initY - kLegH / 2 - kLegDown));
        bd.angle = angle;
        b2Body* thigh = world.CreateBody(&bd);
        b2PolygonShape box;
        box.SetAsBox(static_cast<float>(kLegW / 2), static_cast<float>(kLegH / 2));
        b2FixtureDef lfd;
        lfd.shape = &box;
        lfd.density = 1.0f;
        lfd.restitution = 0.0f;
        lfd.filter.categoryBits = kCategoryWalker;
        lfd.filter.maskBits = kMaskGroundOnly;
        thigh->CreateFixture(&lfd);

        b2RevoluteJointDef hip;
        hip.bodyA = m_hull;
        hip.bodyB = thigh;
        hip.localAnchorA.Set(0.0f, static_cast<float>(kLegDown));
        hip.localAnchorB.Set(0.0f, static_cast<float>(kLegH / 2));
        hip.referenceAngle = angle; // pybox2d: bodyB.angle - bodyA.angle
        hip.enableMotor = true;
        hip.enableLimit = true;
        hip.maxMotorTorque = static_cast<float>(kMotorsTorque);
        hip.motorSpeed = static_cast<float>(i);
        hip.lowerAngle = -0.8f;
        hip.upperAngle = 1.1f;

        // shin
        bd.position.Set(static_cast<float>(initX), static_cast<float>(initY - kLegH * 3 / 2 - kLegDown));
        bd.angle = angle;
        b2Body* shin = world.CreateBody(&bd);
        b2PolygonShape lowerBox;
        lowerBox.SetAsBox(static_cast<float>(0.8 * kLegW / 2), static_cast<float>(kLegH / 2));
        lfd.shape = &lowerBox;
        shin->CreateFixture(&lfd);

        b2RevoluteJointDef knee;
        knee.bodyA = thigh;
        knee.bodyB = shin;
        knee.localAnchorA.Set(0.0f, static_cast<float>(-kLegH / 2));
        knee.localAnchorB.Set(0.0f, static_cast<float>(kLegH / 2));
        knee.referenceAngle = 0.0f; // both bodies have angle i·0.05
        knee.enableMotor = true;
        knee.enableLimit = true;
        knee.maxMotorTorque = static_cast<float>(kMotorsTorque);
        knee.motorSpeed = 1.0f;
        knee.lowerAngle = -1.6f;
        knee.upperAngle = -0.1f;

        const std::size_t base = static_cast<std::size_t>(2 * k);
        m_legs[base] = thigh;
        m_legs[base + 1] = shin;
        m_joints[base] = static_cast<b2RevoluteJoint*>(world.CreateJoint(&hip));
        m_joints[base + 1] = static_cast<b2RevoluteJoint*>(world.CreateJoint(&knee));
    }

    // Gymnasium ends reset() with one step of action [0, 0, 0, 0]; its reward is discarded
    const double zero[4] = {0.0, 0.0, 0.0, 0.0};
    advance(zero, obs);
}

void BipedalWalkerEnv::scriptNextEpisode(Script script) {
    if (script.terrainX.size() != static_cast<std::size_t>(kTerrainLength) || script.terrainY.size() != static_cast<std::size_t>(kTerrainLength))
        throw std::invalid_argument("BipedalWalkerEnv::scriptNextEpisode: the terrain needs 200 points");
    m_pendingScript = std::move(script);
}

void BipedalWalkerEnv::setWalkerPose(double x, double y, double angle) {
    const b2Transform from = m_hull->GetTransform();
    const float hullAngle = m_hull->GetAngle();
    const b2Transform to(b2Vec2(static_cast<float>(x), static_cast<float>(y)), b2Rot(static_cast<float>(angle)));
    for (b2Body* body : {m_hull, m_legs[0], m_legs[1], m_legs[2], m_legs[3]}) {
        const b2Vec2 local = b2MulT(from, body->GetPosition());
        const float relAngle = body->GetAngle() - hullAngle;
        body->SetTransform(b2Mul(to, local), static_cast<float>(angle) + relAngle);
        body->SetLinearVelocity(b2Vec2(0.0f, 0.0f));
        body->SetAngularVelocity(0.0f);
        body->SetAwake(true);
    }
}

core::StepResult BipedalWalkerEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    return advance(action.data(), obs);
}

core::StepResult BipedalWalkerEnv::advance(const double* action, std::span<double> obs) {
    // motors: the sign picks the direction at full speed, |a| the torque limit
    for (std::size_t j = 0; j < 4; ++j) {
        const double speed = (j % 2 == 0) ? kSpeedHip : kSpeedKnee;
        m_joints[j]->SetMotorSpeed(static_cast<float>(m_scale.speed * speed * npSign(action[j])));
        m_joints[j]->SetMaxMotorTorque(
            static_cast<float>(m_scale.torque * kMotorsTorque * clampd(std::abs(action[j]), 0.0, 1.0)));
        // 2.4.1 only wakes the bodies when the value changes; pybox2d (2.3) always does
        m_joints[j]->GetBodyA()->SetAwake(true);
        m_joints[j]->GetBodyB()->SetAwake(true);
        // Box2D 2.3's joint limit: active for a step only when the joint starts it at or beyond
        // a limit (its impulse restarting from zero when it becomes active), so a joint may
        // overshoot and is pulled back in the next step. 2.4.1's limit is speculative: always
        // on, it stops a joint on the limit within the step. Switching 2.4.1's limit on and
        // off by 2.3's rule brings the port closer to Gymnasium (README, "LunarLander and
        // BipedalWalker against the real Gymnasium").
        const float angle = m_joints[j]->GetJointAngle();
        m_joints[j]->EnableLimit(angle <= m_joints[j]->GetLowerLimit() || angle >= m_joints[j]->GetUpperLimit());
    }

    m_world->Step(static_cast<float>(1.0 / kFps), 6 * 30, 2 * 30);

    const b2Vec2 pos = m_hull->GetPosition();
    const b2Vec2 vel = m_hull->GetLinearVelocity();

    for (int i = 0; i < kLidarRays; ++i) {
        LidarRay& ray = m_lidar[static_cast<std::size_t>(i)];
        const b2Vec2 p2(static_cast<float>(pos.x + std::sin(1.5 * i / 10.0) * kLidarRange),
                        static_cast<float>(pos.y - std::cos(1.5 * i / 10.0) * kLidarRange));
        LidarCallback cb;
        cb.m_point = p2;
        m_world->RayCast(&cb, pos, p2);
        ray.p1 = toVec(pos);
        ray.p2 = toVec(cb.m_point);
        ray.fraction = cb.m_fraction;
    }

    obs[0] = m_hull->GetAngle();
    obs[1] = 2.0 * m_hull->GetAngularVelocity() / kFps;
    obs[2] = 0.3 * vel.x * (kViewW) / kFps;
    obs[3] = 0.3 * vel.y * (kViewH) / kFps;
    obs[4] = m_joints[0]->GetJointAngle();
    obs[5] = m_joints[0]->GetJointSpeed() / kSpeedHip;
    obs[6] = m_joints[1]->GetJointAngle() + 1.0;
    obs[7] = m_joints[1]->GetJointSpeed() / kSpeedKnee;
    obs[8] = m_groundContact[1] ? 1.0 : 0.0;
    obs[9] = m_joints[2]->GetJointAngle();
    obs[10] = m_joints[2]->GetJointSpeed() / kSpeedHip;
    obs[11] = m_joints[3]->GetJointAngle() + 1.0;
    obs[12] = m_joints[3]->GetJointSpeed() / kSpeedKnee;
    obs[13] = m_groundContact[3] ? 1.0 : 0.0;
    for (std::size_t i = 0; i < kLidarRays; ++i) obs[14 + i] = m_lidar[i].fraction;

    // reward
    const double shaping = 130.0 * pos.x / kScale - 5.0 * std::abs(obs[0]);
    core::StepResult r;
    if (m_hasPrevShaping) r.reward = shaping - m_prevShaping;
    m_prevShaping = shaping;
    m_hasPrevShaping = true;
    for (std::size_t j = 0; j < 4; ++j) r.reward -= 0.00035 * kMotorsTorque * clampd(std::abs(action[j]), 0.0, 1.0);
    if (m_gameOver || pos.x < 0.0f) {
        r.reward = -100.0;
        r.terminated = true;
    }
    if (pos.x > kFinishX) r.terminated = true;
    return r;
}

void BipedalWalkerEnv::draw(DrawList& out) const {
    out.clear();
    out.background = kSky;
    const float hullX = m_hull->GetPosition().x;
    const float halfW = static_cast<float>(kViewW / 2);
    out.camera.centre = {hullX, static_cast<float>(kViewH / 2)};
    out.camera.width = static_cast<float>(kViewW);
    out.camera.height = static_cast<float>(kViewH);
    const float viewLo = hullX - halfW - 1.0f, viewHi = hullX + halfW + 1.0f;

    // clouds with Gymnasium's parallax: drawn shifted by scroll/2, scroll = hull.x − W/5
    const float shift = static_cast<float>((hullX - kViewW / 5) / 2);
    for (const auto& c : m_clouds) {
        float x1 = c[0].x, x2 = c[0].x;
        for (const Vec2& p : c) x1 = std::min(x1, p.x), x2 = std::max(x2, p.x);
        if (x2 + shift < viewLo || x1 + shift > viewHi) continue;
        std::vector<Vec2> pts;
        pts.reserve(5);
        for (const Vec2& p : c) pts.push_back({p.x + shift, p.y});
        out.polygon(std::move(pts), kCloud, kCloud, 1.f);
    }

    // ground fill below each surface edge
    for (std::size_t i = 0; i + 1 < kTerrainLength; ++i) {
        const float x0 = static_cast<float>(m_terrainX[i]), x1 = static_cast<float>(m_terrainX[i + 1]);
        if (x1 < viewLo || x0 > viewHi) continue;
        const float y0 = static_cast<float>(m_terrainY[i]), y1 = static_cast<float>(m_terrainY[i + 1]);
        out.polygon({{x0, y0}, {x1, y1}, {x1, 0.f}, {x0, 0.f}}, kGround, kGround, 1.f);
    }

    // one lidar ray per frame, sweeping forward then back over 20 of every 100 frames
    const int k = (elapsedSteps() + 1) % 100;
    if (k < 2 * kLidarRays) {
        const LidarRay& ray = m_lidar[static_cast<std::size_t>(k < kLidarRays ? k : 2 * kLidarRays - 1 - k)];
        out.segment(ray.p1, ray.p2, kLidarColor, 1.f);
    }

    // Gymnasium's reversed terrain list: edges last to first, then the obstacles reversed
    for (std::size_t i = m_edges.size(); i-- > 0;) {
        const float x0 = static_cast<float>(m_terrainX[i]), x1 = static_cast<float>(m_terrainX[i + 1]);
        if (x1 < viewLo || x0 > viewHi) continue;
        const Color c{76, static_cast<std::uint8_t>(i % 2 == 0 ? 255 : 204), 76, 255};
        drawBody(out, m_edges[i], c, c, 1.f);
    }
    for (auto it = m_obstacles.rbegin(); it != m_obstacles.rend(); ++it) {
        const b2AABB box = (*it)->GetFixtureList()->GetAABB(0);
        if (box.upperBound.x < viewLo || box.lowerBound.x > viewHi) continue;
        drawBody(out, *it, kObstacleFill, kObstacleLine, 1.f);
    }
    for (std::size_t j = 0; j < 4; ++j) {
        const int side = j < 2 ? -1 : 1;
        drawBody(out, m_legs[j], legColor(side, false), legColor(side, true), 1.f);
    }
    drawBody(out, m_hull, kHullFill, kHullLine, 1.f);

    // start flag
    const float fx = static_cast<float>(3 * kTerrainStep);
    const float y1 = static_cast<float>(kTerrainHeight);
    const float y2 = y1 + static_cast<float>(50.0 / kScale);
    const float s = static_cast<float>(1.0 / kScale);
    out.segment({fx, y1}, {fx, y2}, {0, 0, 0, 255}, 1.f);
    out.polygon({{fx, y2}, {fx, y2 - 10 * s}, {fx + 25 * s, y2 - 5 * s}}, {230, 51, 0, 255}, {0, 0, 0, 255}, 1.f);
    drawGrab(out);

    addEpisodeHud(out);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f / %.1f m", static_cast<double>(m_hull->GetPosition().x), kFinishX);
    out.hud.emplace_back("distance", buf);
    out.hud.emplace_back("contact", std::string(m_groundContact[1] ? "0" : "-") + (m_groundContact[3] ? "1" : "-"));
}

} // namespace sim
