// CartPole-v1 on Box2D 2.4.1.
// Source: Gymnasium gymnasium/envs/classic_control/cartpole.py (v1.3.0), registered with
// max_episode_steps 500 and reward_threshold 475.
//
// Constants
//   gravity           9.8 m/s²
//   masscart          1.0 kg, masspole 0.1 kg (uniform rod)
//   length            0.5 m (half the pole length; pole is 1.0 m)
//   force_mag         10 N (action 0: -10 N, action 1: +10 N)
//   tau               0.02 s (one Box2D step per env step)
//   theta threshold   12° = 0.2094 rad, x threshold 2.4 m
//   render            600×400 px at 125 px/m → 4.8 m × 3.2 m view, track at y = 0
//
// Model
//   static anchor ─prismatic(x axis, no limit, no motor)─ cart (1 kg)
//   cart ─revolute at the axle, 0.06 m above the cart centre─ pole (0.1 kg, COM 0.5 m along the pole,
//   I about the pivot = m·(2l)²/3, the thin-rod inertia behind Gymnasium's 4/3 factor).
//   Nothing collides (mask 0); fixtures exist for drawing and grabbing.
//   Box2D projects velocities onto the joint constraints at the configuration at the start
//   of the step, so on its own it takes the centripetal term m·l·θ̇²·sinθ one step late,
//   and its position iterations correct the chord-versus-arc drift of the pivot by moving
//   both bodies. Instead, after each step the bodies are re-seated on the joints (cart on
//   the track, pole on the axle; no position iterations) and the pole's COM velocity is
//   made consistent (v_cart + ω×r, r: pivot → COM); before each step dt·ω²·r is added to
//   it. Then the velocity projection produces exactly the semi-implicit Euler update of
//   Gymnasium's equations:
//     θ̇' = θ̇ + τ·θ̈(s),  ẋ' = ẋ + τ·ẍ(s),  θ' = θ + τ·θ̇',  x' = x + τ·ẋ'
//   (Gymnasium's default integrator is explicit Euler; we use its "semi-implicit" variant,
//   the form Box2D integrates.) Sleep is disabled.
#include "sim/cartpole.h"

#include <cstdio>
#include <limits>
#include <utility>

