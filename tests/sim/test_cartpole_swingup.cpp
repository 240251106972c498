// CartPoleSwingUp-v0: our continuous swing-up task on CartPole's Box2D model.
#include <QtTest>

#include <cmath>

#include "env_test_util.h"
#include "sim/cartpole_swingup.h"

using sim::CartPoleSwingUpEnv;

namespace {
constexpr double kPi = 3.14159265358979323846;

// Gymnasium's CartPole equations, semi-implicit Euler, with an arbitrary force
sim::CartPoleEnv::State analyticStep(sim::CartPoleEnv::State s, double force) {
    const double g = 9.8, mp = 0.1, total = 1.1, l = 0.5, pml = mp * l, tau = 0.02;
    const double c = std::cos(s.theta), sn = std::sin(s.theta);
    const double temp = (force + pml * s.thetaDot * s.thetaDot * sn) / total;
    const double thetaAcc = (g * sn - c * temp) / (l * (4.0 / 3.0 - mp * c * c / total));
    const double xAcc = temp - pml * thetaAcc * c / total;
    s.xDot += tau * xAcc;
    s.x += tau * s.xDot;
    s.thetaDot += tau * thetaAcc;
    s.theta += tau * s.thetaDot;
    return s;
}
} // namespace

class TestCartPoleSwingUp : public QObject {
    Q_OBJECT

private slots:
    void spaces() {
        CartPoleSwingUpEnv env;
        const auto& spec = env.spec();
        QCOMPARE(QString::fromStdString(spec.id), QString("CartPoleSwingUp-v0"));
        QCOMPARE(spec.action.low, std::vector<double>{-1.0});
        QCOMPARE(spec.action.high, std::vector<double>{1.0});
        QCOMPARE(spec.observation.dim(), 5);
        QCOMPARE(spec.maxEpisodeSteps, 500);
        QCOMPARE(*spec.rewardThreshold, 350.0);
        double obs[5];
        env.reset(2, obs);
        QVERIFY(obs[2] < -0.99); // cos θ: hanging down
        QVERIFY(std::abs(obs[0]) <= 0.05);
    }

    void reward_data() {
        QTest::addColumn<double>("x");
        QTest::addColumn<double>("theta");
        QTest::addColumn<double>("expected");
        QTest::newRow("up, centred") << 0.0 << 0.0 << 1.0;
        QTest::newRow("down") << 0.0 << kPi << 0.0;
        QTest::newRow("horizontal") << 0.0 << kPi / 2 << 0.5;
        QTest::newRow("up, off centre") << 1.2 << 0.0 << 0.75;
        QTest::newRow("up, at the limit") << 2.4 << 0.0 << 0.0;
    }
    void reward() {
        QFETCH(double, x);
        QFETCH(double, theta);
        QFETCH(double, expected);
        QVERIFY(std::abs(CartPoleSwingUpEnv::rewardFor(x, theta) - expected) < 1e-12);
        CartPoleSwingUpEnv env;
        double obs[5];
        env.reset(0, obs);
        env.setState({x * 0.99, 0.0, theta, 0.0});
        const double a = 0.0;
        const auto r = env.step({&a, 1}, obs);
        const auto s = env.state();
        QVERIFY(std::abs(r.reward - CartPoleSwingUpEnv::rewardFor(s.x, s.theta)) < 1e-12);
    }

    void trackLimitTerminates() {
        CartPoleSwingUpEnv env;
        double obs[5];
        env.reset(0, obs);
        env.setState({2.39, 1.0, kPi, 0.0});
        const double a = 1.0;
        auto r = env.step({&a, 1}, obs);
        QVERIFY(r.terminated);
        QCOMPARE(r.reward, 0.0);
    }

    void truncationAt500() {
        CartPoleSwingUpEnv env;
        double obs[5];
        env.reset(5, obs);
        const double a = 0.0;
        for (int t = 0; t < 500; ++t) {
            const auto r = env.step({&a, 1}, obs);
            QVERIFY(!r.terminated);
            QCOMPARE(r.truncated, t == 499);
        }
    }

    // continuous force, through a full swing: Box2D vs the analytic step from the same state
    void physicsMatchesCartPoleEquations() {
        CartPoleSwingUpEnv env;
        double obs[5];
        env.reset(1, obs);
        double maxErr = 0.0;
        for (int t = 0; t < 300; ++t) {
            const double a = std::sin(0.05 * t) > 0 ? 0.8 : -0.8; // pumps the pole round
            const auto s = env.state();
            env.step({&a, 1}, obs);
            const auto ref = analyticStep(s, 10.0 * a);
            const auto n = env.state();
            maxErr = std::max({maxErr, std::abs(n.x - ref.x), std::abs(n.xDot - ref.xDot), std::abs(n.theta - ref.theta),
                               std::abs(n.thetaDot - ref.thetaDot)});
            if (std::abs(n.x) > 2.4) break;
        }
        qInfo("max one-step error %.3g", maxErr);
        QVERIFY2(maxErr < 1e-5, qPrintable(QString::number(maxErr)));
    }

    void golden() {
        CartPoleSwingUpEnv env;
        auto policy = [](int t, std::span<const double>, std::span<double> a) { a[0] = std::sin(0.07 * t); };
        const std::uint64_t h1 = simtest::rolloutHash(env, 12, 300, policy);
        CartPoleSwingUpEnv other;
        QCOMPARE(simtest::rolloutHash(other, 12, 300, policy), h1);
        qInfo("CartPoleSwingUp golden hash 0x%016llx", static_cast<unsigned long long>(h1));
        QCOMPARE(h1, Q_UINT64_C(0x4f34aac38fd0e78c));
    }

    void randomSteps() {
        CartPoleSwingUpEnv env;
        const std::string err = simtest::checkRandomRollout(env, 10000, 8, 1e-9);
        QVERIFY2(err.empty(), err.c_str());
    }
};

QTEST_APPLESS_MAIN(TestCartPoleSwingUp)
#include "test_cartpole_swingup.moc"
