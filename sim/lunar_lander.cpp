// LunarLander-v3 / LunarLanderContinuous-v3 on Box2D 2.4.1.
// Source: Gymnasium gymnasium/envs/box2d/lunar_lander.py (v1.3.0); max_episode_steps 1000,
// reward_threshold 200. Wind (enable_wind, wind_power, turbulence_power) as in Gymnasium, off by default.
//
// Constants (pixel constants are divided by SCALE to get metres)
//   FPS 50 (dt 0.02 s), SCALE 30 px/m, world Step(1/50, 180, 60), gravity (0, -10) m/s²
//   MAIN_ENGINE_POWER 13, SIDE_ENGINE_POWER 0.6 (impulse scale, N·s per m of offset)
//   INITIAL_RANDOM 1000 N (force during the reset step)
//   LANDER_POLY (-14,17) (-17,0) (-17,-10) (17,-10) (17,0) (14,17) px, density 5, friction 0.1
//   LEG_AWAY 20 px, LEG_DOWN 18 px, LEG half-extents 2×8 px, density 1
//   LEG_SPRING_TORQUE 40 N·m, leg motor speed ±0.3 rad/s, limits [0.4, 0.9] / [-0.9, -0.4]
//   SIDE_ENGINE_HEIGHT 14 px, SIDE_ENGINE_AWAY 12 px, MAIN_ENGINE_Y_LOCATION 4 px
//   VIEWPORT 600×400 px = 20 m × 13.333 m; helipad x ∈ [8, 12] m, helipad_y = H/4
//   terrain: 11 chunks, heights U(0, H/2), smoothed by 0.33·(h[i-1]+h[i]+h[i+1])
// Porting notes (docs/environments.md §9): a fresh b2World per reset; two-sided edges on one
// static moon body (11 fixtures); leg joints get referenceAngle = i·0.05 explicitly; sleep
// stays enabled because a sleeping lander is the +100 "landed" signal; the contact
// listener is detached before the world is destroyed. Particles are drawn as flame circles
// at the last impulse points instead of physical particle bodies.
#include "sim/lunar_lander.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kFps = 50.0;
constexpr double kScale = 30.0;
constexpr double kMainEnginePower = 13.0;
constexpr double kSideEnginePower = 0.6;
constexpr double kInitialRandom = 1000.0;
constexpr double kLegAway = 20.0, kLegDown = 18.0, kLegW = 2.0, kLegH = 8.0;
constexpr double kLegSpringTorque = 40.0;
constexpr double kSideEngineHeight = 14.0, kSideEngineAway = 12.0, kMainEngineYLocation = 4.0;
constexpr double kW = 600.0 / kScale, kH = 400.0 / kScale;
constexpr int kChunks = 11;
constexpr float kLanderPoly[6][2] = {{-14, 17}, {-17, 0}, {-17, -10}, {17, -10}, {17, 0}, {14, 17}};
// collision filtering: the moon keeps Box2D's default filter (category kCategoryGround,
// mask 0xFFFF); the lander body and the legs collide with the ground only, never with each
// other (docs/environments.md §1)
constexpr uint16 kCategoryGround = 0x0001;
constexpr uint16 kCategoryLander = 0x0010;
constexpr uint16 kCategoryLeg = 0x0020;
constexpr uint16 kMaskGroundOnly = kCategoryGround;
const Color kBodyFill{128, 102, 230, 255};
const Color kBodyLine{77, 77, 128, 255};
} // namespace

void LunarLanderEnv::Wind::validate() const {
    if (!(power >= 0.0 && power <= 20.0))
        throw std::invalid_argument("LunarLander wind power " + std::to_string(power) + " is outside [0, 20] N");
    if (!(turbulence >= 0.0 && turbulence <= 2.0))
        throw std::invalid_argument("LunarLander turbulence power " + std::to_string(turbulence) +
                                    " is outside [0, 2] N·m");
}

double LunarLanderEnv::windProfile(long long k) {
    const double x = static_cast<double>(k);
    return std::tanh(std::sin(0.02 * x) + std::sin(kPi * 0.01 * x));
}

LunarLanderEnv::LunarLanderEnv(bool continuous) : LunarLanderEnv(continuous, Wind{}) {}

