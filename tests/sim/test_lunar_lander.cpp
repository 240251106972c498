// LunarLander-v3 / LunarLanderContinuous-v3: spaces, reward, termination, the Box2D
// 2.3 -> 2.4 porting pitfalls (reference angles, sleep -> +100, two-sided edges) and
// Gymnasium's wind option.
#include <QtTest>

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

#include "sim/registry.h"

#include "env_test_util.h"
#include "sim/lunar_lander.h"

using sim::LunarLanderEnv;

namespace {
constexpr double kPi = 3.14159265358979323846;

double shaping(const double* s) {
    return -100.0 * std::sqrt(s[0] * s[0] + s[1] * s[1]) - 100.0 * std::sqrt(s[2] * s[2] + s[3] * s[3]) -
           100.0 * std::abs(s[4]) + 10.0 * s[6] + 10.0 * s[7];
}

// steps with a no-op until the episode ends; returns the last result and the step count
core::StepResult runNoop(LunarLanderEnv& env, double* obs, int maxSteps, int* steps) {
    const double noop[2] = {0.0, 0.0};
    core::StepResult r;
    for (*steps = 0; *steps < maxSteps; ++*steps) {
        r = env.step({noop, static_cast<std::size_t>(env.spec().action.dim())}, {obs, 8});
        if (r.terminated || r.truncated) {
            ++*steps;
            break;
        }
    }
    return r;
}

// lowest y of the legs' polygons
double lowestLegPoint(const LunarLanderEnv& env) {
    double y = 1e9;
    for (int i = 0; i < 2; ++i) {
        const b2Body* leg = env.leg(i);
        const auto* poly = static_cast<const b2PolygonShape*>(leg->GetFixtureList()->GetShape());
        for (int k = 0; k < poly->m_count; ++k) y = std::min(y, static_cast<double>(b2Mul(leg->GetTransform(), poly->m_vertices[k]).y));
    }
    return y;
}

// lets the legs settle on their limits high up, then puts the feet `clearance` m above the pad
void placeAbovePad(LunarLanderEnv& env, double* obs, double clearance, double angle = 0.0) {
    env.setLanderPose(10.0, 11.0, 0.0);
    const double noop[2] = {0.0, 0.0};
    for (int i = 0; i < 40; ++i) env.step({noop, static_cast<std::size_t>(env.spec().action.dim())}, {obs, 8});
    env.setLanderPose(10.0, 6.0, angle);
    const double padY = 0.99 * (400.0 / 30.0) / 4.0; // 0.33·3·H/4
    env.setLanderPose(10.0, 6.0 - (lowestLegPoint(env) - padY) + clearance, angle);
}

// lander and legs together: total mass (kg), linear momentum (kg·m/s) and angular momentum
// about the world origin (kg·m²/s)
struct Momentum {
    double mass = 0.0, px = 0.0, py = 0.0, l = 0.0;
};
Momentum momentum(const LunarLanderEnv& env) {
    Momentum m;
    for (const b2Body* b : {env.lander(), env.leg(0), env.leg(1)}) {
        const double mass = b->GetMass();
        const b2Vec2 c = b->GetWorldCenter(), v = b->GetLinearVelocity();
        const b2Vec2 lc = b->GetLocalCenter();
        const double inertiaAtCentre = b->GetInertia() - mass * (lc.x * lc.x + lc.y * lc.y);
        m.mass += mass;
        m.px += mass * v.x;
        m.py += mass * v.y;
        m.l += inertiaAtCentre * b->GetAngularVelocity() + mass * (static_cast<double>(c.x) * v.y - static_cast<double>(c.y) * v.x);
    }
    return m;
}

// the moment of gravity (0, -10) m/s² about the origin on lander and legs, N·m
double gravityMoment(const LunarLanderEnv& env) {
    double t = 0.0;
    for (const b2Body* b : {env.lander(), env.leg(0), env.leg(1)}) t += b->GetWorldCenter().x * b->GetMass() * -10.0;
    return t;
}
} // namespace

