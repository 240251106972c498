// TrainerState and the phase stepper (core/trainer.h): the whole training state is one
// value (roll back and fork are a copy and an assignment), and an iteration run phase by
// phase is bit for bit a normal one.
#include <QtTest>
#include <cstring>
#include <sstream>

#include "core/presets.h"
#include "core/trainer.h"
#include "support/test_util.h"
#include "sim/registry.h"

using namespace core;

namespace {

using testutil::sameBits;

TrpoConfig smallConfig(const std::string& env) {
    TrpoConfig c = presetConfig(env);
    c.stepsPerIteration = 1024;
    c.numEnvs = 4;
    c.valueEpochs = 2;
    c.seed = 11;
    return c;
}

} // namespace

class TestTrainerState : public QObject {
    Q_OBJECT
private slots:
    void rollBackIsAnAssignment_data() {
        QTest::addColumn<QString>("env");
        QTest::addColumn<bool>("normalize");
        QTest::newRow("CartPole") << "CartPole-v1" << false;
        QTest::newRow("Pendulum+normalisers") << "Pendulum-v1" << true;
        QTest::newRow("LunarLanderContinuous (held noise)") << "LunarLanderContinuous-v3" << true;
    }
    // copy the state, run 3 iterations, assign the copy back, run 3 again: the same results
    void rollBackIsAnAssignment() {
        QFETCH(QString, env);
        QFETCH(bool, normalize);
        TrpoConfig c = smallConfig(env.toStdString());
        c.normalizeObs = c.normalizeReward = normalize;
        Trainer t(c, sim::environmentFactory(c.env));
        testutil::iterateRows(t, 2); // mid-episode environment copies, trained critic and normalisers
        const TrainerState saved = t.state();
        const std::vector<std::string> first = testutil::iterateRows(t, 3);
        const VectorXd thetaFirst = t.theta();
        QVERIFY(!sameBits(thetaFirst, saved.theta)); // training moved θ
        t.setState(saved);
        QCOMPARE(t.iteration(), saved.iteration);
        QVERIFY(sameBits(t.theta(), saved.theta));
        const std::vector<std::string> second = testutil::iterateRows(t, 3);
        QCOMPARE(second, first);
        QVERIFY(sameBits(t.theta(), thetaFirst));
    }

    // a fork: another trainer given the same state continues exactly like the original
    void forkContinuesLikeTheOriginal() {
        const TrpoConfig c = smallConfig("CartPole-v1");
        Trainer a(c, sim::environmentFactory(c.env));
        testutil::iterateRows(a, 2);
        Trainer b(c, sim::environmentFactory(c.env));
        b.setState(a.state());
        QCOMPARE(testutil::iterateRows(b, 3), testutil::iterateRows(a, 3));
        QVERIFY(sameBits(a.theta(), b.theta()));
        // a variant with another δ starts from the same point and then differs
        Trainer v(c, sim::environmentFactory(c.env));
        TrainerState s = a.state();
        s.config.delta = 0.05;
        v.setState(s);
        QCOMPARE(v.config().delta, 0.05);
        QVERIFY(testutil::iterateRows(v, 1) != testutil::iterateRows(a, 1));
    }

    // a state that does not fit: clear message, nothing changed
    void mismatchedStatesAreRefused() {
        const TrpoConfig c = smallConfig("CartPole-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        testutil::iterateRows(t, 1);
        const TrainerState good = t.state();
        auto expectRefused = [&](TrainerState bad, const char* needle) {
            try {
                t.setState(bad);
                QFAIL("an unfit state was accepted");
            } catch (const std::runtime_error& e) {
                QVERIFY2(QString(e.what()).contains(needle), e.what());
            }
            QCOMPARE(t.iteration(), good.iteration);
            QVERIFY(sameBits(t.theta(), good.theta));
        };
        TrainerState s = good;
        s.config.hidden = {32};
        expectRefused(s, "hidden");
        s = good;
        s.theta.conservativeResize(s.theta.size() - 1);
        expectRefused(s, "policy parameters");
        s = good;
        s.critic.conservativeResize(3);
        expectRefused(s, "value function");
        s = good;
        s.copies.pop_back();
        expectRefused(s, "environment copies");
        s = good;
        s.config.delta = -1;
        expectRefused(s, "delta");
        // and the trainer still continues as if nothing happened
        Trainer u(c, sim::environmentFactory(c.env));
        u.setState(good);
        QCOMPARE(testutil::iterateRows(t, 2), testutil::iterateRows(u, 2));
    }

    // an iteration run phase by phase equals iterate(), phases come in order, and the
    // state is only taken between iterations
    void phaseByPhaseEqualsIterate() {
        TrpoConfig c = smallConfig("Pendulum-v1");
        Trainer a(c, sim::environmentFactory(c.env)), b(c, sim::environmentFactory(c.env));
        const std::vector<std::string> expected = testutil::iterateRows(a, 3);
        std::vector<std::string> got;
        std::vector<Phase> order;
        while (static_cast<int>(got.size()) < 3) {
            QCOMPARE(b.midIteration(), !order.empty() && order.back() != Phase::Report);
            if (b.midIteration()) QVERIFY_THROWS_EXCEPTION(std::logic_error, b.state());
            const PhaseResult r = b.runPhase();
            order.push_back(r.phase);
            if (r.phase == Phase::SurrogateGradient) {
                const auto& g = std::get<SurrogateGradient>(r.result);
                QCOMPARE(g.g.size(), static_cast<Eigen::Index>(b.policy().numParams()));
                QCOMPARE(r.stats.gradNorm, g.gradNorm);
            }
            if (r.phase == Phase::StepScale) {
                const auto& s = std::get<StepScale>(r.result);
                QVERIFY(s.beta > 0);
                QCOMPARE(r.stats.beta, s.beta);
            }
            if (r.phase == Phase::LineSearch) {
                const auto& ls = std::get<LineSearchResult>(r.result);
                QCOMPARE(static_cast<int>(ls.trials.size()), static_cast<int>(r.stats.trials.size()));
            }
            if (r.phase == Phase::Report) got.push_back(testutil::statsWithoutTiming(r.stats));
        }
        QCOMPARE(got, expected);
        QVERIFY(sameBits(a.theta(), b.theta()));
        const std::vector<Phase> one{Phase::Sample,    Phase::Advantages, Phase::SurrogateGradient,
                                    Phase::NaturalDirection, Phase::StepScale, Phase::LineSearch,
                                    Phase::ValueFit,  Phase::Report};
        for (size_t i = 0; i < order.size(); ++i) QCOMPARE(order[i], one[i % one.size()]);
        QCOMPARE(std::string(phaseName(Phase::NaturalDirection)), std::string("natural_direction"));
    }

    // a hot change made between two phases applies from the next iteration, as in iterate()
    void hotChangeMidIterationWaitsForTheNextOne() {
        TrpoConfig c = smallConfig("CartPole-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        t.runPhase(); // sample
        TrpoConfig next = t.config();
        next.delta = 0.02;
        const auto changes = t.applyHotConfig(next);
        QCOMPARE(static_cast<int>(changes.size()), 1);
        QCOMPARE(changes[0].iteration, 2);
        QCOMPARE(t.iterate().delta, c.delta);
        QCOMPARE(t.iterate().delta, 0.02);
    }
};

QTEST_GUILESS_MAIN(TestTrainerState)
#include "test_trainer_state.moc"
