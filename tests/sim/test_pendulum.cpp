// Pendulum-v1 (Box2D) against Gymnasium's equations, reward, spaces, determinism.
#include <QtTest>

#include <cmath>

#include "env_test_util.h"
#include "sim/pendulum.h"

using sim::PendulumEnv;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Gymnasium's pendulum.py step, in double
PendulumEnv::State analyticStep(PendulumEnv::State s, double u) {
    const double g = 10.0, m = 1.0, l = 1.0, dt = 0.05;
    u = std::clamp(u, -2.0, 2.0);
    double w = s.thetaDot + (3 * g / (2 * l) * std::sin(s.theta) + 3.0 / (m * l * l) * u) * dt;
    w = std::clamp(w, -8.0, 8.0);
    return {s.theta + w * dt, w};
}

double gymReward(PendulumEnv::State s, double u) {
    u = std::clamp(u, -2.0, 2.0);
    const double th = std::fmod(std::fmod(s.theta + kPi, 2 * kPi) + 2 * kPi, 2 * kPi) - kPi;
    return -(th * th + 0.1 * s.thetaDot * s.thetaDot + 0.001 * u * u);
}

double actionFor(int pattern, int t, core::Rng& rng, const PendulumEnv::State& s) {
    switch (pattern) {
    case 0: return 2.0;                             // full torque: spins up to the speed clip
    case 1: return t % 20 < 10 ? 2.0 : -2.0;        // rocking
    case 2: return rng.uniform(-2.5, 2.5);          // random, sometimes beyond the clip
    case 3: return 0.0;                             // free swinging
    default: return s.thetaDot > 0 ? 2.0 : -2.0;    // energy pumping
    }
}

} // namespace

class TestPendulum : public QObject {
    Q_OBJECT

private slots:
    void spaces() {
        PendulumEnv env;
        const auto& spec = env.spec();
        QCOMPARE(QString::fromStdString(spec.id), QString("Pendulum-v1"));
        QVERIFY(!spec.action.isDiscrete());
        QCOMPARE(spec.action.dim(), 1);
        QCOMPARE(spec.action.low[0], -2.0);
        QCOMPARE(spec.action.high[0], 2.0);
        QCOMPARE(spec.observation.dim(), 3);
        QCOMPARE(spec.observation.high, (std::vector<double>{1.0, 1.0, 8.0}));
        QCOMPARE(spec.observation.low, (std::vector<double>{-1.0, -1.0, -8.0}));
        QCOMPARE(spec.maxEpisodeSteps, 200);
        QCOMPARE(*spec.rewardThreshold, -200.0);
        QCOMPARE(spec.frameRate, 30.0);
    }

    void initialState() {
        PendulumEnv env;
        double obs[3];
        for (std::uint64_t seed = 0; seed < 50; ++seed) {
            env.reset(seed, obs);
            const auto s = env.state();
            QVERIFY(s.theta >= -kPi - 1e-6 && s.theta <= kPi + 1e-6);
            QVERIFY(std::abs(s.thetaDot) <= 1.0 + 1e-6);
            QVERIFY(std::abs(obs[0] - std::cos(s.theta)) < 1e-12);
            QVERIFY(std::abs(obs[1] - std::sin(s.theta)) < 1e-12);
        }
    }

    void angleNormalize_data() {
        QTest::addColumn<double>("x");
        QTest::addColumn<double>("expected");
        QTest::newRow("0") << 0.0 << 0.0;
        QTest::newRow("pi-") << 3.0 << 3.0;
        QTest::newRow("pi") << kPi << -kPi; // floor-mod puts +pi at -pi
        QTest::newRow("-pi") << -kPi << -kPi;
        QTest::newRow("3pi/2") << 1.5 * kPi << -0.5 * kPi;
        QTest::newRow("-7") << -7.0 << -7.0 + 2 * kPi;
        QTest::newRow("20") << 20.0 << 20.0 - 6 * kPi;
    }
    void angleNormalize() {
        QFETCH(double, x);
        QFETCH(double, expected);
        QVERIFY(std::abs(PendulumEnv::angleNormalize(x) - expected) < 1e-12);
    }