class TestLunarLander : public QObject {
    Q_OBJECT

private slots:
    void spaces_data() {
        QTest::addColumn<bool>("continuous");
        QTest::newRow("discrete") << false;
        QTest::newRow("continuous") << true;
    }
    void spaces() {
        QFETCH(bool, continuous);
        LunarLanderEnv env(continuous);
        const auto& spec = env.spec();
        QCOMPARE(QString::fromStdString(spec.id), QString(continuous ? "LunarLanderContinuous-v3" : "LunarLander-v3"));
        QCOMPARE(spec.action.isDiscrete(), !continuous);
        if (continuous) {
            QCOMPARE(spec.action.low, (std::vector<double>{-1.0, -1.0}));
            QCOMPARE(spec.action.high, (std::vector<double>{1.0, 1.0}));
        } else {
            QCOMPARE(spec.action.n, 4);
        }
        QCOMPARE(spec.observation.dim(), 8);
        QCOMPARE(spec.observation.high, (std::vector<double>{2.5, 2.5, 10, 10, 2 * kPi, 10, 1, 1}));
        QCOMPARE(spec.maxEpisodeSteps, 1000);
        QCOMPARE(*spec.rewardThreshold, 200.0);
    }

    // pitfall 1: pybox2d sets referenceAngle = bodyB.angle - bodyA.angle; we must set it
    void legReferenceAngles() {
        LunarLanderEnv env(false);
        double obs[8];
        env.reset(3, obs);
        QCOMPARE(env.legJoint(0)->GetReferenceAngle(), -0.05f);
        QCOMPARE(env.legJoint(1)->GetReferenceAngle(), 0.05f);
        env.setLanderPose(10.0, 11.0, 0.0); // high up: the legs settle on their limits
        const double noop = 0.0;
        for (int steps = 0; steps < 40; ++steps) env.step({&noop, 1}, obs);
        // legs[0] (i = -1) rests on its lower limit 0.4, legs[1] (i = +1) on its upper limit -0.4
        QVERIFY2(std::abs(env.legJoint(0)->GetJointAngle() - 0.4f) < 0.02, qPrintable(QString::number(env.legJoint(0)->GetJointAngle())));
        QVERIFY2(std::abs(env.legJoint(1)->GetJointAngle() + 0.4f) < 0.02, qPrintable(QString::number(env.legJoint(1)->GetJointAngle())));
        // so the legs splay by 0.4 - 0.05 = 0.35 rad relative to the hull (0.4 if the reference were 0)
        const double rel0 = env.leg(0)->GetAngle() - env.lander()->GetAngle();
        const double rel1 = env.leg(1)->GetAngle() - env.lander()->GetAngle();
        QVERIFY2(std::abs(rel0 - 0.35) < 0.02, qPrintable(QString::number(rel0)));
        QVERIFY2(std::abs(rel1 + 0.35) < 0.02, qPrintable(QString::number(rel1)));
    }

    // pitfall 7: the moon is one static body with 11 two-sided edge fixtures
    void twoSidedEdges() {
        LunarLanderEnv env(false);
        double obs[8];
        env.reset(5, obs);
        int edges = 0;
        for (const b2Fixture* f = env.moon()->GetFixtureList(); f; f = f->GetNext()) {
            QCOMPARE(f->GetType(), b2Shape::e_edge);
            QVERIFY(!static_cast<const b2EdgeShape*>(f->GetShape())->m_oneSided);
            ++edges;
        }
        QCOMPARE(edges, 11);
        // behaviour: a lander placed below the ground edge (y < 0) and pushed upward collides
        // with it from below, which a one-sided edge would not do
        env.setLanderPose(1.0, -0.8, 0.0); // hull top 0.23 m below the edge y = 0
        const double up[1] = {0.0};
        for (int i = 0; i < 6; ++i) {
            const_cast<b2Body*>(env.lander())->SetLinearVelocity(b2Vec2(0.0f, 8.0f));
            env.step({up, 1}, obs);
        }
        QVERIFY(env.gameOver()); // the hull touched the edge from below
        QVERIFY2(env.lander()->GetPosition().y < -0.4f, qPrintable(QString::number(env.lander()->GetPosition().y)));
    }

