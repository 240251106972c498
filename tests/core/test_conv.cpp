// The convolutional network (core/conv.h): shapes and parameter layout, forward against a
// direct sum over the kernel, backward and jvp against finite differences, their adjoint
// identity, blocks of samples, and float against double.
#include <QtTest>

#include "core/conv.h"
#include "core/rng.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

namespace {

// the convolution written from its definition, one output value at a time, for one sample
MatrixXd directForward(const ConvNet& net, const VectorXd& theta, const MatrixXd& input) {
    MatrixXd out(net.outputs(), input.cols());
    for (int n = 0; n < input.cols(); ++n) {
        VectorXd a = input.col(n);
        for (int l = 0; l < net.numConvLayers(); ++l) {
            const ImageShape in = net.shape(l), o = net.shape(l + 1);
            const ConvLayerSpec spec = net.convLayers()[l];
            const int k = spec.kernel;
            VectorXd next(o.size());
            for (int f = 0; f < o.channels; ++f)
                for (int y = 0; y < o.height; ++y)
                    for (int x = 0; x < o.width; ++x) {
                        double z = theta(net.biasOffset(l) + f);
                        for (int c = 0; c < in.channels; ++c)
                            for (int i = 0; i < k; ++i)
                                for (int j = 0; j < k; ++j) {
                                    const double w = theta(net.kernelOffset(l) + f + o.channels * ((c * k + i) * k + j));
                                    z += w * a((c * in.height + spec.stride * y + i) * in.width + spec.stride * x + j);
                                }
                        next((f * o.height + y) * o.width + x) = std::max(0.0, z);
                    }
            a = next;
        }
        MlpWorkspace hw;
        out.col(n) = net.head().forward(theta.segment(net.headOffset(), net.head().numParams()), a, hw);
    }
    return out;
}

// a small network with two layers, an uneven stride and a non-square image
ConvNet smallNet(Activation headAct = Activation::Tanh) {
    return ConvNet({2, 9, 8}, {{3, 3, 2}, {4, 2, 1}}, {5, 3}, headAct);
}

VectorXd randomTheta(const ConvNet& net, Rng& rng) {
    VectorXd theta(net.numParams());
    net.initialize(theta, 1.0, rng);
    return theta + randomVector(net.numParams(), rng, 0.1); // non-zero biases
}

} // namespace

