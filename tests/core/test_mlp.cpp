// Finite-difference checks of the MLP: reverse mode (backward) and forward mode (jvp).
#include <QtTest>

#include "core/mlp.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

class TestMlp : public QObject {
    Q_OBJECT
private slots:
    void backpropMatchesFiniteDifferences_data() {
        QTest::addColumn<int>("act");
        QTest::newRow("tanh") << int(Activation::Tanh);
        QTest::newRow("relu") << int(Activation::Relu);
    }
    void backpropMatchesFiniteDifferences() {
        QFETCH(int, act);
        Rng rng(3);
        Mlp net({4, 7, 5, 3}, Activation(act));
        VectorXd theta(net.numParams());
        net.initialize(theta, 1.0, rng);
        theta += randomVector(net.numParams(), rng, 0.1); // non-zero biases
        const MatrixXd x = randomMatrix(4, 6, rng);
        const MatrixXd c = randomMatrix(3, 6, rng); // loss = sum(c ⊙ out)
        MlpWorkspace ws;
        auto loss = [&](const VectorXd& t) {
            MlpWorkspace w;
            return (net.forward(t, x, w).array() * c.array()).sum();
        };
        net.forward(theta, x, ws);
        VectorXd g = VectorXd::Zero(net.numParams());
        net.backward(theta, c, ws, g);
        const VectorXd gfd = numericGradient(loss, theta);
        QVERIFY2(relError(g, gfd) < 1e-7, qPrintable(QString::number(relError(g, gfd))));
    }
    void jvpMatchesFiniteDifferences() {
        Rng rng(5);
        Mlp net({3, 8, 8, 2}, Activation::Tanh);
        VectorXd theta(net.numParams());
        net.initialize(theta, 1.0, rng);
        const MatrixXd x = randomMatrix(3, 5, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        MlpWorkspace ws;
        net.forward(theta, x, ws);
        const MatrixXd jv = net.jvp(theta, v, ws);
        const double h = 1e-6;
        MlpWorkspace w1, w2;
        const MatrixXd fp = net.forward(theta + h * v, x, w1);
        const MatrixXd fm = net.forward(theta - h * v, x, w2);
        const MatrixXd fd = (fp - fm) / (2 * h);
        QVERIFY((jv - fd).norm() / fd.norm() < 1e-8);
    }
    void floatNetworkAgreesWithDouble() {
        // the critic runs in float: same layout, same maths, float rounding only
        Rng rng(8);
        Mlp net({4, 64, 64, 1}, Activation::Tanh);
        MlpFloat netF({4, 64, 64, 1}, Activation::Tanh);
        VectorXd theta(net.numParams());
        net.initialize(theta, 1.0, rng);
        const MatrixXd x = randomMatrix(4, 300, rng);
        const MatrixXd c = randomMatrix(1, 300, rng);
        MlpWorkspace ws;
        MlpFloat::Workspace wsF;
        const MatrixXd out = net.forward(theta, x, ws);
        const Eigen::MatrixXf outF = netF.forward(theta.cast<float>(), x.cast<float>(), wsF);
        QVERIFY((out - outF.cast<double>()).norm() / out.norm() < 1e-5);
        VectorXd g = VectorXd::Zero(net.numParams());
        Eigen::VectorXf gF = Eigen::VectorXf::Zero(net.numParams());
        net.backward(theta, c, ws, g);
        netF.backward(theta.cast<float>(), c.cast<float>(), wsF, gF);
        QVERIFY(relError(g, gF.cast<double>()) < 1e-5);
    }
    void fastTanhIsAccurate() {
        MatrixXd x(1, 2001);
        for (int i = 0; i < 2001; ++i) x(0, i) = -50.0 + 0.05 * i;
        MatrixXd y = x;
        fastTanhInPlace(y);
        for (int i = 0; i < 2001; ++i) QVERIFY(std::abs(y(0, i) - std::tanh(x(0, i))) < 1e-15);
    }
    void initializationIsOrthogonal() {
        Rng rng(1);
        Mlp net({4, 16, 2}, Activation::Tanh);
        VectorXd theta(net.numParams());
        net.initialize(theta, 1.0, rng);
        Eigen::Map<const MatrixXd> W0(theta.data() + net.weightOffset(0), 16, 4);
        // columns orthogonal with norm sqrt(2)
        const MatrixXd g = W0.transpose() * W0;
        QVERIFY((g - 2.0 * MatrixXd::Identity(4, 4)).norm() < 1e-10);
    }
};

QTEST_APPLESS_MAIN(TestMlp)
#include "test_mlp.moc"
