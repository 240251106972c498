// Acrobot-v1 on Box2D 2.4.1.
// Source: Gymnasium gymnasium/envs/classic_control/acrobot.py (v1.3.0); max_episode_steps
// 500, reward_threshold -100.
//
// Constants
//   dt 0.2 s per env step; links 1 m long, 1 kg, COM 0.5 m from their joint, I = 1 kg·m²
//   about the COM (Gymnasium's LINK_MOI; not a uniform rod's 1/12); g 9.8 m/s²
//   MAX_VEL_1 4π rad/s, MAX_VEL_2 9π rad/s; torques {-1, 0, +1} N·m at the middle joint
//   render 500×500 px, bound 2.2 m → 4.4 m × 4.4 m view centred on the pivot
//
// Model and fidelity
//   static anchor ─revolute─ link 1 ─revolute at its tip─ link 2. Body masses, COMs and
//   inertias are exactly those of Gymnasium's "book" equations, so Box2D integrates the
//   same ODE. Gymnasium advances it with one RK4 step of 0.2 s; Box2D here takes 50
//   semi-implicit Euler sub-steps of 4 ms. As for CartPole, each sub-step re-seats the
//   links on their joints and pre-corrects the COM velocities by the centripetal terms, so
//   each sub-step is the exact semi-implicit Euler update of the ODE. The two integrators
//   differ by about 1e-3 to 5e-3 (rad, rad/s) per 0.2 s step (Euler's O(h) error); the acrobot is chaotic, so trajectories from
//   the same start separate after some tens of steps (see tests/sim/test_acrobot.cpp).
//   After the 0.2 s step, as in Gymnasium, θ1 and θ2 are wrapped into [-π, π] and the rates
//   clipped to ±4π and ±9π. The torque a acts on θ2: +a on link 2 and -a on link 1.
//   Reward -1 per step, 0 on the terminating step (tip more than 1 m above the pivot:
//   -cos θ1 - cos(θ1 + θ2) > 1). Sleep is disabled.
#include "sim/acrobot.h"

#include <cmath>
#include <cstdio>

namespace sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kMaxVel1 = 4 * kPi, kMaxVel2 = 9 * kPi;
constexpr int kVelocityIterations = 8;
constexpr float kHalfWidth = 0.1f;
// collision filtering: the links collide with nothing (an empty mask); their fixtures exist
// for drawing and for the viewer's grab (docs/environments.md §1)
constexpr uint16 kMaskNone = 0x0000;
} // namespace

AcrobotEnv::AcrobotEnv() {
    m_spec.id = "Acrobot-v1";
    m_spec.observation = core::Space::box({-1, -1, -1, -1, -kMaxVel1, -kMaxVel2}, {1, 1, 1, 1, kMaxVel1, kMaxVel2});
    m_spec.action = core::Space::discrete(3);
    m_spec.maxEpisodeSteps = 500;
    m_spec.rewardThreshold = -100.0;
    m_spec.frameRate = 15.0;
    buildWorld();
}

double AcrobotEnv::wrapAngle(double x) {
    const double diff = 2 * kPi;
    while (x > kPi) x -= diff;
    while (x < -kPi) x += diff;
    return x;
}

void AcrobotEnv::buildWorld() {
    b2World& world = newWorld(b2Vec2(0.0f, static_cast<float>(-kGravity)));
    world.SetAllowSleeping(false);
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    b2FixtureDef fd;
    fd.density = 0.0f;
    fd.filter.maskBits = kMaskNone;
    b2PolygonShape shape;
    // each link hangs along its local -y axis from its body origin (the joint)
    shape.SetAsBox(kHalfWidth, static_cast<float>(kLinkLength / 2), b2Vec2(0.0f, static_cast<float>(-kLinkLength / 2)), 0.0f);
    fd.shape = &shape;
    b2MassData md;
    md.mass = static_cast<float>(kLinkMass);
    md.center.Set(0.0f, static_cast<float>(-kLinkComPos));
    md.I = static_cast<float>(kLinkMoi + kLinkMass * kLinkComPos * kLinkComPos); // about the origin
    m_link1 = world.CreateBody(&bd);
    m_link1->CreateFixture(&fd);
    m_link1->SetMassData(&md);
    bd.position.Set(0.0f, static_cast<float>(-kLinkLength));
    m_link2 = world.CreateBody(&bd);
    m_link2->CreateFixture(&fd);
    m_link2->SetMassData(&md);

    b2RevoluteJointDef rj;
    rj.bodyA = m_anchor;
    rj.bodyB = m_link1;
    rj.localAnchorA.SetZero();
    rj.localAnchorB.SetZero();
    rj.referenceAngle = 0.0f;
    world.CreateJoint(&rj);
    rj.bodyA = m_link1;
    rj.bodyB = m_link2;
    rj.localAnchorA.Set(0.0f, static_cast<float>(-kLinkLength));
    world.CreateJoint(&rj);
}

AcrobotEnv::State AcrobotEnv::state() const {
    const double a1 = m_link1->GetAngle(), a2 = m_link2->GetAngle();
    const double w1 = m_link1->GetAngularVelocity(), w2 = m_link2->GetAngularVelocity();
    return {a1, a2 - a1, w1, w2 - w1};
}

