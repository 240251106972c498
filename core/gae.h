// Generalised advantage estimation (Schulman et al. 2016, arXiv:1506.02438):
//   δ_t = r_t + γ V(s_{t+1}) (1 - terminated_t) - V(s_t),  A_t = δ_t + γλ (1 - done_t) A_{t+1}.
// A time-limit truncation is not a terminal state: it bootstraps from V of the final
// observation. The last step of a segment (a batch cut) bootstraps from V of the next one.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace core {

struct GaeInput {
    const Eigen::VectorXd& rewards;              // N
    const Eigen::VectorXd& values;               // V(s_t), N
    const std::vector<std::uint8_t>& terminated; // N
    const std::vector<std::uint8_t>& truncated;  // N
    const std::vector<std::uint8_t>& segmentEnd; // N: last step of a copy's segment (batch cut)
    const Eigen::VectorXd& bootstrap;            // N: V(final obs) where truncated or segmentEnd, else unused
    double gamma;
    double lambda;
};

// advantages (N); returns = advantages + values
Eigen::VectorXd computeGae(const GaeInput& in);

} // namespace core
