// The algorithms on TRPO's pipeline (core/algorithms.h, docs/algorithm.md §11): each
// first-order objective's gradient against central differences, NPG's step on the quadratic
// KL model, the adaptive β rule, the critic trained in PPO's steps (value_coeff), and PPO's
// determinism and resume through the trainer.
#include <QtTest>

#include <cstring>
#include <limits>

#include "core/algorithms.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"
#include "support/test_util.h"
#include "support/update_problem.h"

using namespace core;
using namespace testutil;

namespace {
// the relative distance |a − b| / max(|a|, |b|) of two vectors
double relDiff(const VectorXd& a, const VectorXd& b) {
    return (a - b).norm() / std::max({a.norm(), b.norm(), 1e-300});
}

// the objective settings of the gradient tests: a KL term, a clip and an entropy term that
// all matter
ObjectiveSettings testObjective(int algo) {
    ObjectiveSettings s;
    s.algo = static_cast<Algorithm>(algo);
    s.klBeta = 3.0;
    s.clipRange = 0.1;
    s.entropyCoeff = 0.05;
    return s;
}

TrpoConfig cartPole(Algorithm algo) {
    TrpoConfig c = presetConfig("CartPole-v1");
    c.algo = algo;
    c.stepsPerIteration = 512;
    c.numEnvs = 4;
    c.valueEpochs = 2;
    c.seed = 11;
    return c;
}
} // namespace

class TestAlgorithms : public QObject {
    Q_OBJECT
private slots:
    void algorithmNamesRoundTrip() {
        for (Algorithm a : {Algorithm::Trpo, Algorithm::Npg, Algorithm::Vpg, Algorithm::KlPenalty,
                            Algorithm::KlAdaptive, Algorithm::Ppo})
            QCOMPARE(algorithmFromName(algorithmName(a)), a);
        TrpoConfig c;
        QCOMPARE(configValue(c, "algo"), std::string("trpo"));
        setConfigValue(c, "algo", "ppo");
        QCOMPARE(c.algo, Algorithm::Ppo);
        QVERIFY_THROWS_EXCEPTION(ConfigError, setConfigValue(c, "algo", "sac"));
        QVERIFY(!findConfigField("algo")->hot);
    }

    // ∇J of each first-order objective equals central differences of J, for a categorical and
    // a Gaussian policy, at a θ away from θ_old (ratios ≠ 1, KL > 0) and with an entropy term
    void objectiveGradientMatchesFiniteDifferences_data() {
        QTest::addColumn<int>("algo");
        QTest::addColumn<bool>("discrete");
        for (bool discrete : {true, false}) {
            const char* kind = discrete ? "categorical" : "gaussian";
            QTest::newRow(qPrintable(QString("vpg %1").arg(kind))) << int(Algorithm::Vpg) << discrete;
            QTest::newRow(qPrintable(QString("kl_penalty %1").arg(kind))) << int(Algorithm::KlPenalty) << discrete;
            QTest::newRow(qPrintable(QString("ppo %1").arg(kind))) << int(Algorithm::Ppo) << discrete;
        }
    }
    void objectiveGradientMatchesFiniteDifferences() {
        QFETCH(int, algo);
        QFETCH(bool, discrete);
        const UpdateProblem p = makeUpdateProblem(discrete, 5, 64, 5, discrete ? 4 : 3);
        NetworkWorkspace ws;
        DistBatch oldDist, dist;
        p.policy.distribution(p.theta, p.obs, ws, oldDist);
        const ObjectiveSettings s = testObjective(algo);
        Rng rng(17);
        const VectorXd theta = p.theta + randomVector(p.policy.numParams(), rng, 0.05);
        const ObjectiveValue o = policyObjective(p.policy, theta, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, ws, dist);
        QVERIFY(o.klMean > 0);
        if (s.algo == Algorithm::Ppo) {
            // some samples clipped, and none within reach of a kink of the min/clip
            QVERIFY(o.clipFraction > 0 && o.clipFraction < 1);
            p.policy.distribution(theta, p.obs, ws, dist);
            const VectorXd r = (p.policy.logProb(dist, p.actions) - p.oldLogp).array().exp();
            const double margin = ((r.array() - 1.0).abs() - s.clipRange).abs().minCoeff();
            QVERIFY2(margin > 1e-4, qPrintable(QString("a ratio sits %1 from a kink").arg(margin)));
        }
        const VectorXd fd = numericGradient(
            [&](const VectorXd& t) {
                NetworkWorkspace w;
                DistBatch d;
                return policyObjective(p.policy, t, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, w, d).value;
            },
            theta, 1e-6);
        QVERIFY2(relDiff(o.grad, fd) < 1e-6, qPrintable(QString("relative error %1").arg(relDiff(o.grad, fd))));
    }

