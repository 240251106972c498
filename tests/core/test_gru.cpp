// The GRU network (core/gru.h): forward against the GRU equations written out one step at
// a time, backward through time and jvp against finite differences, their adjoint identity,
// what episode starts and a sequence's starting state cut, the state carried from one call
// to the next, bad layouts refused, and float against double.
#include <QtTest>

#include "core/gru.h"
#include "core/rng.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// three sequences of uneven lengths, not in column order, one with an episode start inside
SequenceLayout unevenLayout() {
    SequenceLayout l;
    l.begin = {6, 0, 11};
    l.length = {5, 6, 4};
    l.episodeStart.assign(15, 0);
    l.episodeStart[8] = 1;  // the first sequence's third step starts an episode
    l.episodeStart[11] = 1; // and so does the third sequence's first step (h0 is ignored)
    return l;
}

GruNet smallNet(int inputs = 3, int hidden = 4) { return GruNet(inputs, hidden, {5}, 2, Activation::Tanh); }

VectorXd randomTheta(const GruNet& net, Rng& rng) {
    VectorXd theta(net.numParams());
    net.initialize(theta, 1.0, rng);
    return theta + randomVector(net.numParams(), rng, 0.2); // non-zero biases
}

// the small network with random θ, the uneven layout, random inputs and starting states
struct Case {
    GruNet net = smallNet();
    Rng rng;
    VectorXd theta;
    SequenceLayout layout = unevenLayout();
    MatrixXd x, h0;
    explicit Case(std::uint64_t seed) : rng(seed) {
        theta = randomTheta(net, rng);
        x = randomMatrix(3, 15, rng);
        h0 = randomMatrix(4, 3, rng, 0.5);
    }
};

// the GRU's equations for one sequence, written out step by step (the reference)
MatrixXd directStates(const GruNet& net, const VectorXd& theta, const MatrixXd& x, const SequenceLayout& l,
                      const MatrixXd& h0) {
    const int H = net.hiddenState(), D = net.inputs();
    const Eigen::Map<const MatrixXd> W(theta.data() + net.inputWeightOffset(), 3 * H, D);
    const Eigen::Map<const MatrixXd> U(theta.data() + net.recurrentWeightOffset(), 3 * H, H);
    const VectorXd b = theta.segment(net.biasOffset(), 3 * H), cn = theta.segment(net.resetBiasOffset(), H);
    MatrixXd states = MatrixXd::Zero(H, x.cols());
    for (int s = 0; s < l.sequences(); ++s) {
        VectorXd h = h0.col(s);
        for (int t = 0; t < l.length[s]; ++t) {
            const int c = l.begin[s] + t;
            if (!l.episodeStart.empty() && l.episodeStart[c]) h.setZero();
            VectorXd next(H);
            for (int i = 0; i < H; ++i) {
                const double z = sigmoid(W.row(i).dot(x.col(c)) + U.row(i).dot(h) + b(i));
                const double r = sigmoid(W.row(H + i).dot(x.col(c)) + U.row(H + i).dot(h) + b(H + i));
                const double n = std::tanh(W.row(2 * H + i).dot(x.col(c)) + b(2 * H + i) + r * (U.row(2 * H + i).dot(h) + cn(i)));
                next(i) = (1 - z) * n + z * h(i);
            }
            h = next;
            states.col(c) = h;
        }
    }
    return states;
}

} // namespace

class TestGru : public QObject {
    Q_OBJECT
private slots:
    void parameterLayout() {
        const GruNet net = smallNet(3, 4);
        QCOMPARE(net.recurrentWeightOffset(), 3 * 4 * 3);
        QCOMPARE(net.biasOffset(), 36 + 3 * 4 * 4);
        QCOMPARE(net.resetBiasOffset(), 84 + 12);
        QCOMPARE(net.headOffset(), 96 + 4);
        QCOMPARE(net.numParams(), 100 + (4 * 5 + 5) + (5 * 2 + 2));
        QCOMPARE(net.outputs(), 2);
    }

    void forwardFollowsTheEquations() {
        Case k(1);
        const auto& [net, rng, theta, l, x, h0] = k;
        GruWorkspace ws;
        const MatrixXd out = net.forward(theta, x, l, h0, ws);
        const MatrixXd states = directStates(net, theta, x, l, h0);
        QVERIFY2((ws.h - states).norm() < 1e-12, qPrintable(QString::number((ws.h - states).norm())));
        MlpWorkspace hw;
        const MatrixXd headOut = net.head().forward(theta.segment(net.headOffset(), net.head().numParams()), states, hw);
        QVERIFY((out - headOut).norm() < 1e-12);
        // each sequence's last state, for the next call
        const MatrixXd last = net.finalState(l, ws);
        QVERIFY((last.col(0) - ws.h.col(10)).norm() == 0);
        QVERIFY((last.col(1) - ws.h.col(5)).norm() == 0);
        QVERIFY((last.col(2) - ws.h.col(14)).norm() == 0);
    }

