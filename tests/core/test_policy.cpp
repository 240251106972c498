// Policies: log-probability and surrogate gradients against finite differences, and the
// analytic Fisher-vector product against a finite-difference Hessian of the mean KL.
#include <QtTest>

#include "core/policy.h"
#include "core/trpo.h"
#include "support/test_util.h"
#include "support/update_problem.h"

using namespace core;
using namespace testutil;

namespace {

struct Problem {
    Policy policy;
    VectorXd theta;
    MatrixXd obs, actions;
    VectorXd adv, oldLogp;
};

// a 5-5 tanh MLP over 3 inputs, or with cnn the small CNN of smallCnnSpec() over its images
Problem makeProblem(bool discrete, int n = 12, std::uint64_t seed = 7, bool cnn = false) {
    Rng rng(seed);
    Problem p;
    const Space as = discrete ? Space::discrete(3) : Space::box({-1, -1}, {1, 1});
    p.policy = cnn ? Policy(smallCnnSpec(), as) : Policy(3, as, {5, 5}, Activation::Tanh);
    p.theta = p.policy.initialParams(rng, -0.3) + randomVector(p.policy.numParams(), rng, 0.3);
    p.obs = randomMatrix(p.policy.obsDim(), n, rng);
    p.actions.resize(p.policy.actionDim(), n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < p.policy.actionDim(); ++j)
            p.actions(j, i) = discrete ? static_cast<double>(rng.below(3)) : rng.normal();
    p.adv = randomVector(n, rng);
    p.oldLogp = randomVector(n, rng, 0.2);
    p.oldLogp.array() -= 1.0;
    return p;
}

double meanKlFrom(const Problem& p, const DistBatch& ref, const VectorXd& theta) {
    NetworkWorkspace ws;
    DistBatch d;
    p.policy.distribution(theta, p.obs, ws, d);
    return p.policy.kl(ref, d).mean();
}

} // namespace