LunarLanderEnv::LunarLanderEnv(bool continuous, Wind wind) : m_continuous(continuous), m_wind(wind) {
    m_wind.validate();
    if (m_wind.enabled)
        m_spec.id = continuous ? "LunarLanderContinuousWind-v3" : "LunarLanderWind-v3";
    else
        m_spec.id = continuous ? "LunarLanderContinuous-v3" : "LunarLander-v3";
    m_spec.observation = core::Space::box({-2.5, -2.5, -10.0, -10.0, -2 * kPi, -10.0, -0.0, -0.0},
                                          {2.5, 2.5, 10.0, 10.0, 2 * kPi, 10.0, 1.0, 1.0});
    m_spec.action = continuous ? core::Space::box({-1.0, -1.0}, {1.0, 1.0}) : core::Space::discrete(4);
    m_spec.maxEpisodeSteps = 1000;
    m_spec.rewardThreshold = 200.0;
    m_spec.frameRate = kFps;
    std::vector<double> obs(8);
    resetEpisode(0, obs); // a valid scene before the first reset
}

double LunarLanderEnv::helipadY() const { return kH / 4; }

void LunarLanderEnv::ContactDetector::BeginContact(b2Contact* contact) {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    if (a == m_env.m_lander || b == m_env.m_lander) m_env.m_gameOver = true;
    for (std::size_t i = 0; i < 2; ++i)
        if (a == m_env.m_legs[i] || b == m_env.m_legs[i]) m_env.m_legContact[i] = true;
}

void LunarLanderEnv::ContactDetector::EndContact(b2Contact* contact) {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    for (std::size_t i = 0; i < 2; ++i)
        if (a == m_env.m_legs[i] || b == m_env.m_legs[i]) m_env.m_legContact[i] = false;
}

void LunarLanderEnv::scriptNextEpisode(Script script) {
    m_pendingScript.assign(script.heightDraw.begin(), script.heightDraw.end());
    m_pendingScript.push_back(script.forceX);
    m_pendingScript.push_back(script.forceY);
    for (const auto& d : script.engineDraws) m_pendingScript.insert(m_pendingScript.end(), d.begin(), d.end());
}

double LunarLanderEnv::uniform(double lo, double hi) {
    if (m_scriptNext < m_script.size()) return m_script[m_scriptNext++];
    return m_rng.uniform(lo, hi);
}

void LunarLanderEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    m_script = std::move(m_pendingScript);
    m_pendingScript.clear();
    m_scriptNext = 0;
    if (m_world) m_world->SetContactListener(nullptr);
    b2World& world = newWorld(b2Vec2(0.0f, -10.0f)); // sleeping allowed (the default)
    world.SetContactListener(&m_contacts);
    m_gameOver = false;
    m_hasPrevShaping = false;
    m_prevShaping = 0.0;
    m_legContact = {false, false};
    m_mainPower = m_sidePower = 0.0;

    // terrain
    std::array<double, kChunks + 1> height{};
    for (double& h : height) h = uniform(0.0, kH / 2);
    std::array<double, kChunks> chunkX{};
    for (int i = 0; i < kChunks; ++i) chunkX[static_cast<std::size_t>(i)] = kW / (kChunks - 1) * i;
    const double helipadY = kH / 4;
    for (int i = kChunks / 2 - 2; i <= kChunks / 2 + 2; ++i) height[static_cast<std::size_t>(i)] = helipadY;
    std::array<double, kChunks> smoothY{};
    for (int i = 0; i < kChunks; ++i) {
        const std::size_t prev = static_cast<std::size_t>(i == 0 ? kChunks : i - 1); // Python's height[-1]
        smoothY[static_cast<std::size_t>(i)] = 0.33 * (height[prev] + height[static_cast<std::size_t>(i)] + height[static_cast<std::size_t>(i + 1)]);
    }

    b2BodyDef bd;
    m_moon = world.CreateBody(&bd);
    b2EdgeShape edge;
    edge.SetTwoSided(b2Vec2(0.0f, 0.0f), b2Vec2(static_cast<float>(kW), 0.0f));
    b2FixtureDef fd;
    fd.shape = &edge;
    m_moon->CreateFixture(&fd); // pybox2d defaults: friction 0.2, density 0
    m_ground.clear();
    for (int i = 0; i < kChunks - 1; ++i) {
        const b2Vec2 p1(static_cast<float>(chunkX[static_cast<std::size_t>(i)]), static_cast<float>(smoothY[static_cast<std::size_t>(i)]));
        const b2Vec2 p2(static_cast<float>(chunkX[static_cast<std::size_t>(i + 1)]), static_cast<float>(smoothY[static_cast<std::size_t>(i + 1)]));
        edge.SetTwoSided(p1, p2);
        fd.density = 0.0f;
        fd.friction = 0.1f;
        m_moon->CreateFixture(&fd);
        m_ground.push_back({toVec(p1), toVec(p2), Vec2{p2.x, 0.f}, Vec2{p1.x, 0.f}});
    }

    // lander
    const float initialY = static_cast<float>(kH);
    bd.type = b2_dynamicBody;
    bd.position.Set(static_cast<float>(kW / 2), initialY);
    bd.angle = 0.0f;
    m_lander = world.CreateBody(&bd);
    b2Vec2 verts[6];
    for (int i = 0; i < 6; ++i) verts[i].Set(kLanderPoly[i][0] / static_cast<float>(kScale), kLanderPoly[i][1] / static_cast<float>(kScale));
    b2PolygonShape poly;
    poly.Set(verts, 6);
    b2FixtureDef lfd;
    lfd.shape = &poly;
    lfd.density = 5.0f;
    lfd.friction = 0.1f;
    lfd.filter.categoryBits = kCategoryLander;
    lfd.filter.maskBits = kMaskGroundOnly;
    lfd.restitution = 0.0f;
    m_lander->CreateFixture(&lfd);
    const double fx = uniform(-kInitialRandom, kInitialRandom);
    const double fy = uniform(-kInitialRandom, kInitialRandom);
    m_lander->ApplyForceToCenter(b2Vec2(static_cast<float>(fx), static_cast<float>(fy)), true);
    if (m_wind.enabled) { // Gymnasium's np_random.integers(-9999, 9999): upper bound excluded
        m_windIdx = -9999 + static_cast<long long>(m_rng.below(19998));
        m_torqueIdx = -9999 + static_cast<long long>(m_rng.below(19998));
    }

    // legs: i = -1 (legs[0], on the +x side), then i = +1
    for (int k = 0; k < 2; ++k) {
        const int i = k == 0 ? -1 : 1;
        bd.position.Set(static_cast<float>(kW / 2 - i * kLegAway / kScale), initialY);
        bd.angle = static_cast<float>(i * 0.05);
        b2Body* leg = world.CreateBody(&bd);
        b2PolygonShape box;
        box.SetAsBox(static_cast<float>(kLegW / kScale), static_cast<float>(kLegH / kScale));
        b2FixtureDef gfd;
        gfd.shape = &box;
        gfd.density = 1.0f;
        gfd.restitution = 0.0f;
        gfd.filter.categoryBits = kCategoryLeg;
        gfd.filter.maskBits = kMaskGroundOnly;
        leg->CreateFixture(&gfd);

        b2RevoluteJointDef rjd;
        rjd.bodyA = m_lander;
        rjd.bodyB = leg;
        rjd.localAnchorA.Set(0.0f, 0.0f);
        rjd.localAnchorB.Set(static_cast<float>(i * kLegAway / kScale), static_cast<float>(kLegDown / kScale));
        rjd.referenceAngle = static_cast<float>(i * 0.05); // pybox2d: bodyB.angle - bodyA.angle
        rjd.enableMotor = true;
        rjd.enableLimit = true;
        rjd.maxMotorTorque = static_cast<float>(kLegSpringTorque);
        rjd.motorSpeed = static_cast<float>(0.3 * i);
        if (i == -1) {
            rjd.lowerAngle = 0.9f - 0.5f;
            rjd.upperAngle = 0.9f;
        } else {
            rjd.lowerAngle = -0.9f;
            rjd.upperAngle = -0.9f + 0.5f;
        }
        m_legs[static_cast<std::size_t>(k)] = leg;
        m_legJoints[static_cast<std::size_t>(k)] = static_cast<b2RevoluteJoint*>(world.CreateJoint(&rjd));
    }

    // Gymnasium ends reset() with one no-op step; its reward is discarded
    advance(0, 0.0, 0.0, obs);
}

void LunarLanderEnv::setLanderPose(double x, double y, double angle) {
    const b2Transform from = m_lander->GetTransform();
    const float landerAngle = m_lander->GetAngle();
    const b2Transform to(b2Vec2(static_cast<float>(x), static_cast<float>(y)), b2Rot(static_cast<float>(angle)));
    for (b2Body* body : {m_lander, m_legs[0], m_legs[1]}) {
        const b2Vec2 local = b2MulT(from, body->GetPosition());
        const float relAngle = body->GetAngle() - landerAngle;
        const float newAngle = static_cast<float>(angle) + relAngle;
        body->SetTransform(b2Mul(to, local), newAngle);
        body->SetLinearVelocity(b2Vec2(0.0f, 0.0f));
        body->SetAngularVelocity(0.0f);
        body->SetAwake(true);
    }
}