    // an episode start cuts the past: the outputs from there on do not depend on the steps
    // before it nor on h0; before it they do
    void episodeStartsCutThePast() {
        Case k(2);
        const auto& [net, rng, theta, l, x0, h00] = k;
        MatrixXd x = x0, h0 = h00;
        GruWorkspace a, b;
        const MatrixXd out = net.forward(theta, x, l, h0, a);
        x.col(6) += VectorXd::Ones(3); // before the start at column 8
        h0.col(0) += VectorXd::Ones(4);
        h0.col(2) += VectorXd::Ones(4); // ignored: column 11 starts an episode
        const MatrixXd moved = net.forward(theta, x, l, h0, b);
        QVERIFY((moved.col(6) - out.col(6)).norm() > 1e-6);
        QVERIFY((moved.col(7) - out.col(7)).norm() > 1e-6);
        for (int c : {8, 9, 10, 11, 12, 13, 14}) QVERIFY2((moved.col(c) - out.col(c)).norm() == 0, qPrintable(QString::number(c)));
        for (int c = 0; c < 6; ++c) QVERIFY((moved.col(c) - out.col(c)).norm() == 0); // another sequence
    }

    // a batch cut in two calls, the state carried between them, gives the one call's outputs
    void theStateCarriesAcrossCalls() {
        Rng rng(3);
        const GruNet net = smallNet();
        const VectorXd theta = randomTheta(net, rng);
        const int S = 2, T = 8;
        const MatrixXd x = randomMatrix(3, S * T, rng);
        const MatrixXd h0 = randomMatrix(4, S, rng, 0.5);
        GruWorkspace whole;
        const MatrixXd all = net.forward(theta, x, SequenceLayout::blocks(S, T), h0, whole);
        // the first 3 steps of each sequence, then the other 5
        MatrixXd first(3, S * 3), second(3, S * 5);
        for (int s = 0; s < S; ++s) {
            first.middleCols(s * 3, 3) = x.middleCols(s * T, 3);
            second.middleCols(s * 5, 5) = x.middleCols(s * T + 3, 5);
        }
        GruWorkspace w1, w2;
        const MatrixXd a = net.forward(theta, first, SequenceLayout::blocks(S, 3), h0, w1);
        const MatrixXd carried = net.finalState(SequenceLayout::blocks(S, 3), w1);
        const MatrixXd b = net.forward(theta, second, SequenceLayout::blocks(S, 5), carried, w2);
        for (int s = 0; s < S; ++s) {
            QVERIFY((a.middleCols(s * 3, 3) - all.middleCols(s * T, 3)).norm() < 1e-13);
            QVERIFY((b.middleCols(s * 5, 5) - all.middleCols(s * T + 3, 5)).norm() < 1e-13);
        }
    }

    void backwardMatchesFiniteDifferences() {
        Case k(4);
        const auto& [net, rng, theta, l, x, h0] = k;
        const MatrixXd c = randomMatrix(2, 15, k.rng); // loss = sum(c ⊙ out)
        auto loss = [&](const VectorXd& t) {
            GruWorkspace w;
            return (net.forward(t, x, l, h0, w).array() * c.array()).sum();
        };
        GruWorkspace ws;
        net.forward(theta, x, l, h0, ws);
        VectorXd g = VectorXd::Zero(net.numParams());
        net.backward(theta, c, l, ws, g);
        const VectorXd gfd = numericGradient(loss, theta);
        QVERIFY2(relError(g, gfd) < 1e-7, qPrintable(QString::number(relError(g, gfd))));
        // every block gets a gradient: W, U, b, c_n, the head
        QVERIFY(g.segment(net.inputWeightOffset(), 36).norm() > 0);
        QVERIFY(g.segment(net.recurrentWeightOffset(), 48).norm() > 0);
        QVERIFY(g.segment(net.biasOffset(), 12).norm() > 0);
        QVERIFY(g.segment(net.resetBiasOffset(), 4).norm() > 0);
        QVERIFY(g.segment(net.headOffset(), net.head().numParams()).norm() > 0);
        // backward accumulates
        VectorXd twice = g;
        net.backward(theta, c, l, ws, twice);
        QVERIFY((twice - 2 * g).norm() < 1e-12 * g.norm());
    }

    void jvpMatchesFiniteDifferences() {
        Case k(5);
        const auto& [net, rng, theta, l, x, h0] = k;
        const VectorXd v = randomVector(net.numParams(), k.rng);
        GruWorkspace ws;
        net.forward(theta, x, l, h0, ws);
        const MatrixXd jv = net.jvp(theta, v, l, ws);
        const double h = 1e-6;
        GruWorkspace w1, w2;
        const MatrixXd fp = net.forward(theta + h * v, x, l, h0, w1);
        const MatrixXd fm = net.forward(theta - h * v, x, l, h0, w2);
        const MatrixXd fd = (fp - fm) / (2 * h);
        QVERIFY2((jv - fd).norm() / fd.norm() < 1e-8, qPrintable(QString::number((jv - fd).norm() / fd.norm())));
    }

