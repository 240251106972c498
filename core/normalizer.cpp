#include "core/normalizer.h"

namespace core {

void RunningMeanStd::update(const Eigen::Ref<const Eigen::MatrixXd>& x) {
    const double n = static_cast<double>(x.cols());
    if (n == 0) return;
    const Eigen::VectorXd bMean = x.rowwise().mean();
    const Eigen::VectorXd bVar = (x.colwise() - bMean).array().square().rowwise().mean();
    const Eigen::VectorXd d = bMean - mean;
    const double tot = count + n;
    mean += d * (n / tot);
    const Eigen::VectorXd m2 = var * count + bVar * n + d.array().square().matrix() * (count * n / tot);
    var = m2 / tot;
    count = tot;
}

} // namespace core
