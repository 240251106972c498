// Acrobot-v1 (Box2D, 50 sub-steps) against Gymnasium's RK4 "book" dynamics.
#include <QtTest>

#include <array>
#include <cmath>

#include "env_test_util.h"
#include "sim/acrobot.h"

using sim::AcrobotEnv;

namespace {
constexpr double kPi = 3.14159265358979323846;
using S = std::array<double, 5>; // θ1, θ2, θ̇1, θ̇2, torque

// Gymnasium acrobot.py _dsdt, "book" variant
S dsdt(const S& s) {
    const double m1 = 1, m2 = 1, l1 = 1, lc1 = 0.5, lc2 = 0.5, I1 = 1, I2 = 1, g = 9.8;
    const double a = s[4], theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    const double d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + I1 + I2;
    const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + I2;
    const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
    const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                        (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
    const double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) / (m2 * lc2 * lc2 + I2 - d2 * d2 / d1);
    const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    return {dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0};
}

AcrobotEnv::State rk4Step(const AcrobotEnv::State& st, double torque) {
    const double dt = 0.2;
    const S y0{st.theta1, st.theta2, st.dtheta1, st.dtheta2, torque};
    auto add = [](const S& a, const S& b, double h) { S r; for (int i = 0; i < 5; ++i) r[i] = a[i] + h * b[i]; return r; };
    const S k1 = dsdt(y0), k2 = dsdt(add(y0, k1, dt / 2)), k3 = dsdt(add(y0, k2, dt / 2)), k4 = dsdt(add(y0, k3, dt));
    S y;
    for (int i = 0; i < 5; ++i) y[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    return {AcrobotEnv::wrapAngle(y[0]), AcrobotEnv::wrapAngle(y[1]), std::clamp(y[2], -4 * kPi, 4 * kPi), std::clamp(y[3], -9 * kPi, 9 * kPi)};
}

double angleDiff(double a, double b) { return std::abs(AcrobotEnv::wrapAngle(a - b)); }
double stateError(const AcrobotEnv::State& a, const AcrobotEnv::State& b) {
    return std::max({angleDiff(a.theta1, b.theta1), angleDiff(a.theta2, b.theta2), std::abs(a.dtheta1 - b.dtheta1), std::abs(a.dtheta2 - b.dtheta2)});
}
} // namespace

class TestAcrobot : public QObject {
    Q_OBJECT

private slots:
    void spaces() {
        AcrobotEnv env;
        const auto& spec = env.spec();
        QCOMPARE(QString::fromStdString(spec.id), QString("Acrobot-v1"));
        QCOMPARE(spec.action.n, 3);
        QCOMPARE(spec.observation.high, (std::vector<double>{1, 1, 1, 1, 4 * kPi, 9 * kPi}));
        QCOMPARE(spec.maxEpisodeSteps, 500);
        QCOMPARE(*spec.rewardThreshold, -100.0);
        QCOMPARE(spec.frameRate, 15.0);
        double obs[6];
        env.reset(4, obs);
        const auto s = env.state();
        for (double v : {s.theta1, s.theta2, s.dtheta1, s.dtheta2}) QVERIFY(std::abs(v) <= 0.1);
    }

    // one 0.2 s env step from the same state: Box2D sub-steps vs one RK4 step
    void oneStepMatchesRk4_data() {
        QTest::addColumn<double>("t1");
        QTest::addColumn<double>("t2");
        QTest::addColumn<double>("w1");
        QTest::addColumn<double>("w2");
        QTest::addColumn<int>("action");
        QTest::addColumn<double>("tol");
        QTest::newRow("rest, torque +1") << 0.0 << 0.0 << 0.0 << 0.0 << 2 << 1e-3;
        QTest::newRow("small swing") << 0.3 << -0.2 << 0.5 << -0.4 << 0 << 2e-3;
        QTest::newRow("horizontal") << kPi / 2 << 0.0 << 0.0 << 0.0 << 1 << 4e-3;
        QTest::newRow("fast") << 2.0 << 1.0 << 3.0 << -4.0 << 2 << 1e-2;
        QTest::newRow("near top") << 3.0 << 0.1 << 1.0 << 1.0 << 0 << 5e-3;
    }
    void oneStepMatchesRk4() {
        QFETCH(double, t1);
        QFETCH(double, t2);
        QFETCH(double, w1);
        QFETCH(double, w2);
        QFETCH(int, action);
        QFETCH(double, tol);
        AcrobotEnv env;
        double obs[6];
        env.reset(0, obs);
        env.setState({t1, t2, w1, w2});
        const AcrobotEnv::State s0 = env.state();
        const double a = action;
        env.step({&a, 1}, obs);
        const auto ref = rk4Step(s0, action - 1.0);
        const double err = stateError(env.state(), ref);
        qInfo("one-step error %.3g", err);
        QVERIFY2(err < tol, qPrintable(QString::number(err)));
    }