    // the input's error (backward's dInput) and tangent (jvp's inputTangent), which carry a
    // network in front of the GRU (cnn_gru), against finite differences in the input
    void inputErrorAndTangentMatchFiniteDifferences() {
        Case k(8);
        const auto& [net, rng, theta, l, x, h0] = k;
        const MatrixXd c = randomMatrix(2, 15, k.rng), dx = randomMatrix(3, 15, k.rng);
        auto out = [&](const MatrixXd& in) {
            GruWorkspace w;
            return MatrixXd(net.forward(theta, in, l, h0, w));
        };
        const double h = 1e-6;
        const MatrixXd fd = (out(x + h * dx) - out(x - h * dx)) / (2 * h);
        GruWorkspace ws;
        net.forward(theta, x, l, h0, ws);
        // a zero θ direction: the outputs move through the input alone
        const MatrixXd jv = net.jvp(theta, VectorXd::Zero(net.numParams()), l, ws, &dx);
        QVERIFY2((jv - fd).norm() / fd.norm() < 1e-8, qPrintable(QString::number((jv - fd).norm() / fd.norm())));
        // d(sum(c ⊙ out))/dx · dx
        VectorXd g = VectorXd::Zero(net.numParams());
        MatrixXd dIn;
        net.backward(theta, c, l, ws, g, &dIn);
        QCOMPARE(dIn.rows(), Eigen::Index(3));
        QCOMPARE(dIn.cols(), Eigen::Index(15));
        const double an = (dIn.array() * dx.array()).sum(), num = (c.array() * fd.array()).sum();
        QVERIFY2(std::abs(an - num) < 1e-8 * (1 + std::abs(num)), qPrintable(QString("%1 %2").arg(an).arg(num)));
        // asking for dInput leaves dθ as it was
        VectorXd g2 = VectorXd::Zero(net.numParams());
        net.backward(theta, c, l, ws, g2);
        QVERIFY(g == g2);
    }

    // uᵀ(J v) = (Jᵀ u)ᵀ v: forward and reverse mode are the same Jacobian, the one the
    // Gauss-Newton Fisher-vector product multiplies by twice
    void jvpAndBackwardAreAdjoint() {
        Rng rng(6);
        const GruNet net = smallNet(2, 6);
        const VectorXd theta = randomTheta(net, rng);
        const SequenceLayout l = SequenceLayout::blocks(4, 7);
        const MatrixXd x = randomMatrix(2, 28, rng), h0 = randomMatrix(6, 4, rng, 0.5);
        const VectorXd v = randomVector(net.numParams(), rng);
        const MatrixXd u = randomMatrix(2, 28, rng);
        GruWorkspace ws;
        net.forward(theta, x, l, h0, ws);
        const double uJv = (u.array() * net.jvp(theta, v, l, ws).array()).sum();
        VectorXd jtu = VectorXd::Zero(net.numParams());
        net.backward(theta, u, l, ws, jtu);
        QVERIFY2(std::abs(uJv - jtu.dot(v)) < 1e-10 * std::abs(uJv), qPrintable(QString("%1 %2").arg(uJv).arg(jtu.dot(v))));
    }

    void floatAgreesWithDouble() {
        Case k(7);
        const auto& [net, rng, theta, l, x, h0] = k;
        const GruNetFloat netF(3, 4, {5}, 2, Activation::Tanh);
        GruWorkspace ws;
        BasicGruWorkspace<float> wf;
        const MatrixXd out = net.forward(theta, x, l, h0, ws);
        const Eigen::VectorXf thetaF = theta.cast<float>();
        const Eigen::MatrixXf outF = netF.forward(thetaF, x.cast<float>(), l, h0.cast<float>(), wf);
        QVERIFY2((outF.cast<double>() - out).norm() < 1e-5 * out.norm(), qPrintable(QString::number((outF.cast<double>() - out).norm())));
    }

    void badLayoutsAreRefused() {
        Rng rng(8);
        const GruNet net = smallNet();
        const VectorXd theta = randomTheta(net, rng);
        const MatrixXd x = randomMatrix(3, 10, rng);
        GruWorkspace ws;
        SequenceLayout outside = SequenceLayout::blocks(2, 6); // 12 samples of 10
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net.forward(theta, x, outside, MatrixXd::Zero(4, 2), ws));
        SequenceLayout overlap;
        overlap.begin = {0, 4};
        overlap.length = {5, 5};
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net.forward(theta, x, overlap, MatrixXd::Zero(4, 2), ws));
        SequenceLayout flags = SequenceLayout::blocks(2, 5);
        flags.episodeStart.assign(9, 0);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net.forward(theta, x, flags, MatrixXd::Zero(4, 2), ws));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net.forward(theta, x, SequenceLayout::blocks(2, 5), MatrixXd::Zero(4, 3), ws));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, GruNet(3, 0, {}, 2, Activation::Tanh));
    }
};

QTEST_APPLESS_MAIN(TestGru)
#include "test_gru.moc"
