// The divergence guardrail (core/guardrail.h): it fires on NaN and inf from an environment and
// on a collapse of the return, broken environment output never reaches the critic or the
// normalisers, and rollBack() restores the last good state bit for bit.
#include <QtTest>

#include <cstring>

#include "core/trainer.h"
#include "sim/registry.h"
#include "support/test_util.h"
#include "support/scripted_environment.h"

using namespace core;

namespace {
using testutil::sameBits;

// what rollBack() restores: policy, critic with its optimiser, normalisers, critic RNG
bool sameLearnedState(const TrainerState& a, const TrainerState& b) {
    return sameBits(a.theta, b.theta) && sameBits(a.critic, b.critic) && sameBits(a.obsStats.mean, b.obsStats.mean) &&
           sameBits(a.obsStats.var, b.obsStats.var) && a.obsStats.count == b.obsStats.count &&
           sameBits(a.rewardStats.mean, b.rewardStats.mean) && sameBits(a.rewardStats.var, b.rewardStats.var) &&
           a.rewardStats.count == b.rewardStats.count &&
           std::equal(std::begin(a.criticRng.s), std::end(a.criticRng.s), std::begin(b.criticRng.s));
}
bool allFinite(const TrainerState& s) {
    return s.theta.allFinite() && s.critic.allFinite() && s.obsStats.mean.allFinite() && s.obsStats.var.allFinite() &&
           s.rewardStats.mean.allFinite() && s.rewardStats.var.allFinite();
}
TrpoConfig config() {
    TrpoConfig c;
    c.env = "CartPole-v1";
    c.seed = 3;
    c.stepsPerIteration = 512;
    c.normalizeObs = true;
    c.normalizeReward = true;
    c.threads = 1;
    return c;
}
} // namespace

class TestGuardrail : public QObject {
    Q_OBJECT
private slots:
    void nonFiniteEnvironmentOutputNeverReachesTheLearner_data() {
        QTest::addColumn<QString>("what");
        QTest::newRow("NaN observation") << "nan-obs";
        QTest::newRow("inf observation") << "inf-obs";
        QTest::newRow("NaN reward") << "nan-reward";
    }
    void nonFiniteEnvironmentOutputNeverReachesTheLearner() {
        QFETCH(QString, what);
        const EnvFactory cartPole = sim::environmentFactory("CartPole-v1");
        EnvFactory factory;
        if (what == "nan-obs") factory = testutil::nanAtStep(cartPole, 700);
        if (what == "inf-obs") factory = testutil::nanAtStep(cartPole, 700, std::numeric_limits<double>::infinity());
        if (what == "nan-reward")
            factory = [cartPole] {
                return std::make_unique<testutil::ScriptedEnvironment>(cartPole(), nullptr, [](long step, double r) {
                    return step == 700 ? std::numeric_limits<double>::quiet_NaN() : r;
                });
            };
        Trainer t(config(), factory);
        const IterationStats first = t.iterate();
        QCOMPARE(first.divergence, Divergence::None);
        const TrainerState good = t.state();

        // step 700 falls in iteration 2: it is reported, and nothing learns from that batch
        const IterationStats bad = t.iterate();
        QCOMPARE(bad.divergence, Divergence::NonFiniteEnvironment);
        QCOMPARE(bad.nonFiniteEnvSteps, 1);
        QVERIFY(!bad.accepted);
        QCOMPARE(bad.outcome, LineSearchOutcome::NonFinite);
        QVERIFY(std::isfinite(bad.returnMean.value_or(0)));
        QVERIFY(sameLearnedState(t.state(), good));
        QVERIFY(allFinite(t.state()));
        QVERIFY(!explainDivergence(bad, t.guardMemory(), t.config()).empty());

        // rolling back restores the state after iteration 1 (here: what it already is)
        QCOMPARE(t.rollBack(), std::optional<int>(1));
        QVERIFY(sameLearnedState(t.state(), good));
        QCOMPARE(t.iteration(), 2); // the counters go on

        // and training goes on, finite
        for (int i = 0; i < 2; ++i) {
            const IterationStats next = t.iterate();
            QCOMPARE(next.divergence, Divergence::None);
            QCOMPARE(next.nonFiniteEnvSteps, 0);
            QVERIFY(next.accepted);
            QVERIFY(std::isfinite(next.valueLossAfter));
        }
        QVERIFY(allFinite(t.state()));
    }