core::StepResult LunarLanderEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    if (m_continuous) return advance(0, clampd(action[0], -1.0, 1.0), clampd(action[1], -1.0, 1.0), obs);
    const int a = static_cast<int>(std::lround(action[0]));
    return advance(a < 0 || a > 3 ? 0 : a, 0.0, 0.0, obs);
}

core::StepResult LunarLanderEnv::advance(int discreteAction, double a0, double a1, std::span<double> obs) {
    // wind and turbulence, before the engines, while no leg touches the ground
    if (m_wind.enabled && !(m_legContact[0] || m_legContact[1])) {
        const double windMag = windProfile(m_windIdx) * m_wind.power;
        ++m_windIdx;
        m_lander->ApplyForceToCenter(b2Vec2(static_cast<float>(windMag), 0.0f), true);
        const double torqueMag = windProfile(m_torqueIdx) * m_wind.turbulence;
        ++m_torqueIdx;
        m_lander->ApplyTorque(static_cast<float>(torqueMag), true);
    }

    // engines
    const double angle = m_lander->GetAngle();
    const double tip[2] = {std::sin(angle), std::cos(angle)};
    const double side[2] = {-tip[1], tip[0]};
    const double d0 = uniform(-1.0, 1.0) / kScale;
    const double d1 = uniform(-1.0, 1.0) / kScale;

    double mPower = 0.0;
    if ((m_continuous && a0 > 0.0) || (!m_continuous && discreteAction == 2)) {
        mPower = m_continuous ? (clampd(a0, 0.0, 1.0) + 1.0) * 0.5 : 1.0;
        const double ox = tip[0] * (kMainEngineYLocation / kScale + 2.0 * d0) + side[0] * d1;
        const double oy = -tip[1] * (kMainEngineYLocation / kScale + 2.0 * d0) - side[1] * d1;
        const b2Vec2 pos = m_lander->GetPosition();
        const b2Vec2 at(static_cast<float>(pos.x + ox), static_cast<float>(pos.y + oy));
        m_lander->ApplyLinearImpulse(b2Vec2(static_cast<float>(-ox * kMainEnginePower * mPower), static_cast<float>(-oy * kMainEnginePower * mPower)), at, true);
        m_mainFlame = toVec(at);
    }
    double sPower = 0.0;
    if ((m_continuous && std::abs(a1) > 0.5) || (!m_continuous && (discreteAction == 1 || discreteAction == 3))) {
        double direction;
        if (m_continuous) {
            direction = npSign(a1);
            sPower = clampd(std::abs(a1), 0.5, 1.0);
        } else {
            direction = discreteAction - 2;
            sPower = 1.0;
        }
        const double k = 3.0 * d1 + direction * kSideEngineAway / kScale;
        const double ox = tip[0] * d0 + side[0] * k;
        const double oy = -tip[1] * d0 - side[1] * k;
        const b2Vec2 pos = m_lander->GetPosition();
        // 17 and 14 px: the source's inconsistent offsets, kept on purpose
        const b2Vec2 at(static_cast<float>(pos.x + ox - tip[0] * 17.0 / kScale), static_cast<float>(pos.y + oy + tip[1] * kSideEngineHeight / kScale));
        m_lander->ApplyLinearImpulse(b2Vec2(static_cast<float>(-ox * kSideEnginePower * sPower), static_cast<float>(-oy * kSideEnginePower * sPower)), at, true);
        m_sideFlame = toVec(at);
    }
    m_mainPower = mPower;
    m_sidePower = sPower;

    // Box2D 2.3's joint limit, as the walker takes it (README, "LunarLander and
    // BipedalWalker against the real Gymnasium"): a leg's limit is solved in a step only when
    // the leg starts it at or beyond a limit
    for (b2RevoluteJoint* joint : m_legJoints) {
        const float angle = joint->GetJointAngle();
        joint->EnableLimit(angle <= joint->GetLowerLimit() || angle >= joint->GetUpperLimit());
    }

    m_world->Step(static_cast<float>(1.0 / kFps), 6 * 30, 2 * 30);

    // observation
    const b2Vec2 pos = m_lander->GetPosition();
    const b2Vec2 vel = m_lander->GetLinearVelocity();
    const double helipadY = kH / 4;
    obs[0] = (pos.x - kW / 2) / (kW / 2);
    obs[1] = (pos.y - (helipadY + kLegDown / kScale)) / (kH / 2);
    obs[2] = vel.x * (kW / 2) / kFps;
    obs[3] = vel.y * (kH / 2) / kFps;
    obs[4] = m_lander->GetAngle();
    obs[5] = 20.0 * m_lander->GetAngularVelocity() / kFps;
    obs[6] = m_legContact[0] ? 1.0 : 0.0;
    obs[7] = m_legContact[1] ? 1.0 : 0.0;

    // reward
    const double shaping = -100.0 * std::sqrt(obs[0] * obs[0] + obs[1] * obs[1]) - 100.0 * std::sqrt(obs[2] * obs[2] + obs[3] * obs[3]) -
                           100.0 * std::abs(obs[4]) + 10.0 * obs[6] + 10.0 * obs[7];
    core::StepResult r;
    if (m_hasPrevShaping) r.reward = shaping - m_prevShaping;
    m_prevShaping = shaping;
    m_hasPrevShaping = true;
    r.reward -= mPower * 0.30;
    r.reward -= sPower * 0.03;
    if (m_gameOver || std::abs(obs[0]) >= 1.0) {
        r.terminated = true;
        r.reward = -100.0;
    }
    if (!m_lander->IsAwake()) {
        r.terminated = true;
        r.reward = +100.0;
    }
    return r;
}