    // trajectories from the same start stay together for the first steps
    void trajectoryMatchesRk4() {
        AcrobotEnv env;
        double obs[6];
        env.reset(8, obs);
        AcrobotEnv::State ref = env.state();
        double maxErr = 0.0;
        for (int t = 0; t < 40; ++t) {
            const int action = (t / 5) % 2 == 0 ? 2 : 0; // pump
            const double a = action;
            env.step({&a, 1}, obs);
            ref = rk4Step(ref, action - 1.0);
            maxErr = std::max(maxErr, stateError(env.state(), ref));
        }
        qInfo("max error over 40 steps (8 s): %.3g", maxErr);
        QVERIFY2(maxErr < 2e-2, qPrintable(QString::number(maxErr)));
    }

    void wrapAndClip() {
        AcrobotEnv env;
        double obs[6];
        env.reset(0, obs);
        env.setState({3.1, 3.1, 12.5, 28.0});
        const double a = 2;
        env.step({&a, 1}, obs);
        const auto s = env.state();
        QVERIFY(std::abs(s.theta1) <= kPi + 1e-6 && std::abs(s.theta2) <= kPi + 1e-6);
        QVERIFY(std::abs(s.dtheta1) <= 4 * kPi + 1e-5 && std::abs(s.dtheta2) <= 9 * kPi + 1e-5);
        for (int i = 0; i < 4; ++i) QVERIFY(std::abs(obs[i]) <= 1.0);
    }

    void termination_data() {
        QTest::addColumn<double>("t1");
        QTest::addColumn<double>("t2");
        QTest::addColumn<bool>("terminated");
        QTest::newRow("hanging") << 0.0 << 0.0 << false;
        QTest::newRow("straight up") << kPi << 0.0 << true;
        QTest::newRow("horizontal") << kPi / 2 << 0.0 << false;
        QTest::newRow("link1 up, link2 horizontal") << kPi << kPi / 2 << false;
    }
    void termination() {
        QFETCH(double, t1);
        QFETCH(double, t2);
        QFETCH(bool, terminated);
        AcrobotEnv env;
        double obs[6];
        env.reset(0, obs);
        env.setState({t1, t2, 0.0, 0.0});
        const double a = 1;
        const auto r = env.step({&a, 1}, obs);
        QCOMPARE(r.terminated, terminated);
        QCOMPARE(r.reward, terminated ? 0.0 : -1.0);
    }

    void truncationAt500() {
        AcrobotEnv env;
        double obs[6];
        env.reset(1, obs);
        const double a = 1; // no torque: it never swings up
        for (int t = 0; t < 500; ++t) {
            const auto r = env.step({&a, 1}, obs);
            QVERIFY(!r.terminated);
            QCOMPARE(r.truncated, t == 499);
        }
        QCOMPARE(env.episodeReturn(), -500.0);
    }

    void golden() {
        AcrobotEnv env;
        auto policy = [](int t, std::span<const double>, std::span<double> a) { a[0] = (t / 4) % 3; };
        const std::uint64_t h1 = simtest::rolloutHash(env, 55, 300, policy);
        AcrobotEnv other;
        QCOMPARE(simtest::rolloutHash(other, 55, 300, policy), h1);
        qInfo("Acrobot golden hash 0x%016llx", static_cast<unsigned long long>(h1));
        QCOMPARE(h1, Q_UINT64_C(0x29b2a5997d716297));
    }

    void randomSteps() {
        AcrobotEnv env;
        const std::string err = simtest::checkRandomRollout(env, 10000, 3, 1e-6);
        QVERIFY2(err.empty(), err.c_str());
    }
};

QTEST_APPLESS_MAIN(TestAcrobot)
#include "test_acrobot.moc"
