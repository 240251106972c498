#include "core/gae.h"

namespace core {

Eigen::VectorXd computeGae(const GaeInput& in) {
    const Eigen::Index n = in.rewards.size();
    Eigen::VectorXd adv(n);
    double next = 0.0;
    for (Eigen::Index t = n - 1; t >= 0; --t) {
        double nextValue, nextAdv;
        if (in.terminated[t]) {
            nextValue = 0.0;
            nextAdv = 0.0;
        } else if (in.truncated[t] || in.segmentEnd[t]) {
            nextValue = in.bootstrap(t);
            nextAdv = 0.0;
        } else {
            nextValue = in.values(t + 1);
            nextAdv = next;
        }
        const double delta = in.rewards(t) + in.gamma * nextValue - in.values(t);
        next = delta + in.gamma * in.lambda * nextAdv;
        adv(t) = next;
    }
    return adv;
}

} // namespace core
