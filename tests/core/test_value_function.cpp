// Critics: the MLP fitted by Adam lowers its loss on a smooth target, the linear-feature
// baseline recovers a target in its feature span, normalisers track mean and variance.
#include <QtTest>

#include "core/normalizer.h"
#include "core/value_function.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

class TestValueFunction : public QObject {
    Q_OBJECT
private slots:
    // 1 for a perfect prediction, 0 for the mean, undefined (NaN) when the targets have no
    // variance to explain (a solved CartPole's returns), never a number like -800
    void explainedVarianceIsUndefinedWithoutVariance() {
        Rng rng(4);
        const VectorXd y = randomVector(500, rng);
        QCOMPARE(explainedVariance(y, y), 1.0);
        QVERIFY(std::abs(explainedVariance(VectorXd::Constant(500, y.mean()), y)) < 1e-12);
        const VectorXd flat = VectorXd::Constant(500, 99.3) + 1e-6 * randomVector(500, rng);
        QVERIFY(std::isnan(explainedVariance(flat + 1e-3 * randomVector(500, rng), flat)));
        QVERIFY(std::isnan(explainedVariance(VectorXd::Zero(500), VectorXd::Zero(500))));
        QVERIFY(std::isnan(explainedVariance(VectorXd::Zero(1), VectorXd::Ones(1))));
        // a small but real spread is still measured
        const VectorXd spread = VectorXd::Constant(500, 99.3) + 0.1 * randomVector(500, rng);
        QVERIFY(std::isfinite(explainedVariance(spread, spread + 0.01 * randomVector(500, rng))));
    }

    void mlpFitLowersTheLoss() {
        Rng rng(1);
        const MatrixXd obs = randomMatrix(3, 1024, rng);
        const Eigen::VectorXi t = Eigen::VectorXi::Zero(1024);
        VectorXd y(1024);
        for (int i = 0; i < 1024; ++i) y(i) = std::sin(obs(0, i)) + 0.5 * obs(1, i) * obs(2, i);
        TrpoConfig cfg;
        cfg.valueEpochs = 100;
        cfg.valueMinibatch = 512; // two shards per minibatch
        NetworkValueFunction vf(3, {64, 64}, Activation::Tanh, rng);
        const FitResult r = vf.fit(obs, t, y, cfg, rng);
        qInfo("loss %.4f -> %.4f, explained variance %.3f -> %.3f", r.lossBefore, r.lossAfter, r.explainedVarianceBefore, r.explainedVarianceAfter);
        QVERIFY(r.lossAfter < 0.2 * r.lossBefore);
        QCOMPARE(static_cast<int>(r.epochLosses.size()), cfg.valueEpochs);
        QVERIFY(r.epochLosses.back() < 0.5 * r.epochLosses.front());
        QVERIFY(r.epochLosses.front() <= 1.05 * r.lossBefore);
        QVERIFY(r.explainedVarianceAfter > 0.8);
        QVERIFY(r.explainedVarianceAfter > r.explainedVarianceBefore);
        // state round trip
        NetworkValueFunction other(3, {64, 64}, Activation::Tanh, rng);
        other.setState(vf.state());
        QVERIFY(other.predict(obs, t) == vf.predict(obs, t));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, other.setState(VectorXd::Zero(5)));
    }
    void linearBaselineRecoversItsFeatureSpan() {
        Rng rng(2);
        const int n = 500;
        const MatrixXd obs = randomMatrix(2, n, rng);
        Eigen::VectorXi t(n);
        VectorXd y(n);
        for (int i = 0; i < n; ++i) {
            t(i) = i % 200;
            const double s = t(i) / 100.0;
            y(i) = 1.5 * obs(0, i) - 0.3 * obs(1, i) * obs(1, i) + 2.0 * s - 0.7 * s * s * s + 4.0;
        }
        LinearFeatureBaseline b(2);
        TrpoConfig cfg;
        const FitResult r = b.fit(obs, t, y, cfg, rng);
        QVERIFY(r.explainedVarianceAfter > 0.999999);
        QVERIFY((b.predict(obs, t) - y).cwiseAbs().maxCoeff() < 1e-3);
    }
    void runningMeanStdMatchesBatchStatistics() {
        Rng rng(3);
        RunningMeanStd rms;
        rms.reset(2);
        MatrixXd all(2, 3000);
        for (int k = 0; k < 3; ++k) {
            MatrixXd x = randomMatrix(2, 1000, rng);
            x.row(0).array() = x.row(0).array() * 3.0 + 5.0;
            rms.update(x);
            all.middleCols(1000 * k, 1000) = x;
        }
        const VectorXd mean = all.rowwise().mean();
        const VectorXd var = (all.colwise() - mean).array().square().rowwise().mean();
        QVERIFY((rms.mean - mean).norm() < 1e-6);
        QVERIFY((rms.var - var).norm() < 1e-3);
        ObsNormalizer norm;
        norm.enabled = true;
        norm.clip = 2.0;
        norm.rms = rms;
        MatrixXd z = all;
        norm.normalize(z);
        QVERIFY(z.cwiseAbs().maxCoeff() <= 2.0);
        QVERIFY(std::abs(z.row(1).mean()) < 0.05);
    }
};

QTEST_APPLESS_MAIN(TestValueFunction)
#include "test_value_function.moc"