class TestConv : public QObject {
    Q_OBJECT
private slots:
    // garage's trpo_cubecrash network on CubeCrash's 3×40×32 image
    void shapesAndLayout() {
        ConvNet net({3, 40, 32}, {{32, 8, 4}, {64, 4, 2}}, {32, 32, 3}, Activation::Relu);
        QCOMPARE(net.shape(1).channels, 32);
        QCOMPARE(net.shape(1).height, 9); // (40 − 8)/4 + 1
        QCOMPARE(net.shape(1).width, 7);  // (32 − 8)/4 + 1
        QCOMPARE(net.shape(2).height, 3); // (9 − 4)/2 + 1
        QCOMPARE(net.shape(2).width, 2);  // (7 − 4)/2 + 1
        QCOMPARE(net.shape(2).size(), 64 * 3 * 2);
        QCOMPARE(net.inputs(), 3840);
        QCOMPARE(net.outputs(), 3);
        QCOMPARE(net.kernelOffset(0), 0);
        QCOMPARE(net.biasOffset(0), 32 * 3 * 8 * 8);
        QCOMPARE(net.kernelOffset(1), 32 * 192 + 32);
        QCOMPARE(net.headOffset(), 32 * 192 + 32 + 64 * 32 * 16 + 64);
        QCOMPARE(net.numParams(), net.headOffset() + (384 * 32 + 32) + (32 * 32 + 32) + (32 * 3 + 3));
        QCOMPARE(QString::fromStdString(net.describe()), QString("conv 32x8x8/4, 64x4x4/2, head 32-32-3"));

        Rng rng(1);
        VectorXd theta(net.numParams());
        net.initialize(theta, 0.01, rng);
        // orthogonal kernels with gain √2: the 32 rows of the first layer's 32 × 192 matrix
        const MatrixXd K = Eigen::Map<const MatrixXd>(theta.data(), 32, 192);
        QVERIFY((K * K.transpose() - 2.0 * MatrixXd::Identity(32, 32)).norm() < 1e-10);
        QCOMPARE(theta.segment(net.biasOffset(0), 32).norm(), 0.0);
        ConvNetWorkspace ws;
        const MatrixXd out = net.forward(theta, MatrixXd::Random(3840, 5).cwiseAbs(), ws);
        QCOMPARE(out.rows(), 3);
        QCOMPARE(out.cols(), 5);
        QVERIFY(out.allFinite());

        // what cannot be built is refused with the layer named
        auto message = [](auto&& make) {
            try {
                make();
            } catch (const std::invalid_argument& e) {
                return QString(e.what());
            }
            return QString();
        };
        QVERIFY(message([] { (void)ConvNet({3, 40, 32}, {{32, 8, 4}, {64, 4, 2}, {8, 4, 1}}, {3}, Activation::Relu); })
                    .contains("conv layer 3: a 4x4 kernel does not fit its 64x3x2 input"));
        QVERIFY(message([] { (void)ConvNet({3, 40, 32}, {{0, 8, 4}}, {3}, Activation::Relu); }).contains("conv layer 1"));
        QVERIFY(message([] { (void)ConvNet({3, 40, 32}, {{8, 3, 0}}, {3}, Activation::Relu); }).contains("positive"));
        QVERIFY(message([] { (void)ConvNet({0, 40, 32}, {}, {3}, Activation::Relu); }).contains("input image"));
        // no head: a trunk (network = cnn_gru's), which has features but no forward()
        const ConvNet trunk({3, 4, 4}, {{2, 3, 1}}, {}, Activation::Relu);
        QCOMPARE(trunk.features(), 8);
        QCOMPARE(trunk.outputs(), 8);
        QCOMPARE(trunk.numParams(), 2 * 27 + 2);
        QVERIFY(message([&] {
                    ConvNetWorkspace ws;
                    const VectorXd theta = VectorXd::Zero(trunk.numParams());
                    (void)trunk.forward(theta, MatrixXd::Zero(48, 1), ws);
                }).contains("no head"));
    }

    void forwardIsTheConvolution() {
        Rng rng(2);
        for (Activation act : {Activation::Tanh, Activation::Relu}) {
            const ConvNet net = smallNet(act);
            const VectorXd theta = randomTheta(net, rng);
            const MatrixXd x = randomMatrix(net.inputs(), 4, rng);
            ConvNetWorkspace ws;
            const MatrixXd out = net.forward(theta, x, ws);
            const MatrixXd ref = directForward(net, theta, x);
            QVERIFY2((out - ref).norm() <= 1e-12 * ref.norm(), qPrintable(QString::number((out - ref).norm())));
        }
    }

    void backpropMatchesFiniteDifferences_data() {
        QTest::addColumn<int>("act");
        QTest::newRow("tanh head") << int(Activation::Tanh);
        QTest::newRow("relu head") << int(Activation::Relu);
    }
    void backpropMatchesFiniteDifferences() {
        QFETCH(int, act);
        Rng rng(3);
        const ConvNet net = smallNet(Activation(act));
        const VectorXd theta = randomTheta(net, rng);
        const MatrixXd x = randomMatrix(net.inputs(), 6, rng);
        const MatrixXd c = randomMatrix(net.outputs(), 6, rng); // loss = sum(c ⊙ out)
        auto loss = [&](const VectorXd& t) {
            ConvNetWorkspace w;
            return (net.forward(t, x, w).array() * c.array()).sum();
        };
        ConvNetWorkspace ws;
        net.forward(theta, x, ws);
        VectorXd g = VectorXd::Zero(net.numParams());
        net.backward(theta, c, ws, g);
        const VectorXd gfd = numericGradient(loss, theta);
        QVERIFY2(relError(g, gfd) < 1e-7, qPrintable(QString::number(relError(g, gfd))));
        // every part of θ gets a gradient (kernels and biases of both layers, the head)
        QVERIFY(g.segment(net.kernelOffset(0), net.biasOffset(0)).norm() > 0);
        QVERIFY(g.segment(net.kernelOffset(1), net.biasOffset(1) - net.kernelOffset(1)).norm() > 0);
        QVERIFY(g.segment(net.biasOffset(0), 3).norm() > 0);
    }

