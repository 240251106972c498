// CartPoleSwingUp-v0 (our own task): CartPole's Box2D bodies, pole starting down,
// continuous force. See cartpole_swingup.cpp.
#pragma once

#include "sim/cartpole.h"

namespace sim {

class CartPoleSwingUpEnv : public CartPoleEnv {
public:
    CartPoleSwingUpEnv();
    // reward for a state: pole up and cart centred, in [0, 1]
    static double rewardFor(double x, double theta);
    // the pole's tip, from obs = [x, ẋ, cos θ, sin θ, θ̇]
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    void writeSwingUpObservation(std::span<double> obs) const;
};

} // namespace sim