    // the minibatch passes in single precision (policyObjective's floatPass, the default of
    // firstOrderUpdate): the same value and gradient as in double, to float's rounding, for
    // every objective, both action kinds and a CNN
    void floatPassMatchesDouble_data() { objectiveGradientMatchesFiniteDifferences_data(); }
    void floatPassMatchesDouble() {
        QFETCH(int, algo);
        QFETCH(bool, discrete);
        const NetworkSpec cnn = smallCnnSpec();
        for (const NetworkSpec* net : {static_cast<const NetworkSpec*>(nullptr), &cnn}) {
            const UpdateProblem p = net ? makeUpdateProblem(discrete, 6, 96, net->inputs, discrete ? 4 : 3, net)
                                        : makeUpdateProblem(discrete, 6, 96, 5, discrete ? 4 : 3);
            NetworkWorkspace ws;
            DistBatch oldDist, dist;
            p.policy.distribution(p.theta, p.obs, ws, oldDist);
            const ObjectiveSettings s = testObjective(algo);
            Rng rng(23);
            const VectorXd theta = p.theta + randomVector(p.policy.numParams(), rng, 0.05);
            const ObjectiveValue d = policyObjective(p.policy, theta, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, ws, dist);
            Policy::FloatPass pass;
            const ObjectiveValue f =
                policyObjective(p.policy, theta, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, ws, dist, &pass);
            const QString what = QString("%1, %2").arg(net ? "cnn" : "mlp").arg(relDiff(f.grad, d.grad));
            QVERIFY2(relDiff(f.grad, d.grad) < 1e-5, qPrintable(what));
            QVERIFY2(!sameBits(f.grad, d.grad), qPrintable(what)); // it did run in float
            QVERIFY(std::fabs(f.value - d.value) <= 1e-5 * std::max(1.0, std::fabs(d.value)));
            QVERIFY(std::fabs(f.klMean - d.klMean) <= 1e-5 * std::max(1e-3, d.klMean));
        }
    }

    // the KL term alone: with Â = 0 the penalty objective is −β·mean KL, whose gradient is
    // zero at θ_old and matches central differences elsewhere
    void klTermGradient() {
        for (bool discrete : {true, false}) {
            UpdateProblem p = makeUpdateProblem(discrete, 8, 48, 4, discrete ? 3 : 2);
            p.adv.setZero();
            NetworkWorkspace ws;
            DistBatch oldDist, dist;
            p.policy.distribution(p.theta, p.obs, ws, oldDist);
            ObjectiveSettings s;
            s.algo = Algorithm::KlPenalty;
            s.klBeta = 2.0;
            const ObjectiveValue atOld =
                policyObjective(p.policy, p.theta, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, ws, dist);
            QVERIFY(atOld.grad.norm() < 1e-12);
            Rng rng(3);
            const VectorXd theta = p.theta + randomVector(p.policy.numParams(), rng, 0.1);
            const ObjectiveValue o = policyObjective(p.policy, theta, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, ws, dist);
            QCOMPARE(o.value, -2.0 * o.klMean);
            const VectorXd fd = numericGradient(
                [&](const VectorXd& t) {
                    NetworkWorkspace w;
                    DistBatch d;
                    return policyObjective(p.policy, t, p.obs, p.actions, p.adv, p.oldLogp, oldDist, s, w, d).value;
                },
                theta, 1e-6);
            QVERIFY2(relDiff(o.grad, fd) < 1e-6, qPrintable(QString("relative error %1").arg(relDiff(o.grad, fd))));
        }
    }