    // reward on constructed states: cost of the state *before* the step, clipped action
    void reward_data() {
        QTest::addColumn<double>("theta");
        QTest::addColumn<double>("thetaDot");
        QTest::addColumn<double>("u");
        QTest::newRow("upright still") << 0.0 << 0.0 << 0.0;
        QTest::newRow("hanging down") << kPi - 1e-4 << 0.0 << 0.0;
        QTest::newRow("worst case") << kPi - 1e-4 << 8.0 << 2.0;
        QTest::newRow("action clipped") << 0.3 << -2.0 << -5.0;
        QTest::newRow("wound up angle") << 0.3 + 4 * kPi << 1.0 << 1.0;
        QTest::newRow("negative angle") << -2.5 << -3.0 << 0.7;
    }
    void reward() {
        QFETCH(double, theta);
        QFETCH(double, thetaDot);
        QFETCH(double, u);
        PendulumEnv env;
        double obs[3];
        env.reset(0, obs);
        env.setState({theta, thetaDot});
        const PendulumEnv::State s = env.state(); // float32-rounded
        const auto r = env.step({&u, 1}, obs);
        QVERIFY(std::abs(r.reward - gymReward(s, u)) < 1e-9);
        QVERIFY(r.reward <= 0.0 && r.reward >= -16.2736044 - 1e-6);
        QVERIFY(!r.terminated);
        const auto ref = analyticStep(s, u);
        QVERIFY(std::abs(obs[2] - ref.thetaDot) < 1e-5);
        QVERIFY(std::abs(obs[0] - std::cos(ref.theta)) < 1e-5);
        QVERIFY(std::abs(obs[1] - std::sin(ref.theta)) < 1e-5);
    }

    // Box2D trajectory == Gymnasium's semi-implicit Euler (incl. the ±8 clip) to 1e-3
    void matchesAnalytic_data() {
        QTest::addColumn<int>("pattern");
        QTest::addColumn<quint64>("seed");
        QTest::newRow("full torque (speed clip)") << 0 << 1ull;
        QTest::newRow("rocking") << 1 << 2ull;
        QTest::newRow("random") << 2 << 3ull;
        QTest::newRow("free swing") << 3 << 4ull;
        QTest::newRow("energy pumping") << 4 << 5ull;
    }
    void matchesAnalytic() {
        QFETCH(int, pattern);
        QFETCH(quint64, seed);
        PendulumEnv env;
        double obs[3];
        env.reset(seed, obs);
        PendulumEnv::State ref = env.state();
        core::Rng rng(seed);
        double maxErr = 0.0;
        bool clipped = false;
        for (int t = 0; t < 200; ++t) {
            const double u = actionFor(pattern, t, rng, ref);
            const PendulumEnv::State before = ref;
            const auto r = env.step({&u, 1}, obs);
            QVERIFY(std::abs(r.reward - gymReward(before, u)) < 1e-3);
            ref = analyticStep(ref, u);
            clipped = clipped || std::abs(ref.thetaDot) == 8.0;
            const auto s = env.state();
            maxErr = std::max({maxErr, std::abs(s.theta - ref.theta), std::abs(s.thetaDot - ref.thetaDot)});
            QVERIFY2(maxErr <= 1e-3, qPrintable(QString("step %1: error %2").arg(t).arg(maxErr)));
            QCOMPARE(r.truncated, t == 199);
            QVERIFY(!r.terminated);
        }
        if (pattern == 0) QVERIFY(clipped);
        qInfo("max |box2d - analytic| = %.3g", maxErr);
    }

    void golden() {
        PendulumEnv env;
        auto policy = [](int t, std::span<const double>, std::span<double> a) { a[0] = 2.5 * std::sin(0.05 * t * t); };
        const std::uint64_t h1 = simtest::rolloutHash(env, 77, 300, policy);
        PendulumEnv other;
        QCOMPARE(simtest::rolloutHash(other, 77, 300, policy), h1);
        QCOMPARE(simtest::rolloutHash(env, 77, 300, policy), h1);
        qInfo("Pendulum golden hash 0x%016llx", static_cast<unsigned long long>(h1));
        QCOMPARE(h1, Q_UINT64_C(0xf1d309187d3dbb6e));
    }

    void randomSteps() {
        PendulumEnv env;
        int episodes = 0;
        const std::string err = simtest::checkRandomRollout(env, 10000, 5, 1e-9, &episodes);
        QVERIFY2(err.empty(), err.c_str());
        QCOMPARE(episodes, 10000 / 200 + 1);
    }

    void grabMovesRod() {
        PendulumEnv env;
        double obs[3];
        env.reset(0, obs);
        env.setState({0.0, 0.0}); // upright
        QVERIFY(env.grab({0.0f, 0.9f}));
        env.moveGrab({1.0f, 0.0f}); // pull it to the right (clockwise)
        const double zero = 0.0;
        for (int i = 0; i < 20; ++i) env.step({&zero, 1}, obs);
        QVERIFY2(env.state().theta < -0.5, qPrintable(QString::number(env.state().theta)));
        env.release();
        const auto before = env.state().thetaDot;
        const auto p = env.state().theta;
        QVERIFY(env.applyImpulse({float(-0.8 * std::sin(p)), float(0.8 * std::cos(p))}, {float(-std::cos(p)), float(-std::sin(p))}));
        QVERIFY2(env.state().thetaDot > before + 0.5, qPrintable(QString("%1 -> %2").arg(before).arg(env.state().thetaDot)));
        const double zero2 = 0.0;
        env.step({&zero2, 1}, obs);
        QVERIFY(env.state().thetaDot > before + 0.5);
    }
};

QTEST_APPLESS_MAIN(TestPendulum)
#include "test_pendulum.moc"