    // pitfall 3: a lander at rest on the pad falls asleep; sleep is the +100 landing signal
    void restingLanderSleepsForPlus100_data() {
        QTest::addColumn<bool>("continuous");
        QTest::addColumn<quint64>("seed");
        QTest::newRow("discrete") << false << 1ull;
        QTest::newRow("continuous") << true << 2ull;
    }
    void restingLanderSleepsForPlus100() {
        QFETCH(bool, continuous);
        QFETCH(quint64, seed);
        LunarLanderEnv env(continuous);
        double obs[8];
        env.reset(seed, obs);
        placeAbovePad(env, obs, 0.02); // feet 2 cm above the pad
        int steps = 0;
        const auto r = runNoop(env, obs, 500, &steps);
        QVERIFY2(r.terminated, "the lander never fell asleep");
        QCOMPARE(r.reward, 100.0);
        QVERIFY(!env.lander()->IsAwake());
        QVERIFY(!env.gameOver());
        QCOMPARE(obs[6], 1.0);
        QCOMPARE(obs[7], 1.0);
        QVERIFY2(steps > 25 && steps < 300, qPrintable(QString::number(steps))); // b2_timeToSleep = 0.5 s
        // resting on its legs the lander origin is about LEG_DOWN above the pad: obs[1] ≈ 0
        QVERIFY2(std::abs(obs[1]) < 0.05, qPrintable(QString::number(obs[1])));
    }

    void hullContactIsGameOver() {
        LunarLanderEnv env(false);
        double obs[8];
        env.reset(4, obs);
        placeAbovePad(env, obs, 0.0, kPi); // upside down: the hull is now lowest
        int steps = 0;
        const auto r = runNoop(env, obs, 200, &steps);
        QVERIFY(r.terminated);
        QCOMPARE(r.reward, -100.0);
        QVERIFY(env.gameOver());
    }

    void outOfViewIsTerminal() {
        LunarLanderEnv env(true);
        double obs[8];
        env.reset(4, obs);
        env.setLanderPose(20.5, 9.0, 0.0);
        const double a[2] = {0.0, 0.0};
        const auto r = env.step(a, obs);
        QVERIFY(obs[0] >= 1.0);
        QVERIFY(r.terminated);
        QCOMPARE(r.reward, -100.0);
    }

    // reward = shaping(s') - shaping(s) - 0.3·m_power - 0.03·s_power
    void shapingReward_data() {
        QTest::addColumn<double>("a0");
        QTest::addColumn<double>("a1");
        QTest::addColumn<double>("mPower");
        QTest::addColumn<double>("sPower");
        QTest::newRow("off") << 0.0 << 0.0 << 0.0 << 0.0;
        QTest::newRow("main full") << 1.0 << 0.0 << 1.0 << 0.0;
        QTest::newRow("main half") << 0.5 << 0.0 << 0.75 << 0.0;
        QTest::newRow("main clipped") << 3.0 << 0.0 << 1.0 << 0.0;
        QTest::newRow("side dead zone") << -0.2 << 0.5 << 0.0 << 0.0;
        QTest::newRow("side right") << -1.0 << 0.7 << 0.0 << 0.7;
        QTest::newRow("side left weak") << 0.0 << -0.6 << 0.0 << 0.6;
        QTest::newRow("both") << 0.2 << -1.0 << 0.6 << 1.0;
    }
    void shapingReward() {
        QFETCH(double, a0);
        QFETCH(double, a1);
        QFETCH(double, mPower);
        QFETCH(double, sPower);
        LunarLanderEnv env(true);
        double prev[8], obs[8];
        env.reset(9, prev);
        const double a[2] = {a0, a1};
        const auto r = env.step(a, obs);
        QVERIFY(!r.terminated);
        const double expected = shaping(obs) - shaping(prev) - 0.3 * mPower - 0.03 * sPower;
        QVERIFY2(std::abs(r.reward - expected) < 1e-9, qPrintable(QString("%1 vs %2").arg(r.reward).arg(expected)));
    }

