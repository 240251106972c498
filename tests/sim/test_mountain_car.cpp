// MountainCarContinuous-v0 against Gymnasium's map.
#include <QtTest>

#include <cmath>

#include "env_test_util.h"
#include "sim/mountain_car.h"

using sim::MountainCarContinuousEnv;

namespace {
// rounds to float32. Kept out of line: GCC 12 at -O2 with -fsanitize=address,undefined was
// seen to drop the float round trip of the inlined reference below (the same code rounds
// correctly in isolation and in every other build), which made exact comparisons fail.
[[gnu::noinline]] double f32(double x) { return static_cast<float>(x); }

// continuous_mountain_car.py step(), float32 state
MountainCarContinuousEnv::State refStep(MountainCarContinuousEnv::State s, double a, double* reward, bool* terminated) {
    double p = s.position, v = s.velocity;
    const double force = std::min(std::max(a, -1.0), 1.0);
    v += force * 0.0015 - 0.0025 * std::cos(3 * p);
    v = std::clamp(v, -0.07, 0.07);
    p = std::clamp(p + v, -1.2, 0.6);
    if (p == -1.2 && v < 0) v = 0;
    *terminated = p >= 0.45 && v >= 0.0;
    *reward = (*terminated ? 100.0 : 0.0) - 0.1 * a * a;
    return {f32(p), f32(v)};
}
} // namespace

class TestMountainCar : public QObject {
    Q_OBJECT

private slots:
    void spaces() {
        MountainCarContinuousEnv env;
        const auto& spec = env.spec();
        QCOMPARE(QString::fromStdString(spec.id), QString("MountainCarContinuous-v0"));
        QCOMPARE(spec.action.low, std::vector<double>{-1.0});
        QCOMPARE(spec.action.high, std::vector<double>{1.0});
        QCOMPARE(spec.observation.low, (std::vector<double>{-1.2, -0.07}));
        QCOMPARE(spec.observation.high, (std::vector<double>{0.6, 0.07}));
        QCOMPARE(spec.maxEpisodeSteps, 999);
        QCOMPARE(*spec.rewardThreshold, 90.0);
        double obs[2];
        for (std::uint64_t s = 0; s < 20; ++s) {
            env.reset(s, obs);
            QVERIFY(obs[0] >= -0.6 && obs[0] < -0.4);
            QCOMPARE(obs[1], 0.0);
        }
    }

    void step_data() {
        QTest::addColumn<double>("p");
        QTest::addColumn<double>("v");
        QTest::addColumn<double>("a");
        QTest::newRow("valley, push right") << -0.5 << 0.0 << 1.0;
        QTest::newRow("unclipped action penalty") << -0.5 << 0.01 << 3.0;
        QTest::newRow("left wall is inelastic") << -1.19 << -0.05 << -1.0;
        QTest::newRow("reaches goal") << 0.44 << 0.03 << 1.0;
        QTest::newRow("goal with negative velocity") << 0.5 << -0.001 << -1.0;
        QTest::newRow("speed clip") << 0.0 << 0.0699 << 1.0;
    }
    void step() {
        QFETCH(double, p);
        QFETCH(double, v);
        QFETCH(double, a);
        MountainCarContinuousEnv env;
        double obs[2];
        env.reset(0, obs);
        env.setState({p, v});
        double reward;
        bool terminated;
        const auto ref = refStep({p, v}, a, &reward, &terminated);
        const auto r = env.step({&a, 1}, obs);
        QCOMPARE(obs[0], ref.position);
        QCOMPARE(obs[1], ref.velocity);
        QCOMPARE(r.reward, reward);
        QCOMPARE(r.terminated, terminated);
    }

    void matchesReferenceMap() {
        MountainCarContinuousEnv env;
        double obs[2];
        env.reset(3, obs);
        MountainCarContinuousEnv::State ref{obs[0], obs[1]};
        core::Rng rng(3);
        for (int t = 0; t < 999; ++t) {
            const double a = rng.uniform(-1.5, 1.5);
            double reward;
            bool terminated;
            ref = refStep(ref, a, &reward, &terminated);
            const auto r = env.step({&a, 1}, obs);
            QCOMPARE(obs[0], ref.position);
            QCOMPARE(obs[1], ref.velocity);
            QCOMPARE(r.reward, reward);
            QCOMPARE(r.terminated, terminated);
            if (terminated) break;
            QCOMPARE(r.truncated, t == 998);
        }
    }

    void energyPumpingSolves() {
        MountainCarContinuousEnv env;
        double obs[2];
        env.reset(1, obs);
        core::StepResult r;
        int t = 0;
        for (; t < 999 && !r.terminated; ++t) {
            const double a = obs[1] >= 0 ? 1.0 : -1.0;
            r = env.step({&a, 1}, obs);
        }
        QVERIFY(r.terminated);
        QVERIFY(env.episodeReturn() > 100.0 - 0.1 * t - 1e-9); // +100 at the goal, -0.1 per full-throttle step
    }

    void grabPullsCar() {
        MountainCarContinuousEnv env;
        double obs[2];
        env.reset(0, obs);
        const double p = obs[0];
        QVERIFY(!env.grab({0.5f, 1.1f}));
        QVERIFY(env.grab({static_cast<float>(p), static_cast<float>(MountainCarContinuousEnv::hillHeight(p) + 0.06)}));
        env.moveGrab({0.0f, 0.5f});
        const double zero = 0.0;
        for (int i = 0; i < 30; ++i) env.step({&zero, 1}, obs);
        QVERIFY2(obs[0] > p + 0.2, qPrintable(QString::number(obs[0])));
        env.release();
        QVERIFY(!env.isHeld());
    }

    void golden() {
        MountainCarContinuousEnv env;
        auto policy = [](int t, std::span<const double>, std::span<double> a) { a[0] = std::sin(0.1 * t) * 1.2; };
        const std::uint64_t h1 = simtest::rolloutHash(env, 9, 300, policy);
        MountainCarContinuousEnv other;
        QCOMPARE(simtest::rolloutHash(other, 9, 300, policy), h1);
        qInfo("MountainCarContinuous golden hash 0x%016llx", static_cast<unsigned long long>(h1));
        QCOMPARE(h1, Q_UINT64_C(0xdbf62d04cddbd516));
    }

    void randomSteps() {
        MountainCarContinuousEnv env;
        const std::string err = simtest::checkRandomRollout(env, 10000, 4, 1e-6); // float32 state: -1.2f < -1.2
        QVERIFY2(err.empty(), err.c_str());
    }
};

QTEST_APPLESS_MAIN(TestMountainCar)
#include "test_mountain_car.moc"