namespace sim {

namespace {
constexpr int kVelocityIterations = 20;
constexpr int kPositionIterations = 0; // positions are re-seated by hand
constexpr float kCartHalfW = 0.2f, kCartHalfH = 0.12f; // 50×30 px at 125 px/m
constexpr float kPoleHalfW = 0.04f;                    // 10 px
// collision filtering: cart and pole collide with nothing (an empty mask); their fixtures
// exist for drawing and for the viewer's grab (docs/environments.md §1)
constexpr uint16 kMaskNone = 0x0000;
const double kInf = std::numeric_limits<double>::infinity();
} // namespace

CartPoleEnv::CartPoleEnv() {
    m_spec.id = "CartPole-v1";
    m_spec.observation = core::Space::box({-2 * kXThreshold, -kInf, -2 * kThetaThreshold, -kInf},
                                          {2 * kXThreshold, kInf, 2 * kThetaThreshold, kInf});
    m_spec.action = core::Space::discrete(2);
    m_spec.maxEpisodeSteps = 500;
    m_spec.rewardThreshold = 475.0;
    m_spec.frameRate = 50.0;
    buildWorld();
}

CartPoleEnv::CartPoleEnv(core::EnvSpec spec) : m_spec(std::move(spec)) { buildWorld(); }

void CartPoleEnv::buildWorld() {
    b2World& world = newWorld(b2Vec2(0.0f, static_cast<float>(-kGravity)));
    world.SetAllowSleeping(false);

    b2FixtureDef fd;
    fd.density = 0.0f; // masses are set explicitly below
    fd.filter.maskBits = kMaskNone;

    // cart
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    bd.position.Set(0.0f, 0.0f);
    m_cart = world.CreateBody(&bd);
    b2PolygonShape cartShape;
    cartShape.SetAsBox(kCartHalfW, kCartHalfH);
    fd.shape = &cartShape;
    m_cart->CreateFixture(&fd);
    b2MassData md;
    md.mass = static_cast<float>(kMassCart);
    md.center.SetZero();
    md.I = static_cast<float>(kMassCart * (4 * kCartHalfW * kCartHalfW + 4 * kCartHalfH * kCartHalfH) / 12.0);
    m_cart->SetMassData(&md);

    // pole: body origin at the pivot, pointing along local +y
    m_pole = world.CreateBody(&bd);
    b2PolygonShape poleShape;
    poleShape.SetAsBox(kPoleHalfW, static_cast<float>(kHalfLength), b2Vec2(0.0f, static_cast<float>(kHalfLength) - kPoleHalfW), 0.0f);
    fd.shape = &poleShape;
    m_pole->CreateFixture(&fd);
    md.mass = static_cast<float>(kMassPole);
    md.center.Set(0.0f, static_cast<float>(kHalfLength));
    // about the pivot: I_com + m·l² = m·l²/3 + m·l²
    md.I = static_cast<float>(kMassPole * kHalfLength * kHalfLength * (4.0 / 3.0));
    m_pole->SetMassData(&md);

    b2PrismaticJointDef pj;
    pj.Initialize(m_anchor, m_cart, b2Vec2(0.0f, 0.0f), b2Vec2(1.0f, 0.0f));
    world.CreateJoint(&pj);

    b2RevoluteJointDef rj;
    rj.bodyA = m_cart;
    rj.bodyB = m_pole;
    rj.localAnchorA.Set(0.0f, kAxleOffset);
    rj.localAnchorB.SetZero();
    rj.referenceAngle = 0.0f;
    world.CreateJoint(&rj);
}

CartPoleEnv::State CartPoleEnv::state() const {
    State s;
    s.x = m_cart->GetPosition().x;
    s.xDot = m_cart->GetLinearVelocity().x;
    s.theta = -static_cast<double>(m_pole->GetAngle()); // Box2D angles are counter-clockwise
    s.thetaDot = -static_cast<double>(m_pole->GetAngularVelocity());
    return s;
}

void CartPoleEnv::setState(const State& s) {
    const b2Vec2 pivot(static_cast<float>(s.x), kAxleOffset);
    m_cart->SetTransform(b2Vec2(static_cast<float>(s.x), 0.0f), 0.0f);
    m_cart->SetLinearVelocity(b2Vec2(static_cast<float>(s.xDot), 0.0f));
    m_cart->SetAngularVelocity(0.0f);
    m_pole->SetTransform(pivot, static_cast<float>(-s.theta));
    const float w = static_cast<float>(-s.thetaDot);
    const b2Vec2 r = m_pole->GetWorldCenter() - pivot;
    m_pole->SetAngularVelocity(w);
    m_pole->SetLinearVelocity(m_cart->GetLinearVelocity() + b2Cross(w, r));
}

void CartPoleEnv::writeObservation(std::span<double> obs) const {
    const State s = state();
    obs[0] = s.x;
    obs[1] = s.xDot;
    obs[2] = s.theta;
    obs[3] = s.thetaDot;
}

void CartPoleEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    buildWorld(); // a fresh world: no warm-start impulses or grabs carried over
    State s;
    s.x = m_rng.uniform(-0.05, 0.05);
    s.xDot = m_rng.uniform(-0.05, 0.05);
    s.theta = m_rng.uniform(-0.05, 0.05);
    s.thetaDot = m_rng.uniform(-0.05, 0.05);
    setState(s);
    m_done = false;
    m_force = 0.0;
    writeObservation(obs);
}

void CartPoleEnv::advance(double force) {
    m_force = force;
    m_cart->ApplyForceToCenter(b2Vec2(static_cast<float>(m_force), 0.0f), true);

    // centripetal pre-correction of the pole's COM velocity (see the header comment)
    const b2Vec2 r = m_pole->GetWorldCenter() - m_pole->GetPosition();
    const float w = m_pole->GetAngularVelocity();
    const float dt = static_cast<float>(kTau);
    m_pole->SetLinearVelocity(m_pole->GetLinearVelocity() + (dt * w * w) * r);

    m_world->Step(dt, kVelocityIterations, kPositionIterations);
    setState(state()); // re-seat on the joints, consistent velocities
}

core::StepResult CartPoleEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    advance(action[0] >= 0.5 ? kForceMag : -kForceMag);
    writeObservation(obs);
    const double x = obs[0], theta = obs[2];
    const bool terminated = x < -kXThreshold || x > kXThreshold || theta < -kThetaThreshold || theta > kThetaThreshold;
    core::StepResult r0;
    r0.terminated = terminated;
    r0.reward = m_done ? 0.0 : 1.0; // +1 including the terminating step, 0 afterwards
    m_done = m_done || terminated;
    return r0;
}