    void jvpMatchesFiniteDifferences() {
        Rng rng(5);
        const ConvNet net = smallNet();
        const VectorXd theta = randomTheta(net, rng);
        const MatrixXd x = randomMatrix(net.inputs(), 5, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        ConvNetWorkspace ws;
        net.forward(theta, x, ws);
        const MatrixXd jv = net.jvp(theta, v, ws);
        const double h = 1e-6;
        ConvNetWorkspace w1, w2;
        const MatrixXd fp = net.forward(theta + h * v, x, w1);
        const MatrixXd fm = net.forward(theta - h * v, x, w2);
        const MatrixXd fd = (fp - fm) / (2 * h);
        QVERIFY2((jv - fd).norm() / fd.norm() < 1e-8, qPrintable(QString::number((jv - fd).norm() / fd.norm())));
    }

    // uᵀ(J v) = (Jᵀ u)ᵀ v: forward and reverse mode are the same Jacobian
    void jvpAndBackwardAreAdjoint() {
        Rng rng(6);
        const ConvNet net = smallNet(Activation::Relu);
        const VectorXd theta = randomTheta(net, rng);
        const MatrixXd x = randomMatrix(net.inputs(), 7, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        const MatrixXd u = randomMatrix(net.outputs(), 7, rng);
        ConvNetWorkspace ws;
        net.forward(theta, x, ws);
        const double lhs = (u.array() * net.jvp(theta, v, ws).array()).sum();
        VectorXd jtu = VectorXd::Zero(net.numParams());
        net.backward(theta, u, ws, jtu);
        QVERIFY2(std::abs(lhs - jtu.dot(v)) < 1e-10 * std::abs(lhs), qPrintable(QString("%1 vs %2").arg(lhs).arg(jtu.dot(v))));
    }

    // a batch is cut into blocks of samples for im2col (43 samples on this network); the
    // results do not depend on where the cuts fall
    void blocksOfSamples() {
        Rng rng(7);
        ConvNet net({3, 40, 32}, {{32, 8, 4}, {64, 4, 2}}, {32, 3}, Activation::Relu);
        const VectorXd theta = randomTheta(net, rng);
        const int n = 100;
        const MatrixXd x = randomMatrix(net.inputs(), n, rng).cwiseAbs();
        const MatrixXd c = randomMatrix(3, n, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        ConvNetWorkspace ws;
        const MatrixXd out = net.forward(theta, x, ws);
        const MatrixXd jv = net.jvp(theta, v, ws);
        VectorXd g = VectorXd::Zero(net.numParams());
        net.backward(theta, c, ws, g);
        VectorXd gSum = VectorXd::Zero(net.numParams());
        for (int i = 0; i < n; ++i) {
            ConvNetWorkspace w;
            const MatrixXd o = net.forward(theta, x.col(i), w);
            QVERIFY((o - out.col(i)).norm() <= 1e-12 * (1 + o.norm()));
            const MatrixXd j = net.jvp(theta, v, w);
            QVERIFY((j - jv.col(i)).norm() <= 1e-12 * (1 + j.norm()));
            net.backward(theta, c.col(i), w, gSum);
        }
        QVERIFY2(relError(g, gSum) < 1e-12, qPrintable(QString::number(relError(g, gSum))));
    }

    // A categorical policy over the network (logits = output): the exact Gauss-Newton
    // Fisher-vector product F v = (1/N) Σ J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i v, from one jvp and
    // one backward, equals the Hessian of φ(θ') = mean KL(π_θ‖π_θ') at θ' = θ by finite
    // differences of φ alone, (H v)_i ≈ [φ(θ+a e_i+b v) − φ(θ+a e_i−b v) − φ(θ−a e_i+b v) +
    // φ(θ−a e_i−b v)] / 4ab; and the float product is within 1e-4 of it
    void fisherVectorProductMatchesKlHessian() {
        Rng rng(9);
        const ConvNet net = smallNet(Activation::Tanh);
        const VectorXd theta = randomTheta(net, rng);
        const int n = 8;
        const MatrixXd x = randomMatrix(net.inputs(), n, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        auto logSoftmax = [](MatrixXd z) {
            for (int i = 0; i < z.cols(); ++i) {
                const double m = z.col(i).maxCoeff();
                z.col(i).array() -= m + std::log((z.col(i).array() - m).exp().sum());
            }
            return z;
        };
        ConvNetWorkspace ws;
        const MatrixXd logp0 = logSoftmax(net.forward(theta, x, ws));
        const MatrixXd p0 = logp0.array().exp();
        auto meanKl = [&](const VectorXd& t) {
            ConvNetWorkspace w;
            const MatrixXd logp = logSoftmax(net.forward(t, x, w));
            return (p0.array() * (logp0 - logp).array()).sum() / n;
        };
        auto gaussNewton = [&](const auto& network, const auto& th, const auto& dir, const auto& obs, auto& work) {
            using M = std::decay_t<decltype(network.forward(th, obs, work))>;
            const M p = p0.cast<typename M::Scalar>();
            network.forward(th, obs, work);
            M u = network.jvp(th, dir, work);
            const auto pu = (p.array() * u.array()).colwise().sum().eval();
            u = p.array() * (u.rowwise() - pu.matrix()).array();
            u /= typename M::Scalar(n);
            auto out = std::decay_t<decltype(th)>::Zero(network.numParams()).eval();
            network.backward(th, u, work, out);
            return out;
        };
        const VectorXd fv = gaussNewton(net, theta, v, x, ws);
        const double a = 1e-4, b = 1e-4;
        VectorXd hv(net.numParams());
        for (int i = 0; i < net.numParams(); ++i) {
            VectorXd e = VectorXd::Zero(net.numParams());
            e(i) = a;
            hv(i) = (meanKl(theta + e + b * v) - meanKl(theta + e - b * v) - meanKl(theta - e + b * v) +
                     meanKl(theta - e - b * v)) / (4 * a * b);
        }
        const double err = relError(fv, hv);
        QVERIFY2(err < 1e-5, qPrintable(QString::number(err)));
        QVERIFY(v.dot(fv) > 0); // F is positive semi-definite

        const ConvNetFloat netF({2, 9, 8}, {{3, 3, 2}, {4, 2, 1}}, {5, 3}, Activation::Tanh);
        ConvNetFloat::Workspace wsF;
        const Eigen::VectorXf thetaF = theta.cast<float>(), vF = v.cast<float>();
        const Eigen::MatrixXf xF = x.cast<float>();
        const Eigen::VectorXf fvF = gaussNewton(netF, thetaF, vF, xF, wsF);
        QVERIFY2(relError(fv, fvF.cast<double>()) < 1e-4, qPrintable(QString::number(relError(fv, fvF.cast<double>()))));
    }

    // the same network in float: float rounding only
    void floatAgreesWithDouble() {
        Rng rng(8);
        const ImageShape img{3, 40, 32};
        const std::vector<ConvLayerSpec> layers{{16, 8, 4}, {32, 4, 2}};
        ConvNet net(img, layers, {32, 3}, Activation::Relu);
        ConvNetFloat netF(img, layers, {32, 3}, Activation::Relu);
        QCOMPARE(netF.numParams(), net.numParams());
        VectorXd theta(net.numParams());
        net.initialize(theta, 1.0, rng);
        const MatrixXd x = randomMatrix(net.inputs(), 50, rng).cwiseAbs();
        const MatrixXd c = randomMatrix(3, 50, rng);
        const VectorXd v = randomVector(net.numParams(), rng);
        ConvNetWorkspace ws;
        ConvNetFloat::Workspace wsF;
        const Eigen::VectorXf thetaF = theta.cast<float>();
        const MatrixXd out = net.forward(theta, x, ws);
        const Eigen::MatrixXf outF = netF.forward(thetaF, x.cast<float>(), wsF);
        QVERIFY((out - outF.cast<double>()).norm() / out.norm() < 1e-5);
        VectorXd g = VectorXd::Zero(net.numParams());
        Eigen::VectorXf gF = Eigen::VectorXf::Zero(net.numParams());
        net.backward(theta, c, ws, g);
        netF.backward(thetaF, c.cast<float>(), wsF, gF);
        QVERIFY(relError(g, gF.cast<double>()) < 1e-4);
        const MatrixXd jv = net.jvp(theta, v, ws);
        const Eigen::MatrixXf jvF = netF.jvp(thetaF, v.cast<float>(), wsF);
        QVERIFY((jv - jvF.cast<double>()).norm() / jv.norm() < 1e-4);
    }
};

QTEST_APPLESS_MAIN(TestConv)
#include "test_conv.moc"
