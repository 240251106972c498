// Gymnasium's hand-written controllers, ported (facts from Gymnasium's lunar_lander.py and
// bipedal_walker.py, v1.0.0). See heuristics.h.
#include "sim/heuristics.h"

#include <algorithm>
#include <cmath>

namespace sim {

namespace {
double clip1(double x) {
    return std::clamp(x, -1.0, 1.0);
}
}  // namespace

// LunarLander. obs: x, y, vx, vy, angle, angular speed (all scaled), leg contacts
void lunarLanderHeuristic(std::span<const double> s, bool continuous, std::span<double> action) {
    // the angle should point towards the centre, but never more than 0.4 rad (22°)
    double angleTarg = s[0] * 0.5 + s[2] * 1.0;
    if (angleTarg > 0.4) angleTarg = 0.4;
    if (angleTarg < -0.4) angleTarg = -0.4;
    // the target height is proportional to the horizontal offset
    const double hoverTarg = 0.55 * std::abs(s[0]);

    double angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
    double hoverTodo = (hoverTarg - s[1]) * 0.5 - s[3] * 0.5;
    const bool contact = s[6] != 0.0 || s[7] != 0.0;
    if (contact) {
        // after touchdown only the fall speed matters
        angleTodo = 0.0;
        hoverTodo = -s[3] * 0.5;
    }

    if (continuous) {
        action[0] = clip1(hoverTodo * 20.0 - 1.0);
        action[1] = contact ? 0.0 : clip1(-angleTodo * 20.0);
        return;
    }
    // 0 noop, 1 left engine (turns right), 2 main engine, 3 right engine
    int a = 0;
    if (hoverTodo > std::abs(angleTodo) && hoverTodo > 0.05)
        a = 2;
    else if (angleTodo < -0.05)
        a = 3;
    else if (angleTodo > 0.05)
        a = 1;
    action[0] = a;
}

void BipedalWalkerHeuristic::reset() {
    m_state = State::StayOnOneLeg;
    m_movingLeg = 0;
    m_supportingLeg = 1;
    m_supportingKneeAngle = kSupportKneeAngle;
    m_kneeAngleIsFloat32 = false;
    m_started = false;
}

void BipedalWalkerHeuristic::act(std::span<const double> obs, std::span<double> action) {
    if (!m_started) {
        m_started = true;
        std::fill(action.begin(), action.begin() + 4, 0.0);
        return;
    }
    stepHeuristic(obs, action);
}

// obs per leg k (base 4 + 5k): hip angle, hip speed, knee angle + 1, knee speed, contact;
// obs[0..3]: hull angle, angular speed, vx, vy
void BipedalWalkerHeuristic::stepHeuristic(std::span<const double> s, std::span<double> action) {
    const std::size_t movingBase = static_cast<std::size_t>(4 + 5 * m_movingLeg);
    const std::size_t supportingBase = static_cast<std::size_t>(4 + 5 * m_supportingLeg);

    // a target that is unset or exactly 0 drives nothing (Python's `if target:`)
    struct Target {
        bool set = false;
        double value = 0.0;
        bool float32 = false;
        bool active() const { return set && value != 0.0; }
    };
    Target hipTarg[2], kneeTarg[2];  // hips -0.8 .. 1.1, knees -0.6 .. 0.9 (obs units)
    const auto support = [this] { return Target{true, m_supportingKneeAngle, m_kneeAngleIsFloat32}; };
    const auto moving = static_cast<std::size_t>(m_movingLeg);
    const auto supporting = static_cast<std::size_t>(m_supportingLeg);

    if (m_state == State::StayOnOneLeg) {
        hipTarg[moving] = {true, 1.1};
        kneeTarg[moving] = {true, -0.6};
        m_supportingKneeAngle += 0.03;
        if (s[2] > kSpeed) m_supportingKneeAngle += 0.03;
        m_supportingKneeAngle = std::min(m_supportingKneeAngle, kSupportKneeAngle);
        m_kneeAngleIsFloat32 = false;
        kneeTarg[supporting] = support();
        if (s[supportingBase + 0] < 0.10) m_state = State::PutOtherDown;  // supporting leg is behind
    }
    if (m_state == State::PutOtherDown) {
        hipTarg[moving] = {true, 0.1};
        kneeTarg[moving] = {true, kSupportKneeAngle};
        kneeTarg[supporting] = support();
        if (s[movingBase + 4] != 0.0) {
            m_state = State::PushOff;
            const double knee = s[movingBase + 2];
            m_kneeAngleIsFloat32 = knee < kSupportKneeAngle;
            m_supportingKneeAngle = std::min(knee, kSupportKneeAngle);
        }
    }
    if (m_state == State::PushOff) {
        kneeTarg[moving] = support();
        kneeTarg[supporting] = {true, 1.0};
        if (s[supportingBase + 2] > 0.88 || s[2] > 1.2 * kSpeed) {
            m_state = State::StayOnOneLeg;
            m_movingLeg = 1 - m_movingLeg;
            m_supportingLeg = 1 - m_movingLeg;
        }
    }

    // PD towards the targets
    double hipTodo[2] = {0.0, 0.0}, kneeTodo[2] = {0.0, 0.0};
    const std::size_t hipObs[2] = {4, 9}, kneeObs[2] = {6, 11};
    for (std::size_t k = 0; k < 2; ++k) {
        if (hipTarg[k].active())
            hipTodo[k] = 0.9 * (hipTarg[k].value - s[hipObs[k]]) - 0.25 * s[hipObs[k] + 1];
        if (kneeTarg[k].active()) {
            const double error = kneeTarg[k].float32
                                     ? static_cast<double>(static_cast<float>(kneeTarg[k].value) -
                                                           static_cast<float>(s[kneeObs[k]]))
                                     : kneeTarg[k].value - s[kneeObs[k]];
            kneeTodo[k] = 4.0 * error - 0.25 * s[kneeObs[k] + 1];
        }
    }
    // keep the head straight; damp vertical oscillations
    for (std::size_t k = 0; k < 2; ++k) {
        hipTodo[k] -= 0.9 * (0.0 - s[0]) - 1.5 * s[1];
        kneeTodo[k] -= 15.0 * s[3];
    }

    action[0] = clip1(0.5 * hipTodo[0]);
    action[1] = clip1(0.5 * kneeTodo[0]);
    action[2] = clip1(0.5 * hipTodo[1]);
    action[3] = clip1(0.5 * kneeTodo[1]);
}

std::unique_ptr<Controller> makeHeuristic(const std::string& envId) {
    if (envId == "LunarLander-v3" || envId == "LunarLanderWind-v3") return std::make_unique<LunarLanderHeuristic>(false);
    if (envId == "LunarLanderContinuous-v3" || envId == "LunarLanderContinuousWind-v3")
        return std::make_unique<LunarLanderHeuristic>(true);
    if (envId == "BipedalWalker-v3" || envId == "BipedalWalkerHardcore-v3")
        return std::make_unique<BipedalWalkerHeuristic>();
    return nullptr;
}

}  // namespace sim