// the lander's body: obs[0..1] is its position relative to the pad, scaled by half the view
std::optional<Vec2> LunarLanderEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 2) return std::nullopt;
    return Vec2{static_cast<float>(obs[0] * (kW / 2) + kW / 2),
                static_cast<float>(obs[1] * (kH / 2) + helipadY() + kLegDown / kScale)};
}

void LunarLanderEnv::draw(DrawList& out) const {
    out.clear();
    // Gymnasium paints black sky polygons over a white surface; painting the white ground
    // over a black background looks the same inside the world and keeps the viewer's
    // letterbox black (space) instead of a white frame around the sky
    out.background = {0, 0, 0, 255};
    out.camera.centre = {static_cast<float>(kW / 2), static_cast<float>(kH / 2)};
    out.camera.width = static_cast<float>(kW);
    out.camera.height = static_cast<float>(kH);

    for (const auto& p : m_ground) out.polygon({p[0], p[1], p[2], p[3]}, {255, 255, 255, 255}, {255, 255, 255, 255}, 1.f);

    // engine flames, coloured like Gymnasium's particles with ttl = power
    auto flame = [&out](Vec2 at, double power, float radius) {
        const auto ch = [](double v) { return static_cast<std::uint8_t>(std::lround(255.0 * std::max(0.2, std::min(1.0, v)))); };
        out.circle(at, radius, {ch(0.15 + power), ch(0.5 * power), ch(0.5 * power), 255});
    };
    if (m_mainPower > 0.0) flame(m_mainFlame, m_mainPower, static_cast<float>(0.15 * m_mainPower));
    if (m_sidePower > 0.0) flame(m_sideFlame, m_sidePower, static_cast<float>(0.08 * m_sidePower));

    drawBody(out, m_lander, kBodyFill, kBodyLine, 1.f);
    for (const b2Body* leg : m_legs) drawBody(out, leg, kBodyFill, kBodyLine, 1.f);

    for (double x : {8.0, 12.0}) {
        const float fx = static_cast<float>(x);
        const float y1 = static_cast<float>(kH / 4);
        const float y2 = y1 + static_cast<float>(50.0 / kScale);
        out.segment({fx, y1}, {fx, y2}, {255, 255, 255, 255}, 1.f);
        const float s = static_cast<float>(1.0 / kScale);
        out.polygon({{fx, y2}, {fx, y2 - 10 * s}, {fx + 25 * s, y2 - 5 * s}}, {204, 204, 0, 255}, {204, 204, 0, 255}, 1.f);
    }
    drawGrab(out);

    addEpisodeHud(out);
    // legs[1] is the left (-x) leg, legs[0] the right one
    out.hud.emplace_back("legs", std::string(m_legContact[1] ? "L" : "-") + (m_legContact[0] ? "R" : "-"));
    out.hud.emplace_back("awake", m_lander->IsAwake() ? "yes" : "no");
}

} // namespace sim