    // NPG: β puts the quadratic KL model ½β²xᵀFx exactly on δ (no damping), and the step
    // taken is βx whatever the KL, which for a small δ is close to δ (the model's error is of
    // third order in the step, so relative to δ it shrinks like √δ)
    void naturalStepSitsOnTheQuadraticModel() {
        for (bool discrete : {true, false}) {
            const UpdateProblem p = makeUpdateProblem(discrete, 21, 256, 5, discrete ? 4 : 3);
            UpdateSettings us;
            us.delta = 1e-6;
            us.cgDamping = 0.0;
            us.cgIters = 50;
            us.fvpDoublePrecision = true;
            UpdateWorkspace ws;
            const UpdateBatch batch = p.batch();
            const SurrogateGradient g = surrogateGradient(p.policy, p.theta, batch, us, ws);
            const NaturalDirection dir = naturalDirection(p.policy, p.theta, g.g, us, ws);
            const StepScale step = stepScale(g.g, dir, us.delta);
            // xᵀFx from an independent Fisher-vector product on the whole batch
            NetworkWorkspace mws;
            DistBatch d;
            p.policy.distribution(p.theta, p.obs, mws, d);
            VectorXd Fx(p.policy.numParams());
            p.policy.fisherVectorProduct(p.theta, d, dir.x, mws, Fx);
            const double model = 0.5 * step.beta * step.beta * dir.x.dot(Fx);
            QVERIFY2(std::abs(model - us.delta) < 1e-9 * us.delta, qPrintable(QString("model KL %1").arg(model)));
            VectorXd theta = p.theta;
            const LineSearchResult r = naturalStep(p.policy, theta, batch, g, step, us, ws);
            QVERIFY(r.accepted);
            QCOMPARE(r.trials.size(), size_t(1));
            QVERIFY(sameBits(theta, VectorXd(p.theta + step.fullStep)));
            QVERIFY2(std::abs(r.klMean - us.delta) < 0.2 * us.delta, qPrintable(QString("KL %1").arg(r.klMean)));
        }
    }

    // Schulman et al. 2017 §4: β/2 below d_targ/1.5, 2β above 1.5·d_targ, otherwise kept
    void adaptiveBetaRule_data() {
        QTest::addColumn<double>("kl");
        QTest::addColumn<double>("expected");
        QTest::newRow("far below") << 0.001 << 0.5;
        QTest::newRow("just below d/1.5") << 0.01 / 1.5 * 0.999 << 0.5;
        QTest::newRow("at d/1.5") << 0.01 / 1.5 << 1.0;
        QTest::newRow("on target") << 0.01 << 1.0;
        QTest::newRow("at 1.5d") << 0.015 << 1.0;
        QTest::newRow("just above 1.5d") << 0.015 * 1.001 << 2.0;
        QTest::newRow("far above") << 0.2 << 2.0;
    }
    void adaptiveBetaRule() {
        QFETCH(double, kl);
        QFETCH(double, expected);
        QCOMPARE(adaptKlBeta(1.0, kl, 0.01), expected);
    }

    // the trainer carries the adaptive β from one update to the next, by the rule above
    void adaptiveBetaFollowsTheKl() {
        TrpoConfig c = cartPole(Algorithm::KlAdaptive);
        c.klBeta = 1.0;
        Trainer t(c, sim::environmentFactory(c.env));
        double beta = 1.0;
        for (int i = 0; i < 4; ++i) {
            const IterationStats s = t.iterate();
            QCOMPARE(s.klBeta, beta);
            QVERIFY(s.accepted);
            beta = adaptKlBeta(beta, s.klMean, c.delta);
        }
    }

    // anneal_steps: the learning rate is policy_lr·(1 − steps/anneal_steps), this batch
    // counted, so a schedule that ends with the first batch leaves θ where it was
    void annealingToZeroStopsTheUpdate() {
        TrpoConfig c = cartPole(Algorithm::Ppo);
        c.annealSteps = c.stepsPerIteration;
        Trainer t(c, sim::environmentFactory(c.env));
        const VectorXd before = t.theta();
        const IterationStats s = t.iterate();
        QVERIFY(s.accepted);
        QCOMPARE(s.stepNorm, 0.0);
        QVERIFY(sameBits(t.theta(), before));
        c.annealSteps = 10 * c.stepsPerIteration;
        Trainer u(c, sim::environmentFactory(c.env));
        QVERIFY(u.iterate().stepNorm > 0.0);
    }

