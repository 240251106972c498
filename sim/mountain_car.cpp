// MountainCarContinuous-v0.
// Source: Gymnasium gymnasium/envs/classic_control/continuous_mountain_car.py (v1.3.0);
// max_episode_steps 999, reward_threshold 90.
//
// Constants (the map has no time unit: one env step is one update)
//   min/max action -1, 1; power 0.0015; gravity term 0.0025·cos(3p)
//   position ∈ [-1.2, 0.6], max speed 0.07, goal position 0.45, goal velocity 0
//   hill (render) h(x) = 0.45·sin(3x) + 0.55; render 600×400 px at 333.33 px/unit
//
// Model
//   This environment is not a rigid-body system: it is Gymnasium's 1-D map on a sinusoid
//   (docs/environments.md §5), implemented directly in double with the state rounded to float32
//   after every step, as Gymnasium stores it. No Box2D world is used. The viewer's grab
//   pulls the car along the track towards the target x (an extra 0.0025·clip(10·Δx, -1, 1)
//   per step, the size of the gravity term), applyImpulse adds impulse.x·0.01 to the
//   velocity; both respect the speed and position clips.
//   Step: v += clip(a,-1,1)·0.0015 - 0.0025·cos(3p), clip ±0.07; p += v, clip; the left
//   wall is inelastic; terminated when p ≥ 0.45 and v ≥ 0; reward = 100·terminated - 0.1·a²
//   with the unclipped action.
#include "sim/mountain_car.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sim {

namespace {
constexpr double kMinPosition = -1.2, kMaxPosition = 0.6, kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.45, kGoalVelocity = 0.0, kPower = 0.0015;
constexpr double kPxPerUnit = 600.0 / (kMaxPosition - kMinPosition);
} // namespace

MountainCarContinuousEnv::MountainCarContinuousEnv() {
    m_spec.id = "MountainCarContinuous-v0";
    m_spec.observation = core::Space::box({kMinPosition, -kMaxSpeed}, {kMaxPosition, kMaxSpeed});
    m_spec.action = core::Space::box({-1.0}, {1.0});
    m_spec.maxEpisodeSteps = 999;
    m_spec.rewardThreshold = 90.0;
    m_spec.frameRate = 30.0;
    m_state = {-0.5, 0.0};
}

double MountainCarContinuousEnv::hillHeight(double x) { return 0.45 * std::sin(3 * x) + 0.55; }

void MountainCarContinuousEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    m_state = {m_rng.uniform(-0.6, -0.4), 0.0};
    m_force = 0.0;
    m_held = false;
    obs[0] = m_state.position;
    obs[1] = m_state.velocity;
}

core::StepResult MountainCarContinuousEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    double position = m_state.position, velocity = m_state.velocity;
    const double force = std::min(std::max(action[0], -1.0), 1.0);
    velocity += force * kPower - 0.0025 * std::cos(3 * position);
    if (m_held) velocity += 0.0025 * clampd(10.0 * (m_targetX - position), -1.0, 1.0);
    velocity = clampd(velocity, -kMaxSpeed, kMaxSpeed);
    position = clampd(position + velocity, kMinPosition, kMaxPosition);
    if (position == kMinPosition && velocity < 0) velocity = 0;
    m_state = {static_cast<float>(position), static_cast<float>(velocity)};
    m_force = force;
    obs[0] = m_state.position;
    obs[1] = m_state.velocity;
    core::StepResult r;
    r.terminated = m_state.position >= kGoalPosition && m_state.velocity >= kGoalVelocity;
    r.reward = (r.terminated ? 100.0 : 0.0) - 0.1 * action[0] * action[0];
    return r;
}

bool MountainCarContinuousEnv::nearCar(Vec2 p) const {
    const double cx = m_state.position, cy = hillHeight(cx) + 20.0 / kPxPerUnit;
    return std::hypot(p.x - cx, p.y - cy) < 0.1;
}

bool MountainCarContinuousEnv::grab(Vec2 worldPoint) {
    m_held = nearCar(worldPoint);
    m_targetX = m_state.position;
    return m_held;
}

void MountainCarContinuousEnv::moveGrab(Vec2 worldTarget) {
    if (m_held) m_targetX = clampd(worldTarget.x, kMinPosition, kMaxPosition);
}

void MountainCarContinuousEnv::release() { m_held = false; }

bool MountainCarContinuousEnv::applyImpulse(Vec2 worldPoint, Vec2 impulse) {
    if (!nearCar(worldPoint)) return false;
    m_state.velocity = static_cast<float>(clampd(m_state.velocity + 0.01 * impulse.x, -kMaxSpeed, kMaxSpeed));
    return true;
}

// the car on the hill: obs = [position, velocity]
std::optional<Vec2> MountainCarContinuousEnv::statePoint(std::span<const double> obs) const {
    if (obs.empty()) return std::nullopt;
    const double x = std::clamp(obs[0], kMinPosition, kMaxPosition);
    return Vec2{static_cast<float>(x), static_cast<float>(hillHeight(x) + 20.0 / kPxPerUnit)};
}

void MountainCarContinuousEnv::draw(DrawList& out) const {
    out.clear();
    out.background = {255, 255, 255, 255};
    out.camera.centre = {static_cast<float>((kMinPosition + kMaxPosition) / 2), static_cast<float>(200.0 / kPxPerUnit)};
    out.camera.width = static_cast<float>(kMaxPosition - kMinPosition);
    out.camera.height = static_cast<float>(400.0 / kPxPerUnit);
    const Color black{0, 0, 0, 255};

    std::vector<Vec2> hill;
    hill.reserve(100);
    for (int i = 0; i < 100; ++i) {
        const double x = kMinPosition + (kMaxPosition - kMinPosition) * i / 99.0;
        hill.push_back({static_cast<float>(x), static_cast<float>(hillHeight(x))});
    }
    out.polyline(std::move(hill), black, 1.f);

    // car: (-20,0)..(20,20) px rotated by cos(3p) (as in the source), lifted 10 px
    const float px = static_cast<float>(1.0 / kPxPerUnit);
    const double p = m_state.position;
    const b2Rot q(static_cast<float>(std::cos(3 * p)));
    const b2Vec2 at(static_cast<float>(p), static_cast<float>(hillHeight(p)) + 10 * px);
    auto world = [&](float x, float y) { return toVec(at + b2Mul(q, b2Vec2(x * px, y * px))); };
    out.polygon({world(-20, 0), world(20, 0), world(20, 20), world(-20, 20)}, black, black, 1.f);
    const Color wheel{128, 128, 128, 255};
    out.circle(world(10, 0), 8 * px, wheel, wheel, 1.f);
    out.circle(world(-10, 0), 8 * px, wheel, wheel, 1.f);

    // flag
    const float fx = static_cast<float>(kGoalPosition);
    const float y1 = static_cast<float>(hillHeight(kGoalPosition));
    const float y2 = y1 + 50 * px;
    out.segment({fx, y1}, {fx, y2}, black, 1.f);
    const Color yellow{204, 204, 0, 255};
    out.polygon({{fx, y2}, {fx, y2 - 10 * px}, {fx + 25 * px, y2 - 5 * px}}, yellow, yellow, 1.f);
    if (m_held) out.segment(toVec(at), {static_cast<float>(m_targetX), toVec(at).y}, {0, 160, 0, 255}, 2.f);

    addEpisodeHud(out);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.2f", m_force);
    out.hud.emplace_back("force", buf);
    std::snprintf(buf, sizeof buf, "%.3f", m_state.position);
    out.hud.emplace_back("position", buf);
}

} // namespace sim
