// Running mean/variance (Chan et al. parallel update) and the observation and reward
// normalisers built on it (VecNormalize-style: clip 10 by default, epsilon 1e-8).
#pragma once

#include <Eigen/Dense>

namespace core {

struct RunningMeanStd {
    Eigen::VectorXd mean; // dim
    Eigen::VectorXd var;  // dim
    double count = 1e-4;

    void reset(int dim) {
        mean = Eigen::VectorXd::Zero(dim);
        var = Eigen::VectorXd::Ones(dim);
        count = 1e-4;
    }
    // x: dim x N (one sample per column)
    void update(const Eigen::Ref<const Eigen::MatrixXd>& x);
};

struct ObsNormalizer {
    bool enabled = false;
    double clip = 10.0;
    RunningMeanStd rms;

    // in place on dim x N; a no-op when disabled
    void normalize(Eigen::Ref<Eigen::MatrixXd> x) const {
        if (!enabled) return;
        const Eigen::ArrayXd invStd = (rms.var.array() + 1e-8).rsqrt();
        x.array().colwise() -= rms.mean.array();
        x.array().colwise() *= invStd;
        x = x.cwiseMax(-clip).cwiseMin(clip);
    }
};

// scales rewards by the running std of the discounted return of each environment copy
struct RewardScaler {
    bool enabled = false;
    double clip = 10.0;
    RunningMeanStd rms; // 1-d

    double scale(double r) const {
        if (!enabled) return r;
        const double s = r / std::sqrt(rms.var(0) + 1e-8);
        return s < -clip ? -clip : (s > clip ? clip : s);
    }
};

} // namespace core