void AcrobotEnv::setState(const State& s) {
    const float a1 = static_cast<float>(s.theta1);
    const float a2 = static_cast<float>(s.theta1 + s.theta2);
    const float w1 = static_cast<float>(s.dtheta1);
    const float w2 = static_cast<float>(s.dtheta1 + s.dtheta2);
    m_link1->SetTransform(b2Vec2(0.0f, 0.0f), a1);
    const b2Vec2 elbow = m_link1->GetWorldPoint(b2Vec2(0.0f, static_cast<float>(-kLinkLength)));
    m_link2->SetTransform(elbow, a2);
    m_link1->SetAngularVelocity(w1);
    m_link2->SetAngularVelocity(w2);
    // consistent COM velocities
    m_link1->SetLinearVelocity(b2Cross(w1, m_link1->GetWorldCenter()));
    m_link2->SetLinearVelocity(b2Cross(w1, elbow) + b2Cross(w2, m_link2->GetWorldCenter() - elbow));
}

void AcrobotEnv::writeObservation(std::span<double> obs) const {
    const State s = state();
    obs[0] = std::cos(s.theta1);
    obs[1] = std::sin(s.theta1);
    obs[2] = std::cos(s.theta2);
    obs[3] = std::sin(s.theta2);
    obs[4] = s.dtheta1;
    obs[5] = s.dtheta2;
}

void AcrobotEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    buildWorld();
    State s;
    s.theta1 = static_cast<float>(m_rng.uniform(-0.1, 0.1));
    s.theta2 = static_cast<float>(m_rng.uniform(-0.1, 0.1));
    s.dtheta1 = static_cast<float>(m_rng.uniform(-0.1, 0.1));
    s.dtheta2 = static_cast<float>(m_rng.uniform(-0.1, 0.1));
    setState(s);
    m_torque = 0.0;
    writeObservation(obs);
}

void AcrobotEnv::substep(double torque) {
    const float h = static_cast<float>(kDt / kSubsteps);
    m_link1->ApplyTorque(static_cast<float>(-torque), true);
    m_link2->ApplyTorque(static_cast<float>(torque), true);
    // centripetal pre-correction: v' = v - h·(d/dt of the COM velocity at fixed rates)
    const float w1 = m_link1->GetAngularVelocity(), w2 = m_link2->GetAngularVelocity();
    const b2Vec2 r1 = m_link1->GetWorldCenter();
    const b2Vec2 elbow = m_link1->GetWorldPoint(b2Vec2(0.0f, static_cast<float>(-kLinkLength)));
    const b2Vec2 r2 = m_link2->GetWorldCenter() - elbow;
    m_link1->SetLinearVelocity(m_link1->GetLinearVelocity() + (h * w1 * w1) * r1);
    m_link2->SetLinearVelocity(m_link2->GetLinearVelocity() + (h * w1 * w1) * elbow + (h * w2 * w2) * r2);
    m_world->Step(h, kVelocityIterations, 0);
    setState(state()); // re-seat on the joints
}

core::StepResult AcrobotEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    const int a = static_cast<int>(std::lround(action[0]));
    m_torque = a <= 0 ? -1.0 : (a == 1 ? 0.0 : 1.0);
    for (int i = 0; i < kSubsteps; ++i) substep(m_torque);
    State s = state();
    s.theta1 = wrapAngle(s.theta1);
    s.theta2 = wrapAngle(s.theta2);
    s.dtheta1 = clampd(s.dtheta1, -kMaxVel1, kMaxVel1);
    s.dtheta2 = clampd(s.dtheta2, -kMaxVel2, kMaxVel2);
    setState(s);
    writeObservation(obs);
    core::StepResult r;
    const State t = state();
    r.terminated = -std::cos(t.theta1) - std::cos(t.theta2 + t.theta1) > 1.0;
    r.reward = r.terminated ? 0.0 : -1.0;
    return r;
}

// the second link's free end: obs = [cos θ₁, sin θ₁, cos θ₂, sin θ₂, …], the links hanging
// from the pivot at the origin, θ₂ relative to the first link
std::optional<Vec2> AcrobotEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 4) return std::nullopt;
    const double c1 = obs[0], s1 = obs[1], c2 = obs[2], s2 = obs[3];
    const double s12 = s1 * c2 + c1 * s2, c12 = c1 * c2 - s1 * s2; // sin and cos of θ₁ + θ₂
    return Vec2{static_cast<float>(kLinkLength * (s1 + s12)), static_cast<float>(-kLinkLength * (c1 + c12))};
}

void AcrobotEnv::draw(DrawList& out) const {
    out.clear();
    out.background = {255, 255, 255, 255};
    out.camera.centre = {0.0f, 0.0f};
    out.camera.width = 4.4f;
    out.camera.height = 4.4f;
    out.segment({-2.2f, 1.0f}, {2.2f, 1.0f}, {0, 0, 0, 255}, 1.f);
    const Color link{0, 204, 204, 255};
    const Color joint{204, 204, 0, 255};
    for (const b2Body* body : {m_link1, m_link2}) {
        const b2Transform& xf = body->GetTransform();
        const float l = static_cast<float>(kLinkLength);
        out.polygon({toVec(b2Mul(xf, b2Vec2(-kHalfWidth, 0.0f))), toVec(b2Mul(xf, b2Vec2(kHalfWidth, 0.0f))),
                     toVec(b2Mul(xf, b2Vec2(kHalfWidth, -l))), toVec(b2Mul(xf, b2Vec2(-kHalfWidth, -l)))},
                    link, link, 1.f);
        out.circle(toVec(xf.p), 0.1f, joint, joint, 1.f);
    }
    drawGrab(out);
    addEpisodeHud(out);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.0f N·m", m_torque);
    out.hud.emplace_back("torque", buf);
    const State s = state();
    std::snprintf(buf, sizeof buf, "%.2f m", -std::cos(s.theta1) - std::cos(s.theta1 + s.theta2));
    out.hud.emplace_back("tip height", buf);
}

} // namespace sim
