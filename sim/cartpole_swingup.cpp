// CartPoleSwingUp-v0: a TRPO Studio task, not a Gymnasium registration. It reuses
// CartPole-v1's Box2D model (cartpole.cpp: 1 kg cart on a frictionless prismatic joint,
// 0.1 kg 1 m uniform pole, 0.02 s steps, semi-implicit Euler of Gymnasium's equations).
//
// Constants
//   force = clip(a, -1, 1) · 10 N (force_mag of CartPole)
//   track limit |x| > 2.4 m terminates; time limit 500 steps (10 s); 50 fps
//   initial state: θ = π + U(-0.05, 0.05) (hanging down), x, ẋ, θ̇ ~ U(-0.05, 0.05)
//   observation [x, ẋ, cos θ, sin θ, θ̇] (θ = 0 upright, + leans to +x; not wrapped)
//   reward = (1 + cos θ)/2 · (1 - (x/2.4)²), in [0, 1], on the new state; 0 on the
//   terminating step (leaving the track forfeits the rest of the episode's reward)
//   "solved" bar: return ≥ 350 (a swing-up within ~1.5 s then balancing near the centre
//   earns about 400-450; our choice, not a published threshold)
#include "sim/cartpole_swingup.h"

#include <cmath>
#include <limits>

namespace sim {

namespace {
constexpr double kPi = 3.14159265358979323846;
const double kInf = std::numeric_limits<double>::infinity();

core::EnvSpec swingUpSpec() {
    core::EnvSpec spec;
    spec.id = "CartPoleSwingUp-v0";
    const double x = 2 * CartPoleEnv::kXThreshold;
    spec.observation = core::Space::box({-x, -kInf, -1.0, -1.0, -kInf}, {x, kInf, 1.0, 1.0, kInf});
    spec.action = core::Space::box({-1.0}, {1.0});
    spec.maxEpisodeSteps = 500;
    spec.rewardThreshold = 350.0;
    spec.frameRate = 50.0;
    return spec;
}
} // namespace

CartPoleSwingUpEnv::CartPoleSwingUpEnv() : CartPoleEnv(swingUpSpec()) {}

std::optional<Vec2> CartPoleSwingUpEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() < 4) return std::nullopt;
    const double len = 2 * kHalfLength;
    return Vec2{static_cast<float>(obs[0] + len * obs[3]), static_cast<float>(kAxleOffset + len * obs[2])};
}

double CartPoleSwingUpEnv::rewardFor(double x, double theta) {
    const double centred = 1.0 - (x / kXThreshold) * (x / kXThreshold);
    return 0.5 * (1.0 + std::cos(theta)) * std::max(0.0, centred);
}

void CartPoleSwingUpEnv::writeSwingUpObservation(std::span<double> obs) const {
    const State s = state();
    obs[0] = s.x;
    obs[1] = s.xDot;
    obs[2] = std::cos(s.theta);
    obs[3] = std::sin(s.theta);
    obs[4] = s.thetaDot;
}

void CartPoleSwingUpEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    buildWorld();
    State s;
    s.x = m_rng.uniform(-0.05, 0.05);
    s.xDot = m_rng.uniform(-0.05, 0.05);
    s.theta = kPi + m_rng.uniform(-0.05, 0.05);
    s.thetaDot = m_rng.uniform(-0.05, 0.05);
    setState(s);
    m_done = false;
    m_force = 0.0;
    writeSwingUpObservation(obs);
}

core::StepResult CartPoleSwingUpEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    advance(clampd(action[0], -1.0, 1.0) * kForceMag);
    writeSwingUpObservation(obs);
    const State s = state();
    core::StepResult r;
    r.terminated = s.x < -kXThreshold || s.x > kXThreshold;
    r.reward = (r.terminated || m_done) ? 0.0 : rewardFor(s.x, s.theta);
    m_done = m_done || r.terminated;
    return r;
}

} // namespace sim