class TestPolicy : public QObject {
    Q_OBJECT
private slots:
    void kinds_data() {
        QTest::addColumn<bool>("discrete");
        QTest::newRow("categorical") << true;
        QTest::newRow("gaussian") << false;
    }
    // the same checks through the convolution layers (ReLU, VALID padding, strides)
    void kindsAndNetworks_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<bool>("cnn");
        QTest::newRow("mlp categorical") << true << false;
        QTest::newRow("mlp gaussian") << false << false;
        QTest::newRow("cnn categorical") << true << true;
        QTest::newRow("cnn gaussian") << false << true;
    }

    void logProbGradient_data() { kindsAndNetworks_data(); }
    void logProbGradient() {
        QFETCH(bool, discrete);
        QFETCH(bool, cnn);
        Problem p = makeProblem(discrete, 12, 7, cnn);
        Rng rng(11);
        const VectorXd w = randomVector(static_cast<int>(p.adv.size()), rng);
        auto f = [&](const VectorXd& t) {
            NetworkWorkspace ws;
            DistBatch d;
            p.policy.distribution(t, p.obs, ws, d);
            return p.policy.logProb(d, p.actions).dot(w);
        };
        NetworkWorkspace ws;
        DistBatch d;
        p.policy.distribution(p.theta, p.obs, ws, d);
        VectorXd g = VectorXd::Zero(p.policy.numParams());
        p.policy.logProbGradient(p.theta, d, p.actions, w, 0.0, ws, g);
        const double err = relError(g, numericGradient(f, p.theta));
        QVERIFY2(err < 1e-7, qPrintable(QString::number(err)));
    }

    void surrogateGradient_data() { kindsAndNetworks_data(); }
    void surrogateGradient() {
        // L(θ) = mean exp(logπ - logπ_old) A + c · mean H, at a θ where the ratio is not 1
        QFETCH(bool, discrete);
        QFETCH(bool, cnn);
        Problem p = makeProblem(discrete, 12, 7, cnn);
        const double c = 0.05;
        const double n = static_cast<double>(p.adv.size());
        auto L = [&](const VectorXd& t) {
            NetworkWorkspace ws;
            DistBatch d;
            p.policy.distribution(t, p.obs, ws, d);
            const VectorXd r = (p.policy.logProb(d, p.actions) - p.oldLogp).array().exp();
            return r.dot(p.adv) / n + c * p.policy.entropy(d).mean();
        };
        NetworkWorkspace ws;
        DistBatch d;
        p.policy.distribution(p.theta, p.obs, ws, d);
        const VectorXd r = (p.policy.logProb(d, p.actions) - p.oldLogp).array().exp();
        const VectorXd w = (r.array() * p.adv.array()) / n;
        VectorXd g = VectorXd::Zero(p.policy.numParams());
        p.policy.logProbGradient(p.theta, d, p.actions, w, c, ws, g);
        const double err = relError(g, numericGradient(L, p.theta));
        QVERIFY2(err < 1e-7, qPrintable(QString::number(err)));
    }

    void fisherVectorProductMatchesKlHessian_data() { kindsAndNetworks_data(); }
    void fisherVectorProductMatchesKlHessian() {
        // (H v)_i ≈ [φ(θ+a e_i+b v) - φ(θ+a e_i-b v) - φ(θ-a e_i+b v) + φ(θ-a e_i-b v)] / 4ab
        // with φ(θ') = mean KL(π_θ || π_θ'); H is the Fisher matrix at θ. Through the CNN's ReLUs
        // too (a kink inside a step would show as a large error).
        QFETCH(bool, discrete);
        QFETCH(bool, cnn);
        Problem p = makeProblem(discrete, 16, 7, cnn);
        QCOMPARE(p.policy.net().isConv(), cnn);
        Rng rng(13);
        const VectorXd v = randomVector(p.policy.numParams(), rng);
        NetworkWorkspace ws;
        DistBatch ref;
        p.policy.distribution(p.theta, p.obs, ws, ref);
        VectorXd fv(p.policy.numParams());
        p.policy.fisherVectorProduct(p.theta, ref, v, ws, fv);

        const double a = 1e-4, b = 1e-4;
        VectorXd hv(p.policy.numParams());
        for (int i = 0; i < p.policy.numParams(); ++i) {
            VectorXd e = VectorXd::Zero(p.policy.numParams());
            e(i) = a;
            const double fpp = meanKlFrom(p, ref, p.theta + e + b * v);
            const double fpm = meanKlFrom(p, ref, p.theta + e - b * v);
            const double fmp = meanKlFrom(p, ref, p.theta - e + b * v);
            const double fmm = meanKlFrom(p, ref, p.theta - e - b * v);
            hv(i) = (fpp - fpm - fmp + fmm) / (4 * a * b);
        }
        const double err = relError(fv, hv);
        QVERIFY2(err < 1e-5, qPrintable(QString::number(err)));
        // the Fisher matrix is positive semi-definite
        QVERIFY(v.dot(fv) > 0);
    }

    void klIsZeroAtSameParameters_data() { kinds_data(); }
    void klIsZeroAtSameParameters() {
        QFETCH(bool, discrete);
        Problem p = makeProblem(discrete);
        NetworkWorkspace ws;
        DistBatch d;
        p.policy.distribution(p.theta, p.obs, ws, d);
        QVERIFY(p.policy.kl(d, d).cwiseAbs().maxCoeff() < 1e-15);
    }

    void samplingMatchesProbabilities() {
        // categorical sampling frequencies follow softmax(logits)
        Problem p = makeProblem(true, 1);
        NetworkWorkspace ws;
        DistBatch d;
        p.policy.distribution(p.theta, p.obs, ws, d);
        Rng rng(99);
        std::vector<int> counts(3, 0);
        const int n = 200000;
        double a = 0;
        for (int i = 0; i < n; ++i) {
            p.policy.sample(d, 0, rng, false, &a);
            counts[static_cast<int>(a)]++;
        }
        for (int k = 0; k < 3; ++k) QVERIFY(std::abs(counts[k] / double(n) - d.p(k, 0)) < 0.005);
    }
};

QTEST_APPLESS_MAIN(TestPolicy)
#include "test_policy.moc"
