// Conjugate gradient and the line search, by their properties.
#include <QtTest>

#include <cstring>

#include "core/trpo.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

namespace {
struct Problem {
    Policy policy;
    VectorXd theta;
    MatrixXd obs, actions;
    VectorXd adv, oldLogp;
};
Problem makeProblem(bool discrete, std::uint64_t seed) {
    Rng rng(seed);
    Problem p;
    const Space as = discrete ? Space::discrete(4) : Space::box({-2, -2, -2}, {2, 2, 2});
    p.policy = Policy(5, as, {16, 16}, Activation::Tanh);
    p.theta = p.policy.initialParams(rng, 0.0);
    p.theta.head(p.policy.net().numParams()) += randomVector(p.policy.net().numParams(), rng, 0.2);
    const int n = 256;
    p.obs = randomMatrix(5, n, rng);
    MlpWorkspace ws;
    DistBatch d;
    p.policy.distribution(p.theta, p.obs, ws, d);
    p.actions.resize(p.policy.actionDim(), n);
    for (int i = 0; i < n; ++i) p.policy.sample(d, i, rng, false, p.actions.col(i).data());
    p.oldLogp = p.policy.logProb(d, p.actions);
    p.adv = randomVector(n, rng);
    return p;
}
} // namespace

class TestTrpo : public QObject {
    Q_OBJECT
private slots:
    void cgSolvesRandomSpdSystems_data() {
        QTest::addColumn<int>("n");
        QTest::newRow("n=5") << 5;
        QTest::newRow("n=40") << 40;
        QTest::newRow("n=120") << 120;
    }
    void cgSolvesRandomSpdSystems() {
        QFETCH(int, n);
        Rng rng(n);
        const MatrixXd a = randomMatrix(n, n, rng);
        const MatrixXd A = a * a.transpose() + 0.5 * MatrixXd::Identity(n, n);
        const VectorXd b = randomVector(n, rng);
        const CgResult r = conjugateGradient([&](const VectorXd& v, VectorXd& out) { out = A * v; }, b, 10 * n, 1e-20);
        QVERIFY((A * r.x - b).norm() / b.norm() < 1e-8);
        QVERIFY(r.residualNorms.front() == b.norm());
        QVERIFY(r.residualNorms.back() < 1e-8 * b.norm() + 1e-10);
    }
    void cgStopsAtTolerance() {
        const MatrixXd A = MatrixXd::Identity(4, 4) * 2.0;
        const VectorXd b = VectorXd::Ones(4);
        const CgResult r = conjugateGradient([&](const VectorXd& v, VectorXd& out) { out = A * v; }, b, 50, 1e-10);
        QCOMPARE(r.iterations, 1); // exact after one step on a multiple of I
        QVERIFY((r.x - 0.5 * b).norm() < 1e-14);
    }

