// Hand-written controllers: Gymnasium's heuristics for LunarLander and BipedalWalker, as a
// baseline a class can compare with a learned policy. Facts from Gymnasium's
// lunar_lander.py (`heuristic(env, s)`) and bipedal_walker.py (`BipedalWalkerHeuristics`).
// The README's "LunarLander and BipedalWalker against the real Gymnasium" gives their
// measured returns on this port.
//
// Both are deterministic functions of the observations they have seen. Gymnasium runs them
// on float32 observations with float64 arithmetic; these take the observation as doubles
// and compute in double, so fed Gymnasium's float32 observations they return Gymnasium's
// actions exactly (tests/sim/test_gym_golden.cpp checks this on every golden step).
#pragma once

#include <memory>
#include <span>
#include <string>

namespace sim {

// A controller that maps observations to actions, one step at a time. act() writes
// spec().action.dim() doubles (a discrete action as its index). Not thread-safe; one per
// episode stream.
class Controller {
public:
    virtual ~Controller() = default;
    // forgets the previous episode (call before the first act() of an episode)
    virtual void reset() = 0;
    virtual void act(std::span<const double> obs, std::span<double> action) = 0;
};

// LunarLander's heuristic: steer the angle towards the pad, hover at a height proportional
// to the horizontal offset; once a leg touches, only damp the vertical speed. Stateless.
//   obs: 8 values, action: 1 (discrete index 0..3) or 2 (continuous, each in [-1, 1])
void lunarLanderHeuristic(std::span<const double> obs, bool continuous, std::span<double> action);

class LunarLanderHeuristic : public Controller {
public:
    explicit LunarLanderHeuristic(bool continuous) : m_continuous(continuous) {}
    void reset() override {}
    void act(std::span<const double> obs, std::span<double> action) override {
        lunarLanderHeuristic(obs, m_continuous, action);
    }

private:
    bool m_continuous;
};

// BipedalWalker's heuristic: a three-state gait (stand on one leg and swing the other
// forward, put it down, push off), with PD targets for hips and knees, a hull-angle term
// on the hips and vertical-speed damping on the knees. No notion of balance, so it falls
// on rough ground. obs: 24 values, action: 4 values in [-1, 1].
//
// Gymnasium's demo loop sends [0, 0, 0, 0] as the first action of an episode and asks the
// heuristic from the second step on, with the observation the first step returned; act()
// does the same: its first call after reset() returns zeros without looking at `obs`.
class BipedalWalkerHeuristic : public Controller {
public:
    void reset() override;
    void act(std::span<const double> obs, std::span<double> action) override;
    // one step of Gymnasium's step_heuristic(s), without the zero first action
    void stepHeuristic(std::span<const double> obs, std::span<double> action);

    enum class State { StayOnOneLeg = 1, PutOtherDown = 2, PushOff = 3 };
    State state() const { return m_state; }
    int movingLeg() const { return m_movingLeg; }

private:
    static constexpr double kSpeed = 0.29;  // hull obs[2] above which it hurries (falls forward beyond)
    static constexpr double kSupportKneeAngle = 0.1;  // obs units (knee angle + 1)

    State m_state = State::StayOnOneLeg;
    int m_movingLeg = 0;
    int m_supportingLeg = 1;
    double m_supportingKneeAngle = kSupportKneeAngle;
    // Gymnasium takes the knee target straight from a float32 observation on push-off and
    // then subtracts float32 from float32 (rounded to float32) until the next increment
    bool m_kneeAngleIsFloat32 = false;
    bool m_started = false;
};

// Gymnasium's heuristic for `envId` (LunarLander-v3, LunarLanderContinuous-v3, their Wind variants,
// BipedalWalker-v3, BipedalWalkerHardcore-v3), reset; nullptr for any other id
std::unique_ptr<Controller> makeHeuristic(const std::string& envId);

}  // namespace sim