// the pole's tip: obs = [x, ẋ, θ, θ̇] with θ = 0 upright and + leaning to +x
std::optional<Vec2> CartPoleEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 3) return std::nullopt;
    const double len = 2 * kHalfLength;
    return Vec2{static_cast<float>(obs[0] + len * std::sin(obs[2])), static_cast<float>(kAxleOffset + len * std::cos(obs[2]))};
}

// the axle (x is obs[0] in CartPole and its swing-up variant)
std::optional<Vec2> CartPoleEnv::stateAnchor(std::span<const double> obs) const {
    if (obs.empty()) return std::nullopt;
    return Vec2{static_cast<float>(obs[0]), kAxleOffset};
}

void CartPoleEnv::draw(DrawList& out) const {
    out.clear();
    out.background = {255, 255, 255, 255};
    out.camera.centre = {0.0f, 0.8f};
    out.camera.width = 4.8f;
    out.camera.height = 3.2f;

    const b2Vec2 c = m_cart->GetPosition();
    // track across the view (and well beyond, for a panning viewer)
    out.segment({-6.0f, 0.0f}, {6.0f, 0.0f}, {0, 0, 0, 255}, 1.f);
    // cart
    out.polygon({{c.x - kCartHalfW, c.y - kCartHalfH}, {c.x + kCartHalfW, c.y - kCartHalfH},
                 {c.x + kCartHalfW, c.y + kCartHalfH}, {c.x - kCartHalfW, c.y + kCartHalfH}},
                {0, 0, 0, 255});
    // pole: Gymnasium's rectangle (-5,-5)..(5, polelen-5) px about the axle
    const float a = m_pole->GetAngle();
    const b2Rot q(a);
    const b2Vec2 axle = m_pole->GetPosition();
    const float len = static_cast<float>(2 * kHalfLength);
    const b2Vec2 local[4] = {{-kPoleHalfW, -kPoleHalfW}, {kPoleHalfW, -kPoleHalfW},
                             {kPoleHalfW, len - kPoleHalfW}, {-kPoleHalfW, len - kPoleHalfW}};
    std::vector<Vec2> pole;
    pole.reserve(4);
    for (const b2Vec2& p : local) pole.push_back(toVec(axle + b2Mul(q, p)));
    const Color poleColor{202, 152, 101, 255};
    out.polygon(std::move(pole), poleColor, poleColor, 1.f);
    const Color axleColor{129, 132, 203, 255};
    out.circle(toVec(axle), 0.04f, axleColor, axleColor, 1.f);
    drawGrab(out);

    addEpisodeHud(out);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.0f N", m_force);
    out.hud.emplace_back("force", buf);
    const State s = state();
    std::snprintf(buf, sizeof buf, "%.3f", s.x);
    out.hud.emplace_back("x", buf);
    std::snprintf(buf, sizeof buf, "%.1f°", s.theta * 180.0 / 3.14159265358979323846);
    out.hud.emplace_back("theta", buf);
}

CartPoleNoVelEnv::CartPoleNoVelEnv()
    : CartPoleEnv([] {
          core::EnvSpec s;
          s.id = "CartPoleNoVel-v1";
          s.observation = core::Space::box({-2 * kXThreshold, -2 * kThetaThreshold}, {2 * kXThreshold, 2 * kThetaThreshold});
          s.action = core::Space::discrete(2);
          s.maxEpisodeSteps = 500;
          s.rewardThreshold = 475.0;
          s.frameRate = 50.0;
          return s;
      }()) {}

void CartPoleNoVelEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    double full[4];
    CartPoleEnv::resetEpisode(seed, full);
    obs[0] = full[0];
    obs[1] = full[2];
}

core::StepResult CartPoleNoVelEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    double full[4];
    const core::StepResult r = CartPoleEnv::stepEpisode(action, full);
    obs[0] = full[0];
    obs[1] = full[2];
    return r;
}

std::optional<Vec2> CartPoleNoVelEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 2) return std::nullopt;
    const double full[4] = {obs[0], 0.0, obs[1], 0.0};
    return CartPoleEnv::statePoint(full);
}

std::optional<Vec2> CartPoleNoVelEnv::stateAnchor(std::span<const double> obs) const {
    if (obs.empty()) return std::nullopt;
    const double full[4] = {obs[0], 0.0, 0.0, 0.0};
    return CartPoleEnv::stateAnchor(full);
}

} // namespace sim