    // rewards that turn from small to large to negative: the return rises past halfway to
    // the threshold, then collapses; the rollback goes back to before the update that
    // produced the collapsed policy
    void collapseIsCaughtAndRolledBack() {
        const EnvFactory cartPole = sim::environmentFactory("CartPole-v1");
        auto phased = [cartPole] {
            return std::make_unique<testutil::ScriptedEnvironment>(
                cartPole(), nullptr,
                [](long step, double r) { return step < 512 ? 0.1 * r : step < 1024 ? r : -r; }, 20.0);
        };
        for (double drop : {0.5, 0.0}) {
            TrpoConfig c = config();
            c.collapseDrop = drop;
            Trainer t(c, phased);
            QCOMPARE(t.iterate().divergence, Divergence::None);
            const TrainerState afterFirst = t.state();
            QCOMPARE(t.iterate().divergence, Divergence::None);
            QVERIFY(t.guardMemory().baseReturn && t.guardMemory().bestReturn);
            QVERIFY(*t.guardMemory().bestReturn > *t.guardMemory().baseReturn);
            const IterationStats third = t.iterate();
            if (drop == 0.0) {
                QCOMPARE(third.divergence, Divergence::None); // the check is off
                continue;
            }
            QCOMPARE(third.divergence, Divergence::ReturnCollapse);
            QCOMPARE(t.lastDivergence(), Divergence::ReturnCollapse);
            const std::string why = explainDivergence(third, t.guardMemory(), t.config());
            QVERIFY2(why.find("fell from") != std::string::npos, why.c_str());
            QCOMPARE(t.rollBack(), std::optional<int>(1));
            QVERIFY(sameLearnedState(t.state(), afterFirst));
            QCOMPARE(t.iteration(), 3);
            QCOMPARE(t.lastDivergence(), Divergence::None);
            // the restored policy falls too (the rewards stay negative): no step made it, so
            // no second roll back to the same state; R* re-based to the 20-episode mean
            const double bestBefore = *t.guardMemory().bestReturn;
            const IterationStats fourth = t.iterate();
            QCOMPARE(fourth.divergence, Divergence::None);
            QVERIFY(t.guardMemory().bestReturn && *t.guardMemory().bestReturn < bestBefore);
            QCOMPARE(*t.guardMemory().bestReturn, *fourth.recentReturnMean);
        }
    }

    void collapseDefinition() {
        GuardMemory m;
        IterationStats s;
        s.episodes = 5;
        s.returnMean = 20;
        s.recentReturnMean = 20;
        s.accepted = true; // each iteration's step accepted: the next policy is a step's
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::None); // nothing remembered yet
        rememberIteration(s, m, 0.5, 475.0);
        QCOMPARE(m.baseReturn, std::optional<double>(20));
        // best 200: not yet halfway from 20 to 475, so not armed
        s.recentReturnMean = 200;
        rememberIteration(s, m, 0.5, 475.0);
        s.returnMean = 10;
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::None);
        // best 400: armed; a fall below 400 - 0.5 (400 - 20) = 210 is a collapse
        s.recentReturnMean = 400;
        rememberIteration(s, m, 0.5, 475.0);
        s.returnMean = 211;
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::None);
        s.returnMean = 209;
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::ReturnCollapse);
        QCOMPARE(checkDivergence(s, m, 0.0, 475.0), Divergence::None);
        QCOMPARE(checkDivergence(s, m, 0.5, std::nullopt), Divergence::None);
        s.episodes = 4; // too few episodes to judge
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::None);
        s.episodes = 5;
        s.returnMean.reset(); // no episode finished: nothing to judge
        QCOMPARE(checkDivergence(s, m, 0.5, 475.0), Divergence::None);

        // the same fall of a policy no step changed (the last iteration took no step, or it
        // was rolled back) is not a collapse: rolling back would bring back the same policy.
        // R* is re-based to the 20-episode mean of now, and a later fall counts from there
        {
            GuardMemory u = m;
            u.lastStepAccepted = false;
            IterationStats f = s;
            f.returnMean = 150;
            f.recentReturnMean = 300;
            f.accepted = true;
            QCOMPARE(checkDivergence(f, u, 0.5, 475.0), Divergence::None);
            rememberIteration(f, u, 0.5, 475.0);
            QCOMPARE(u.bestReturn, std::optional<double>(300));
            QVERIFY(u.lastStepAccepted);
            f.returnMean = 161; // above 300 - 0.5 (300 - 20) = 160
            QCOMPARE(checkDivergence(f, u, 0.5, 475.0), Divergence::None);
            f.returnMean = 159;
            QCOMPARE(checkDivergence(f, u, 0.5, 475.0), Divergence::ReturnCollapse);
            // a good iteration of an unchanged policy leaves R* alone
            GuardMemory g = m;
            g.lastStepAccepted = false;
            f.returnMean = 390;
            f.recentReturnMean = 380;
            rememberIteration(f, g, 0.5, 475.0);
            QCOMPARE(g.bestReturn, std::optional<double>(400));
        }

        // the explanation names δ when a large δ took a large step
        s.returnMean = 12;
        s.iteration = 40;
        s.divergence = Divergence::ReturnCollapse;
        m.lastStepAccepted = true; // the step before produced the collapsed policy
        m.lastStepKl = 1.6;
        TrpoConfig c;
        c.delta = 2;
        const std::string why = explainDivergence(s, m, c);
        QVERIFY2(why.find("δ = 2 let one step change the policy too much: the mean return fell from 400 to 12") !=
                     std::string::npos,
                 why.c_str());
        // a small step inside a small δ points at the batch instead
        c.delta = 0.01;
        m.lastStepKl = 0.004;
        const std::string noisy = explainDivergence(s, m, c);
        QVERIFY2(noisy.find("too noisy") != std::string::npos && noisy.find("δ = 0.01") != std::string::npos,
                 noisy.c_str());
    }

    void guardMemoryTravelsWithTheState() {
        Trainer a(config(), sim::environmentFactory("CartPole-v1"));
        for (int i = 0; i < 3; ++i) a.iterate();
        QVERIFY(a.guardMemory().baseReturn);
        Trainer b(config(), sim::environmentFactory("CartPole-v1"));
        b.loadState(a.saveState());
        QVERIFY(b.guardMemory() == a.guardMemory());
        QVERIFY(!b.rollBack()); // nothing to roll back to in a freshly loaded trainer
    }
};

QTEST_APPLESS_MAIN(TestGuardrail)
#include "test_guardrail.moc"