    void acceptedStepsRespectTheTrustRegion_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<double>("delta");
        for (double d : {1e-4, 1e-2, 0.1, 1.0}) {
            QTest::newRow(qPrintable(QString("categorical δ=%1").arg(d))) << true << d;
            QTest::newRow(qPrintable(QString("gaussian δ=%1").arg(d))) << false << d;
        }
    }
    void acceptedStepsRespectTheTrustRegion() {
        QFETCH(bool, discrete);
        QFETCH(double, delta);
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            Problem p = makeProblem(discrete, seed);
            VectorXd theta = p.theta;
            IterationStats s;
            UpdateSettings us;
            us.delta = delta;
            trpoUpdate(p.policy, theta, {p.obs, p.actions, p.adv, p.oldLogp}, us, s);
            QCOMPARE(s.trials.size(), size_t(s.accepted ? s.backtracks + 1 : us.maxBacktracks + 1));
            if (s.accepted) {
                // re-measure independently: KL <= δ and the surrogate improved
                MlpWorkspace ws;
                DistBatch ref;
                p.policy.distribution(p.theta, p.obs, ws, ref);
                const SurrogateEval e = evaluateSurrogate(p.policy, theta, {p.obs, p.actions, p.adv, p.oldLogp}, ref, 0.0);
                QVERIFY(e.klMean <= delta);
                QVERIFY(e.surrogate > s.surrogateBefore);
                QCOMPARE(e.klMean, s.klMean);
                QVERIFY(std::abs(s.stepFraction - std::pow(us.backtrackCoeff, s.backtracks)) < 1e-15);
            } else {
                QVERIFY(theta == p.theta);
            }
            for (const LineSearchTrial& t : s.trials)
                if (t.accepted) QVERIFY(t.kl <= delta && t.actualImprovement > 0);
        }
    }

    void failedLineSearchRestoresThetaBitForBit() {
        // a Gaussian policy asked to shrink its std (A = 1 - z²) with a large δ: KL in the
        // log-std grows faster than its quadratic model, so the only trial (no backtracks)
        // breaks the bound; θ must come back bit for bit
        Rng rng(21);
        Policy policy(1, Space::box({-5}, {5}), {4}, Activation::Tanh);
        const VectorXd theta0 = policy.initialParams(rng, 0.0);
        const int n = 512;
        const MatrixXd obs = MatrixXd::Zero(1, n);
        MatrixXd actions(1, n);
        VectorXd adv(n);
        for (int i = 0; i < n; ++i) {
            actions(0, i) = rng.normal();
            adv(i) = 1.0 - actions(0, i) * actions(0, i);
        }
        MlpWorkspace ws;
        DistBatch d;
        policy.distribution(theta0, obs, ws, d);
        const VectorXd oldLogp = policy.logProb(d, actions);
        UpdateSettings us;
        us.delta = 2.0;
        us.maxBacktracks = 0;
        VectorXd theta = theta0;
        IterationStats s;
        trpoUpdate(policy, theta, {obs, actions, adv, oldLogp}, us, s);
        QVERIFY(!s.accepted);
        QCOMPARE(s.outcome, LineSearchOutcome::KlExceeded);
        QCOMPARE(s.trials.size(), size_t(1));
        QVERIFY(s.trials[0].kl > us.delta);
        QCOMPARE(s.klMean, 0.0);
        QVERIFY(std::memcmp(theta.data(), theta0.data(), sizeof(double) * theta.size()) == 0);

        // with backtracking allowed, a smaller fraction is accepted and is inside the region
        us.maxBacktracks = 20;
        us.backtrackCoeff = 0.5;
        IterationStats s2;
        trpoUpdate(policy, theta, {obs, actions, adv, oldLogp}, us, s2);
        QVERIFY(s2.accepted);
        QVERIFY(s2.backtracks >= 1);
        QVERIFY(s2.klMean <= us.delta);
        QVERIFY(s2.stdMean < 1.0 || std::exp(theta(policy.logStdOffset())) < 1.0);
    }

    void vanishingStepIsNoImprovement() {
        // δ = 1e-300 makes θ + βx == θ in floating point: the surrogate cannot improve
        Problem p = makeProblem(true, 6);
        VectorXd theta = p.theta;
        IterationStats s;
        UpdateSettings us;
        us.delta = 1e-300;
        us.maxBacktracks = 0;
        trpoUpdate(p.policy, theta, {p.obs, p.actions, p.adv, p.oldLogp}, us, s);
        QVERIFY(!s.accepted);
        QCOMPARE(s.outcome, LineSearchOutcome::NoImprovement);
        QVERIFY(theta == p.theta);
    }

    void zeroAdvantagesGiveZeroGradient() {
        Problem p = makeProblem(false, 3);
        VectorXd theta = p.theta;
        IterationStats s;
        const VectorXd zeros = VectorXd::Zero(p.adv.size());
        trpoUpdate(p.policy, theta, {p.obs, p.actions, zeros, p.oldLogp}, UpdateSettings{}, s);
        QVERIFY(!s.accepted);
        QCOMPARE(s.outcome, LineSearchOutcome::ZeroGradient);
        QVERIFY(theta == p.theta);
    }

    void rejectsWhenEveryTrialBreaksTheBound_data() {
        // δ, backtrack coefficient c and backtracks m chosen (see below) so that even the
        // shortest trial, the fraction c^m of the full step, has KL > δ
        QTest::addColumn<double>("delta");
        QTest::addColumn<double>("coeff");
        QTest::addColumn<int>("backtracks");
        QTest::addColumn<double>("damping");
        QTest::newRow("δ=2 c=0.9 m=3") << 2.0 << 0.9 << 3 << 0.1;   // shortest 0.729: KL 2.23
        QTest::newRow("δ=5 c=0.8 m=2") << 5.0 << 0.8 << 2 << 0.1;   // shortest 0.64: KL 6.27
        QTest::newRow("δ=1 c=0.95 m=4") << 1.0 << 0.95 << 4 << 0.0; // shortest 0.815: KL 1.24
    }
    void rejectsWhenEveryTrialBreaksTheBound() {
        // A one-dimensional Gaussian policy at s = 0 (all observations 0, so the zero-bias
        // network's mean is 0 and only the log-std s matters) and actions ±z with advantages
        // 1 - z²: the gradient points along s only (the ±z pairs cancel in the mean's
        // gradient), towards a smaller std. The Fisher matrix of s is 2, so CG returns
        // x = g / (2 + damping), and the full step is Δs = -u with u = sqrt(2δ / (2 + damping)):
        // its quadratic-model KL, u², is at most δ. The true KL of a step f·Δs is
        //   KL(f) = -f u + (e^{2 f u} - 1) / 2 = (f u)² + (2/3)(f u)³ + ...
        // which grows exponentially and, for the rows above, is above δ for every fraction
        // tried, so the line search must reject all of them and restore θ.
        QFETCH(double, delta);
        QFETCH(double, coeff);
        QFETCH(int, backtracks);
        QFETCH(double, damping);
        Rng rng(31);
        Policy policy(1, Space::box({-50}, {50}), {4}, Activation::Tanh);
        const VectorXd theta0 = policy.initialParams(rng, 0.0);
        const int n = 512;
        const MatrixXd obs = MatrixXd::Zero(1, n);
        MatrixXd actions(1, n);
        VectorXd adv(n);
        for (int i = 0; i < n; i += 2) {
            const double z = rng.normal();
            actions(0, i) = z;
            actions(0, i + 1) = -z;
            adv(i) = adv(i + 1) = 1.0 - z * z;
        }
        MlpWorkspace ws;
        DistBatch d;
        policy.distribution(theta0, obs, ws, d);
        const VectorXd oldLogp = policy.logProb(d, actions);
        UpdateSettings us;
        us.delta = delta;
        us.backtrackCoeff = coeff;
        us.maxBacktracks = backtracks;
        us.cgDamping = damping;
        VectorXd theta = theta0;
        IterationStats s;
        trpoUpdate(policy, theta, {obs, actions, adv, oldLogp}, us, s);

        QCOMPARE(s.outcome, LineSearchOutcome::KlExceeded);
        QVERIFY(!s.accepted);
        QCOMPARE(s.trials.size(), size_t(backtracks + 1));
        const double u = std::sqrt(2.0 * delta / (2.0 + damping));
        double fraction = 1.0;
        for (size_t j = 0; j < s.trials.size(); ++j, fraction *= coeff) {
            const LineSearchTrial& t = s.trials[j];
            QVERIFY2(t.kl > delta, qPrintable(QString("trial %1: KL %2 <= δ %3").arg(j).arg(t.kl).arg(delta)));
            QVERIFY(!t.accepted);
            QVERIFY(std::abs(t.fraction - fraction) < 1e-15);
            // the construction holds: the measured KL is the closed form above (float FVPs: ~1e-6)
            const double fu = fraction * u;
            const double predicted = -fu + 0.5 * std::expm1(2.0 * fu);
            QVERIFY2(std::abs(t.kl - predicted) < 1e-4 * predicted,
                     qPrintable(QString("trial %1: KL %2, predicted %3").arg(j).arg(t.kl).arg(predicted)));
        }
        QCOMPARE(s.klMean, 0.0);
        QCOMPARE(s.backtracks, backtracks);
        QCOMPARE(theta.size(), theta0.size());
        QVERIFY(std::memcmp(theta.data(), theta0.data(), sizeof(double) * theta.size()) == 0);
    }

    void nonFiniteGradientIsReported() {
        Problem p = makeProblem(false, 2);
        VectorXd theta = p.theta;
        VectorXd adv = p.adv;
        adv(3) = std::numeric_limits<double>::quiet_NaN();
        IterationStats s;
        trpoUpdate(p.policy, theta, {p.obs, p.actions, adv, p.oldLogp}, UpdateSettings{}, s);
        QVERIFY(!s.accepted);
        QCOMPARE(s.outcome, LineSearchOutcome::NonFinite);
        QVERIFY(theta == p.theta);
    }

    void floatFisherProductMatchesDouble_data() {
        QTest::addColumn<bool>("discrete");
        QTest::newRow("categorical") << true;
        QTest::newRow("gaussian") << false;
    }
    void floatFisherProductMatchesDouble() {
        QFETCH(bool, discrete);
        Problem p = makeProblem(discrete, 7);
        MlpWorkspace ws;
        DistBatch d;
        p.policy.distribution(p.theta, p.obs, ws, d);
        Policy::FloatFisherCache cache;
        p.policy.prepareFloatFisher(p.theta, d, ws, cache);
        Rng rng(3);
        for (int trial = 0; trial < 5; ++trial) {
            const VectorXd v = randomVector(p.policy.numParams(), rng);
            VectorXd fd(p.policy.numParams()), ff(p.policy.numParams());
            p.policy.fisherVectorProduct(p.theta, d, v, ws, fd);
            p.policy.floatFisherVectorProduct(d, v, cache, ff);
            QVERIFY2(relError(ff, fd) < 1e-5, qPrintable(QString::number(relError(ff, fd))));
            QVERIFY(ff != fd); // really computed in float, not a copy of the double path
        }
    }

    void floatAndDoubleUpdatesAgree_data() { floatFisherProductMatchesDouble_data(); }
    void floatAndDoubleUpdatesAgree() {
        QFETCH(bool, discrete);
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            Problem p = makeProblem(discrete, seed);
            VectorXd tf = p.theta, td = p.theta;
            IterationStats sf, sd;
            UpdateSettings us;
            us.cgDamping = 1e-3;
            trpoUpdate(p.policy, tf, {p.obs, p.actions, p.adv, p.oldLogp}, us, sf);
            us.fvpDoublePrecision = true;
            trpoUpdate(p.policy, td, {p.obs, p.actions, p.adv, p.oldLogp}, us, sd);
            QCOMPARE(sf.accepted, sd.accepted);
            QCOMPARE(sf.backtracks, sd.backtracks);
            // CG in finite precision drifts from the exact Krylov iterates after a few
            // iterations (damping 1e-3 leaves F ill-conditioned), so the two solutions differ
            // by ~1e-3 here: the same step to within 1%, the same line-search outcome and
            // the same improvement to within 1%
            QVERIFY2(relError(VectorXd(tf - p.theta), VectorXd(td - p.theta)) < 1e-2,
                     qPrintable(QString::number(relError(VectorXd(tf - p.theta), VectorXd(td - p.theta)))));
            QVERIFY(std::abs(sf.actualImprovement - sd.actualImprovement) < 1e-2 * std::abs(sd.actualImprovement));
            QVERIFY(sf.klMean <= us.delta);
        }
    }

    void fisherSubsampleUsesEveryKthSample_data() { floatFisherProductMatchesDouble_data(); }
    void fisherSubsampleUsesEveryKthSample() {
        // each sample repeated k times in a row: the every-k-th subset holds each sample once,
        // so its Fisher matrix equals the whole batch's and the update must not change
        QFETCH(bool, discrete);
        const int k = 4;
        Problem p = makeProblem(discrete, 11);
        const int n = static_cast<int>(p.adv.size());
        MatrixXd obs(p.obs.rows(), n * k), actions(p.actions.rows(), n * k);
        VectorXd adv(n * k), oldLogp(n * k);
        for (int i = 0; i < n * k; ++i) {
            obs.col(i) = p.obs.col(i / k);
            actions.col(i) = p.actions.col(i / k);
            adv(i) = p.adv(i / k);
            oldLogp(i) = p.oldLogp(i / k);
        }
        for (bool dbl : {true, false}) {
            VectorXd all = p.theta, sub = p.theta;
            IterationStats sa, ss;
            UpdateSettings us;
            us.fvpDoublePrecision = dbl;
            us.threads = 2;
            trpoUpdate(p.policy, all, {obs, actions, adv, oldLogp}, us, sa);
            us.fvpSubsample = k;
            trpoUpdate(p.policy, sub, {obs, actions, adv, oldLogp}, us, ss);
            QVERIFY(sa.accepted && ss.accepted);
            QVERIFY2(relError(sub, all) < (dbl ? 1e-10 : 1e-5), qPrintable(QString::number(relError(sub, all))));
            // and a subsample that differs from the batch still keeps every accepted step in the region
            VectorXd t3 = p.theta;
            IterationStats s3;
            us.fvpSubsample = 3;
            trpoUpdate(p.policy, t3, {obs, actions, adv, oldLogp}, us, s3);
            if (s3.accepted) QVERIFY(s3.klMean <= us.delta);
            QVERIFY(s3.cgIterations > 0);
        }
    }
};

QTEST_APPLESS_MAIN(TestTrpo)
#include "test_trpo.moc"
