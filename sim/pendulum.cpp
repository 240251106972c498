// Pendulum-v1 on Box2D 2.4.1.
// Source: Gymnasium gymnasium/envs/classic_control/pendulum.py (v1.3.0), registered with
// max_episode_steps 200 and no reward_threshold (we report -200 as the "solved" bar).
//
// Constants
//   max_speed   8 rad/s (angular velocity clipped by hand after each step)
//   max_torque  2 N·m (action clipped to [-2, 2])
//   dt          0.05 s (one Box2D step per env step)
//   g           10 m/s², m 1 kg, l 1 m (uniform rod, I about the pivot = m·l²/3)
//   render      500×500 px, bound 2.2 → 4.4 m × 4.4 m view centred on the pivot
//
// Model
//   static anchor ─revolute at the origin─ rod (body origin at the pivot, COM at 0.5 m along
//   local +y, so body angle = θ with 0 upright and counter-clockwise positive, as in
//   Gymnasium). Gravity acts on the COM; the action is a body torque.
//   As in CartPole: after each step the rod is re-seated on its pivot (no Box2D position
//   iterations, whose chord-versus-arc correction would shift θ by O((ω·dt)³)) and its COM
//   velocity is made consistent (ω×r); before each step dt·ω²·r is added to the COM
//   velocity, so the joint's velocity projection yields exactly
//   θ̇' = θ̇ + (3g/(2l)·sinθ + 3/(m·l²)·u)·dt and Box2D integrates θ' = θ + θ̇'·dt.
//   If |θ̇'| > 8 the step is redone by hand: θ̇' is clipped and θ' = θ + θ̇'·dt, as Gymnasium
//   clips before integrating the angle. Sleep is disabled.
//   reward = −(angle_normalize(θ)² + 0.1·θ̇² + 0.001·u²), on the state before the step.
#include "sim/pendulum.h"

#include <cmath>
#include <cstdio>

namespace sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr int kVelocityIterations = 8;
constexpr int kPositionIterations = 0; // positions are re-seated by hand
constexpr float kRodHalfW = 0.1f; // rod width 0.2 m
// collision filtering: the rod collides with nothing (an empty mask); its fixture exists for
// drawing and for the viewer's grab (docs/environments.md §1)
constexpr uint16 kMaskNone = 0x0000;
} // namespace

PendulumEnv::PendulumEnv() {
    m_spec.id = "Pendulum-v1";
    m_spec.observation = core::Space::box({-1.0, -1.0, -kMaxSpeed}, {1.0, 1.0, kMaxSpeed});
    m_spec.action = core::Space::box({-kMaxTorque}, {kMaxTorque});
    m_spec.maxEpisodeSteps = 200;
    m_spec.rewardThreshold = -200.0; // none registered in Gymnasium; our "solved" bar
    m_spec.frameRate = 30.0;
    buildWorld();
}

double PendulumEnv::angleNormalize(double x) {
    const double twoPi = 2.0 * kPi;
    double m = std::fmod(x + kPi, twoPi);
    if (m < 0.0) m += twoPi; // floor-mod
    return m - kPi;
}

void PendulumEnv::buildWorld() {
    b2World& world = newWorld(b2Vec2(0.0f, static_cast<float>(-kGravity)));
    world.SetAllowSleeping(false);

    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    m_rod = world.CreateBody(&bd);
    b2PolygonShape shape;
    shape.SetAsBox(kRodHalfW, static_cast<float>(kLength / 2), b2Vec2(0.0f, static_cast<float>(kLength / 2)), 0.0f);
    b2FixtureDef fd;
    fd.shape = &shape;
    fd.density = 0.0f;
    fd.filter.maskBits = kMaskNone;
    m_rod->CreateFixture(&fd);
    b2MassData md;
    md.mass = static_cast<float>(kMass);
    md.center.Set(0.0f, static_cast<float>(kLength / 2));
    md.I = static_cast<float>(kMass * kLength * kLength / 3.0); // about the pivot (body origin)
    m_rod->SetMassData(&md);

    b2RevoluteJointDef rj;
    rj.bodyA = m_anchor;
    rj.bodyB = m_rod;
    rj.localAnchorA.SetZero();
    rj.localAnchorB.SetZero();
    rj.referenceAngle = 0.0f;
    world.CreateJoint(&rj);
}

PendulumEnv::State PendulumEnv::state() const {
    return {static_cast<double>(m_rod->GetAngle()), static_cast<double>(m_rod->GetAngularVelocity())};
}

void PendulumEnv::setState(const State& s) {
    m_rod->SetTransform(b2Vec2(0.0f, 0.0f), static_cast<float>(s.theta));
    const float w = static_cast<float>(s.thetaDot);
    m_rod->SetAngularVelocity(w);
    m_rod->SetLinearVelocity(b2Cross(w, m_rod->GetWorldCenter()));
}

void PendulumEnv::writeObservation(std::span<double> obs) const {
    const State s = state();
    obs[0] = std::cos(s.theta);
    obs[1] = std::sin(s.theta);
    obs[2] = s.thetaDot;
}

void PendulumEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    buildWorld();
    State s;
    s.theta = m_rng.uniform(-kPi, kPi);
    s.thetaDot = m_rng.uniform(-1.0, 1.0);
    setState(s);
    m_lastU = 0.0;
    m_stepped = false;
    writeObservation(obs);
}

core::StepResult PendulumEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    const double u = clampd(action[0], -kMaxTorque, kMaxTorque);
    const State before = state();
    const double th = angleNormalize(before.theta);
    const double cost = th * th + 0.1 * before.thetaDot * before.thetaDot + 0.001 * u * u;

    m_rod->ApplyTorque(static_cast<float>(u), true);
    // centripetal pre-correction of the COM velocity (see the header comment)
    const b2Vec2 r = m_rod->GetWorldCenter();
    const float w = m_rod->GetAngularVelocity();
    const float dt = static_cast<float>(kDt);
    m_rod->SetLinearVelocity(m_rod->GetLinearVelocity() + (dt * w * w) * r);
    m_world->Step(dt, kVelocityIterations, kPositionIterations);

    const double wNew = m_rod->GetAngularVelocity();
    if (std::abs(wNew) > kMaxSpeed) {
        const double wClip = clampd(wNew, -kMaxSpeed, kMaxSpeed);
        setState({before.theta + wClip * kDt, wClip});
    } else {
        setState({static_cast<double>(m_rod->GetAngle()), wNew}); // re-seat on the pivot
    }
    m_lastU = u;
    m_stepped = true;
    writeObservation(obs);
    core::StepResult res;
    res.reward = -cost;
    return res;
}

// the rod's tip: obs = [cos θ, sin θ, θ̇], the rod at angle θ (counter-clockwise from up)
std::optional<Vec2> PendulumEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 2) return std::nullopt;
    return Vec2{static_cast<float>(-kLength * obs[1]), static_cast<float>(kLength * obs[0])};
}

std::optional<Vec2> PendulumEnv::stateAnchor(std::span<const double> obs) const {
    if (obs.size() < 2) return std::nullopt;
    return Vec2{0.0f, 0.0f};
}

void PendulumEnv::draw(DrawList& out) const {
    out.clear();
    out.background = {255, 255, 255, 255};
    out.camera.centre = {0.0f, 0.0f};
    out.camera.width = 4.4f;
    out.camera.height = 4.4f;

    const float a = m_rod->GetAngle();
    const b2Rot q(a);
    const float len = static_cast<float>(kLength);
    const b2Vec2 local[4] = {{-kRodHalfW, 0.0f}, {kRodHalfW, 0.0f}, {kRodHalfW, len}, {-kRodHalfW, len}};
    std::vector<Vec2> rod;
    rod.reserve(4);
    for (const b2Vec2& p : local) rod.push_back(toVec(b2Mul(q, p)));
    const Color red{204, 77, 77, 255};
    out.polygon(std::move(rod), red, red, 1.f);
    out.circle({0.0f, 0.0f}, kRodHalfW, red, red, 1.f);
    out.circle(toVec(b2Mul(q, b2Vec2(0.0f, len))), kRodHalfW, red, red, 1.f);

    // torque indicator: an arc of radius |u|/4 m around the pivot with an arrow head at the
    // end the torque turns towards (counter-clockwise for u > 0)
    if (m_stepped && std::abs(m_lastU) > 1e-3) {
        const float radius = static_cast<float>(std::abs(m_lastU) / 4.0);
        const float dir = m_lastU > 0 ? 1.0f : -1.0f;
        const float start = static_cast<float>(-kPi / 2) - dir * 0.35f * static_cast<float>(kPi);
        const float sweep = dir * 1.5f * static_cast<float>(kPi);
        const int n = 24;
        std::vector<Vec2> arc;
        arc.reserve(n + 1);
        for (int i = 0; i <= n; ++i) {
            const float t = start + sweep * static_cast<float>(i) / n;
            arc.push_back({radius * std::cos(t), radius * std::sin(t)});
        }
        const Color ink{0, 0, 0, 255};
        out.polyline(arc, ink, 2.f);
        const float end = start + sweep;
        const Vec2 tip = arc.back();
        const Vec2 tangent{-std::sin(end) * dir, std::cos(end) * dir};
        const Vec2 normal{std::cos(end), std::sin(end)};
        const float h = 0.06f + 0.1f * radius;
        out.polygon({{tip.x + tangent.x * h, tip.y + tangent.y * h},
                     {tip.x + normal.x * h * 0.6f, tip.y + normal.y * h * 0.6f},
                     {tip.x - normal.x * h * 0.6f, tip.y - normal.y * h * 0.6f}},
                    ink);
    }
    out.circle({0.0f, 0.0f}, 0.05f, {0, 0, 0, 255});
    drawGrab(out);

    addEpisodeHud(out);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.2f N·m", m_lastU);
    out.hud.emplace_back("torque", buf);
    std::snprintf(buf, sizeof buf, "%.2f rad/s", static_cast<double>(m_rod->GetAngularVelocity()));
    out.hud.emplace_back("omega", buf);
}

} // namespace sim