    void discreteEnginesPush() {
        // main engine decelerates the fall; side engines turn the lander in opposite ways
        double noFire[8], fire[8], left[8], right[8];
        auto run = [](int action, double* obs) {
            LunarLanderEnv env(false);
            env.reset(21, {obs, 8});
            const double a = action;
            for (int i = 0; i < 10; ++i) env.step({&a, 1}, {obs, 8});
        };
        run(0, noFire);
        run(2, fire);
        run(1, left);
        run(3, right);
        QVERIFY(fire[3] > noFire[3] + 0.1);
        QVERIFY(left[5] * right[5] < 0.0 || (left[5] - noFire[5]) * (right[5] - noFire[5]) < 0.0);
    }

    void truncationAt1000() {
        // hovering is hard to script; check the counter on a lander held by the viewer's grab
        LunarLanderEnv env(true);
        double obs[8];
        env.reset(12, obs);
        QVERIFY(env.grab({10.0f, static_cast<float>(env.lander()->GetPosition().y)}));
        const double a[2] = {0.0, 0.0};
        core::StepResult r;
        int t = 0;
        for (; t < 1000; ++t) {
            env.moveGrab({10.0f + 0.01f * static_cast<float>(t % 2), 10.0f}); // a moving target keeps it awake
            r = env.step(a, obs);
            if (r.terminated) break;
            QCOMPARE(r.truncated, t == 999);
        }
        QCOMPARE(t, 1000);
        QVERIFY(r.truncated);
    }

    void golden_data() {
        QTest::addColumn<bool>("continuous");
        QTest::addColumn<quint64>("expected");
        QTest::newRow("discrete") << false << Q_UINT64_C(0x7afbb800e2bd8bf7);
        QTest::newRow("continuous") << true << Q_UINT64_C(0xf73f909e7da3ba04);
    }
    void golden() {
        QFETCH(bool, continuous);
        QFETCH(quint64, expected);
        LunarLanderEnv env(continuous);
        const auto policy = simtest::fixedRandomPolicy(env.spec().action, 31);
        const std::uint64_t h1 = simtest::rolloutHash(env, 100, 300, policy);
        LunarLanderEnv other(continuous);
        QCOMPARE(simtest::rolloutHash(other, 100, 300, simtest::fixedRandomPolicy(env.spec().action, 31)), h1);
        QCOMPARE(simtest::rolloutHash(env, 100, 300, simtest::fixedRandomPolicy(env.spec().action, 31)), h1);
        qInfo("LunarLander golden hash 0x%016llx", static_cast<unsigned long long>(h1));
        QCOMPARE(h1, expected);
    }