    // value_coeff (the joint critic, docs/algorithm.md §11.6): the critic's minibatch gradient
    // is that of c_V·mean (V − R)², checked against central differences of the loss
    // predict() gives (the critic evaluates in float, hence the looser bound)
    void jointCriticGradientMatchesFiniteDifferences() {
        Rng rng(41);
        NetworkValueFunction critic(5, {16, 16}, Activation::Tanh, rng);
        const MatrixXd obs = randomMatrix(5, 40, rng);
        const VectorXd returns = randomVector(40, rng);
        const std::vector<int> cols = {3, 17, 0, 39, 8, 22, 11, 30, 5, 26, 14, 1};
        const double coeff = 0.5;
        VectorXd grad;
        const double sumSq = critic.lossGradient(obs.cast<float>(), cols, returns, coeff, grad);
        const Eigen::VectorXi t = Eigen::VectorXi::Zero(40);
        const MatrixXd obsCols = obs(Eigen::all, cols);
        const VectorXd retCols = returns(cols);
        const VectorXd state = critic.state();
        const Eigen::Index P = critic.params().size();
        auto loss = [&](const VectorXd& theta) {
            VectorXd s = state;
            s.head(P) = theta;
            critic.setState(s);
            return coeff * (critic.predict(obsCols, t) - retCols).squaredNorm() / static_cast<double>(cols.size());
        };
        const VectorXd theta0 = state.head(P);
        QVERIFY(std::fabs(loss(theta0) - coeff * sumSq / cols.size()) < 1e-5 * (1.0 + loss(theta0)));
        const VectorXd fd = numericGradient(loss, theta0, 1e-3);
        QVERIFY2(relDiff(grad, fd) < 1e-2, qPrintable(QString("relative error %1").arg(relDiff(grad, fd))));
    }

    // the joint critic inside firstOrderUpdate: a non-finite target leaves θ, Adam's moments
    // and the critic as they were; finite targets move both networks and the critic's loss
    // falls from the first epoch to the last
    void jointCriticStepsWithThePolicy() {
        const UpdateProblem p = makeUpdateProblem(true, 8, 128, 5, 3);
        Rng rng(3);
        NetworkValueFunction critic(5, {16}, Activation::Tanh, rng);
        VectorXd returns = randomVector(128, rng);
        UpdateSettings us;
        UpdateWorkspace ws;
        const SurrogateGradient g = surrogateGradient(p.policy, p.theta, p.batch(), us, ws);
        FirstOrderSettings fs;
        fs.epochs = 4;
        fs.minibatch = 32;
        fs.lr = 3e-3;
        const VectorXd criticBefore = critic.state();
        for (bool broken : {true, false}) {
            returns(7) = broken ? std::numeric_limits<double>::quiet_NaN() : 0.3;
            PolicyOptimizerState opt;
            Rng shuffle(5);
            VectorXd theta = p.theta;
            JointCritic joint{&critic, &returns, 0.5};
            const FirstOrderResult r = firstOrderUpdate(p.policy, theta, p.batch(), fs, us, g, opt, shuffle, ws, &joint);
            if (broken) {
                QCOMPARE(r.search.outcome, LineSearchOutcome::NonFinite);
                QVERIFY(sameBits(theta, p.theta));
                QVERIFY(opt.empty());
                QVERIFY(sameBits(critic.state(), criticBefore));
                QVERIFY(joint.epochLosses.empty());
            } else {
                QCOMPARE(r.search.outcome, LineSearchOutcome::Accepted);
                QCOMPARE(r.adamSteps, 16);
                QVERIFY(!sameBits(theta, p.theta));
                QVERIFY(!sameBits(critic.state(), criticBefore));
                QCOMPARE(joint.epochLosses.size(), size_t(4));
                QVERIFY(joint.epochLosses.back() < joint.epochLosses.front());
            }
        }
    }