    // Gymnasium's wind is off by default; the option names its variant and validates its values
    void windOption() {
        LunarLanderEnv calm(false);
        QVERIFY(!calm.wind().enabled);
        QCOMPARE(calm.spec().id, std::string("LunarLander-v3"));
        LunarLanderEnv windy(true, LunarLanderEnv::Wind{true});
        QCOMPARE(windy.spec().id, std::string("LunarLanderContinuousWind-v3"));
        QCOMPARE(windy.wind().power, 15.0);
        QCOMPARE(windy.wind().turbulence, 1.5);
        for (const char* id : {"LunarLanderWind-v3", "LunarLanderContinuousWind-v3"}) {
            auto env = sim::makeEnvironment(id);
            QVERIFY(env);
            const auto* lander = dynamic_cast<const LunarLanderEnv*>(env.get());
            QVERIFY(lander);
            QVERIFY(lander->wind().enabled);
            QCOMPARE(lander->wind().power, 15.0);
            QCOMPARE(lander->wind().turbulence, 1.5);
        }
        // Gymnasium's ranges, inclusive; Gymnasium only warns, the port refuses
        for (LunarLanderEnv::Wind ok : {LunarLanderEnv::Wind{true, 0.0, 0.0}, LunarLanderEnv::Wind{true, 20.0, 2.0}})
            LunarLanderEnv(false, ok);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (LunarLanderEnv::Wind bad : {LunarLanderEnv::Wind{true, -0.5, 1.5}, LunarLanderEnv::Wind{true, 20.5, 1.5},
                                         LunarLanderEnv::Wind{true, 15.0, -0.1}, LunarLanderEnv::Wind{true, 15.0, 2.5},
                                         LunarLanderEnv::Wind{false, 30.0, 1.5}, LunarLanderEnv::Wind{true, nan, 1.5}}) {
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LunarLanderEnv(false, bad));
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, bad.validate());
        }
        try {
            LunarLanderEnv(false, LunarLanderEnv::Wind{true, 25.0, 1.5});
            QFAIL("wind power 25 accepted");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(std::string(e.what()).find("[0, 20]") != std::string::npos, e.what());
        }
    }

    // tanh(sin(0.02·k) + sin(π·0.01·k)), values from Python's math module
    void windProfile() {
        QCOMPARE(LunarLanderEnv::windProfile(0), 0.0);
        const std::pair<long long, double> cases[] = {
            {50, 0.950936143654817}, {-100, -0.7207948703648464}, {1234, 0.41271104305454265}, {-9999, 0.723178518548366}};
        for (const auto& [k, expected] : cases) QVERIFY(std::abs(LunarLanderEnv::windProfile(k) - expected) < 1e-14);
    }

    // the indices are drawn at reset from [-9999, 9998] (NumPy's integers(-9999, 9999)), then
    // the reset's own step uses one; the same seed draws the same, the draws vary with it
    void windIndicesDrawnAtReset() {
        LunarLanderEnv env(false, LunarLanderEnv::Wind{true});
        double obs[8];
        std::set<long long> seen;
        for (std::uint64_t seed = 0; seed < 50; ++seed) {
            env.reset(seed, {obs, 8});
            const long long k = env.windIndex() - 1, kt = env.torqueIndex() - 1;
            QVERIFY(k >= -9999 && k <= 9998);
            QVERIFY(kt >= -9999 && kt <= 9998);
            seen.insert(k);
            LunarLanderEnv again(false, LunarLanderEnv::Wind{true});
            again.reset(seed, {obs, 8});
            QCOMPARE(again.windIndex(), env.windIndex());
            QCOMPARE(again.torqueIndex(), env.torqueIndex());
        }
        QVERIFY(seen.size() > 45);
        // the draws come after the terrain and the initial force: the same world as without wind
        LunarLanderEnv calm(false);
        env.reset(3, {obs, 8});
        calm.reset(3, {obs, 8});
        for (const b2Fixture *f = env.moon()->GetFixtureList(), *g = calm.moon()->GetFixtureList(); f || g;
             f = f->GetNext(), g = g->GetNext()) {
            QVERIFY(f && g);
            const auto* a = static_cast<const b2EdgeShape*>(f->GetShape());
            const auto* b = static_cast<const b2EdgeShape*>(g->GetShape());
            QCOMPARE(a->m_vertex1, b->m_vertex1);
            QCOMPARE(a->m_vertex2, b->m_vertex2);
        }
    }

    // one step in the air with a no-op: the wind changes the total momentum of lander and legs
    // by force·dt along x, the turbulence their angular momentum by torque·dt (plus gravity's)
    void windForceAndTorque_data() {
        QTest::addColumn<double>("power");
        QTest::addColumn<double>("turbulence");
        QTest::newRow("wind 15") << 15.0 << 0.0;
        QTest::newRow("wind 20, turbulence 2") << 20.0 << 2.0;
        QTest::newRow("turbulence 1.5") << 0.0 << 1.5;
    }
    void windForceAndTorque() {
        QFETCH(double, power);
        QFETCH(double, turbulence);
        const double dt = 1.0 / 50.0;
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            LunarLanderEnv env(false, LunarLanderEnv::Wind{true, power, turbulence});
            double obs[8];
            env.reset(seed, {obs, 8});
            // legs settled on their limits high up, then at rest
            env.setLanderPose(10.0, 11.0, 0.0);
            const double noop = 0.0;
            for (int i = 0; i < 40; ++i) env.step({&noop, 1}, {obs, 8});
            env.setLanderPose(10.0, 11.0, 0.0);
            const Momentum before = momentum(env);
            const double gravity = gravityMoment(env);
            const b2Vec2 c = env.lander()->GetWorldCenter();
            const long long k = env.windIndex(), kt = env.torqueIndex();
            const double force = static_cast<float>(LunarLanderEnv::windProfile(k) * power);
            const double torque = static_cast<float>(LunarLanderEnv::windProfile(kt) * turbulence);
            env.step({&noop, 1}, {obs, 8});
            QCOMPARE(env.windIndex(), k + 1);
            QCOMPARE(env.torqueIndex(), kt + 1);
            const Momentum after = momentum(env);
            QVERIFY2(std::abs((after.px - before.px) - force * dt) < 1e-5,
                     qPrintable(QStringLiteral("dPx %1, force·dt %2").arg(after.px - before.px).arg(force * dt)));
            QVERIFY(std::abs((after.py - before.py) + 10.0 * before.mass * dt) < 1e-4);
            // what is left of dL once gravity's and the wind force's moments are taken out
            const double turbulenceL = (after.l - before.l) - (gravity - c.y * force) * dt;
            QVERIFY2(std::abs(turbulenceL - torque * dt) < 1e-4,
                     qPrintable(QStringLiteral("dL %1, torque·dt %2").arg(turbulenceL).arg(torque * dt)));
            if (power > 0.0) QVERIFY(std::abs(force) > 0.05); // the check above tests something
            if (turbulence > 0.0) QVERIFY(std::abs(torque) > 0.05);
        }
    }

    // no wind once a leg touches the ground: the indices stop
    void windStopsOnLegContact() {
        LunarLanderEnv env(false, LunarLanderEnv::Wind{true});
        double obs[8];
        env.reset(4, {obs, 8});
        placeAbovePad(env, obs, 0.02);
        const double noop = 0.0;
        int contactSteps = 0;
        for (int t = 0; t < 100 && contactSteps < 10; ++t) {
            const bool touching = env.legContact(0) || env.legContact(1);
            const long long k = env.windIndex();
            env.step({&noop, 1}, {obs, 8});
            QCOMPARE(env.windIndex(), touching ? k : k + 1);
            if (touching) ++contactSteps;
        }
        QCOMPARE(contactSteps, 10);
    }

    // the windy variant is deterministic per seed and differs from the calm one
    void windGolden() {
        LunarLanderEnv a(true, LunarLanderEnv::Wind{true}), b(true, LunarLanderEnv::Wind{true}), calm(true);
        const auto policy = [&](LunarLanderEnv& e) { return simtest::fixedRandomPolicy(e.spec().action, 31); };
        const std::uint64_t h = simtest::rolloutHash(a, 100, 300, policy(a));
        QCOMPARE(simtest::rolloutHash(b, 100, 300, policy(b)), h);
        QVERIFY(simtest::rolloutHash(calm, 100, 300, policy(calm)) != h);
    }

    void randomSteps_data() {
        QTest::addColumn<bool>("continuous");
        QTest::newRow("discrete") << false;
        QTest::newRow("continuous") << true;
    }
    void randomSteps() {
        QFETCH(bool, continuous);
        LunarLanderEnv env(continuous);
        int episodes = 0;
        // Gymnasium does not wrap the angle (obs[4]); a lander spun by its side engines can
        // exceed the Box's ±2π, so only finiteness is checked for it
        const std::string err = simtest::checkRandomRollout(env, 10000, 17, 1e-6, &episodes, {4});
        QVERIFY2(err.empty(), err.c_str());
        QVERIFY(episodes > 10);
    }
};

QTEST_APPLESS_MAIN(TestLunarLander)
#include "test_lunar_lander.moc"