    // through the trainer: without a gradient clip the critic cannot reach the policy's
    // steps, so θ after the first update is the same bits as with the critic's own fit;
    // with SB3's clip of 0.5 over both networks it is not, and the critic's loss falls
    void jointCriticSharesOnlyTheClip() {
        auto firstUpdate = [](double valueCoeff, double maxGradNorm, IterationStats* stats) {
            TrpoConfig c = cartPole(Algorithm::Ppo);
            c.valueCoeff = valueCoeff;
            c.maxGradNorm = maxGradNorm;
            Trainer t(c, sim::environmentFactory(c.env));
            const IterationStats s = t.iterate();
            if (stats) *stats = s;
            return t.theta();
        };
        QVERIFY(sameBits(firstUpdate(0.5, 0.0, nullptr), firstUpdate(0.0, 0.0, nullptr)));
        IterationStats s;
        QVERIFY(!sameBits(firstUpdate(0.5, 0.5, &s), firstUpdate(0.0, 0.5, nullptr)));
        QVERIFY(s.valueLossAfter < s.valueLossBefore);
    }

    // value_coeff needs a minibatch algorithm and the network critic
    void jointCriticSettingsAreChecked() {
        TrpoConfig c = cartPole(Algorithm::Ppo);
        c.valueCoeff = 0.5;
        c.validate();
        for (Algorithm a : {Algorithm::Trpo, Algorithm::Npg, Algorithm::Vpg}) {
            c.algo = a;
            QVERIFY_THROWS_EXCEPTION(ConfigError, c.validate());
        }
        c.algo = Algorithm::KlAdaptive;
        c.validate();
        c.baseline = BaselineKind::Linear;
        try {
            c.validate();
            QFAIL("a linear baseline with value_coeff passed validate()");
        } catch (const ConfigError& e) {
            QVERIFY(QString(e.what()).contains("baseline = mlp"));
        }
        QVERIFY(!findConfigField("value_coeff")->hot);
    }

    // same seed, same bits, with 1 or 2 threads; and a checkpoint resumes exactly (Adam's
    // moments are part of the state)
    void ppoDeterministicAcrossThreadCounts() {
        std::vector<std::string> rows[2];
        VectorXd thetas[2];
        for (int k = 0; k < 2; ++k) {
            TrpoConfig c = cartPole(Algorithm::Ppo);
            c.stepsPerIteration = 1024; // several update shards for evaluateTrial
            c.threads = k + 1;
            Trainer t(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 4; ++i) rows[k].push_back(statsWithoutTiming(t.iterate()));
            thetas[k] = t.theta();
        }
        QCOMPARE(rows[0], rows[1]);
        QVERIFY(sameBits(thetas[0], thetas[1]));
    }
    void ppoResumeEqualsNeverStopping_data() {
        QTest::addColumn<int>("algo");
        QTest::addColumn<double>("valueCoeff");
        QTest::newRow("ppo") << int(Algorithm::Ppo) << 0.0;
        QTest::newRow("kl_adaptive") << int(Algorithm::KlAdaptive) << 0.0;
        QTest::newRow("ppo, joint critic") << int(Algorithm::Ppo) << 0.5;
    }
    void ppoResumeEqualsNeverStopping() {
        QFETCH(int, algo);
        QFETCH(double, valueCoeff);
        TrpoConfig c = cartPole(static_cast<Algorithm>(algo));
        c.valueCoeff = valueCoeff;
        Trainer straight(c, sim::environmentFactory(c.env));
        std::vector<std::string> a, b;
        for (int i = 0; i < 4; ++i) a.push_back(statsWithoutTiming(straight.iterate()));
        std::vector<std::uint8_t> saved;
        {
            Trainer first(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 2; ++i) b.push_back(statsWithoutTiming(first.iterate()));
            saved = first.saveState();
        }
        Trainer second(c, sim::environmentFactory(c.env));
        second.loadState(saved);
        for (int i = 0; i < 2; ++i) b.push_back(statsWithoutTiming(second.iterate()));
        QCOMPARE(a, b);
        QVERIFY(sameBits(straight.theta(), second.theta()));
    }
};

QTEST_APPLESS_MAIN(TestAlgorithms)
#include "test_algorithms.moc"
