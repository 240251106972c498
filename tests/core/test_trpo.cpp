// Conjugate gradient and the line search, by their properties.
#include <QtTest>

#include <cstring>

#include "core/trpo.h"
#include "support/test_util.h"
#include "support/update_problem.h"

using namespace core;
using namespace testutil;

namespace {
using Problem = testutil::UpdateProblem;
Problem makeProblem(bool discrete, std::uint64_t seed, int n = 256) {
    return testutil::makeUpdateProblem(discrete, seed, n, 5, discrete ? 4 : 3);
}
// the same over the small CNN of smallCnnSpec()
Problem makeCnnProblem(bool discrete, std::uint64_t seed, int n = 64) {
    const NetworkSpec net = smallCnnSpec();
    return testutil::makeUpdateProblem(discrete, seed, n, net.inputs, discrete ? 4 : 3, &net);
}

UpdateBatch batchOf(const Problem& p) { return {p.obs, p.actions, p.adv, p.oldLogp}; }

// |a - b| <= rel · max(|a|, |b|) (so two zeros agree)
bool nearRel(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)); }

// the largest eigenvalue of the (undamped, double-precision) Fisher matrix at θ on the whole
// batch, by power iteration (F is symmetric positive semi-definite)
double largestFisherEigenvalue(const Problem& p) {
    NetworkWorkspace ws;
    DistBatch d;
    p.policy.distribution(p.theta, p.obs, ws, d);
    Rng rng(99);
    VectorXd v = randomVector(p.policy.numParams(), rng).normalized(), Fv(p.policy.numParams());
    double lambda = 0;
    for (int i = 0; i < 500; ++i) {
        p.policy.fisherVectorProduct(p.theta, d, v, ws, Fv);
        lambda = v.dot(Fv);
        v = Fv.normalized();
    }
    return lambda;
}

// the float Fisher-vector product that CG uses, within 1e-5 of the double one at `trials`
// random vectors, and really computed in float (not a copy of the double path)
void checkFloatFisherMatchesDouble(const Problem& p, int trials) {
    NetworkWorkspace ws;
    DistBatch d;
    p.policy.distribution(p.theta, p.obs, ws, d);
    Policy::FloatFisherCache cache;
    p.policy.prepareFloatFisher(p.theta, d, ws, cache);
    Rng rng(3);
    for (int trial = 0; trial < trials; ++trial) {
        const VectorXd v = randomVector(p.policy.numParams(), rng);
        VectorXd fd(p.policy.numParams()), ff(p.policy.numParams());
        p.policy.fisherVectorProduct(p.theta, d, v, ws, fd);
        p.policy.floatFisherVectorProduct(d, v, cache, ff);
        QVERIFY2(relError(ff, fd) < 1e-5, qPrintable(QString::number(relError(ff, fd))));
        QVERIFY(ff != fd);
    }
}

// the problem's batch with each sample repeated k times in a row: its every-k-th subsample
// holds each sample once, so that subsample's Fisher matrix equals the whole batch's
struct RepeatedBatch {
    MatrixXd obs, actions;
    VectorXd adv, oldLogp;
    UpdateBatch batch() const { return {obs, actions, adv, oldLogp}; }
};
RepeatedBatch repeatEachSample(const Problem& p, int k) {
    const int n = static_cast<int>(p.adv.size());
    RepeatedBatch r{MatrixXd(p.obs.rows(), n * k), MatrixXd(p.actions.rows(), n * k), VectorXd(n * k), VectorXd(n * k)};
    for (int i = 0; i < n * k; ++i) {
        r.obs.col(i) = p.obs.col(i / k);
        r.actions.col(i) = p.actions.col(i / k);
        r.adv(i) = p.adv(i / k);
        r.oldLogp(i) = p.oldLogp(i / k);
    }
    return r;
}
} // namespace

#define QVERIFY_NEAR(a, b, rel)                                                                                        \
    QVERIFY2(nearRel((a), (b), (rel)),                                                                                 \
             qPrintable(QString("%1: %2 vs %3").arg(#a).arg((a), 0, 'g', 17).arg((b), 0, 'g', 17)))

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
                NetworkWorkspace ws;
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
        NetworkWorkspace ws;
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
        // the update did reach the line search: a (tiny) full step was scaled and tried
        QVERIFY(s.cgIterations > 0 && s.beta > 0 && s.stepNorm > 0);
        QCOMPARE(s.trials.size(), size_t(1));
        QCOMPARE(s.trials[0].kl, 0.0); // within the bound ...
        QCOMPARE(s.trials[0].actualImprovement, 0.0); // ... but no gain
        QVERIFY(!s.trials[0].accepted);
        QCOMPARE(s.surrogateAfter, s.surrogateBefore);
        QVERIFY(sameBits(theta, p.theta));
    }

    void zeroGradientStopsBeforeCg_data() {
        // g = 0 exactly (all-zero advantages, no entropy term), or |g|² below CG's tolerance so
        // that CG does no iteration: both are ZeroGradient, never NonPositiveCurvature
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<double>("advScale");
        QTest::addColumn<double>("cgTolerance");
        for (bool discrete : {true, false}) {
            const QString name = discrete ? "categorical" : "gaussian";
            QTest::newRow(qPrintable(name + ", zero advantages")) << discrete << 0.0 << 1e-10;
            QTest::newRow(qPrintable(name + ", advantages x 1e-9")) << discrete << 1e-9 << 1e-10;
            QTest::newRow(qPrintable(name + ", cg_tolerance 1e10")) << discrete << 1.0 << 1e10;
        }
    }
    void zeroGradientStopsBeforeCg() {
        QFETCH(bool, discrete);
        QFETCH(double, advScale);
        QFETCH(double, cgTolerance);
        const Problem p = makeProblem(discrete, 3);
        const VectorXd adv = advScale * p.adv;
        UpdateSettings us;
        us.entropyCoeff = 0.0;
        us.cgTolerance = cgTolerance;
        VectorXd theta = p.theta;
        IterationStats s;
        trpoUpdate(p.policy, theta, {p.obs, p.actions, adv, p.oldLogp}, us, s);
        QCOMPARE(s.outcome, LineSearchOutcome::ZeroGradient);
        QVERIFY(!s.accepted);
        QCOMPARE(s.cgIterations, 0);
        QVERIFY(s.trials.empty());
        QCOMPARE(s.beta, 0.0);
        QVERIFY(sameBits(theta, p.theta));
        if (advScale == 0.0) {
            QCOMPARE(s.gradNorm, 0.0); // stopped by phase 3
        } else {
            // a gradient, but too small for CG: phase 4 stops with x = 0
            QVERIFY(s.gradNorm > 0.0);
            QVERIFY(s.gradNorm * s.gradNorm < cgTolerance);
            QCOMPARE(s.cgResiduals.size(), size_t(1));
            QCOMPARE(s.cgResiduals[0], s.gradNorm);
            QCOMPARE(s.xFx, 0.0);
        }
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
        NetworkWorkspace ws;
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

    void nonFiniteInputIsReported_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<QString>("where");
        for (bool discrete : {true, false})
            for (const char* where : {"advantage NaN", "advantage inf", "observation NaN", "old log-prob NaN"})
                QTest::newRow(qPrintable(QString(discrete ? "categorical, " : "gaussian, ") + where))
                    << discrete << QString(where);
    }
    void nonFiniteInputIsReported() {
        QFETCH(bool, discrete);
        QFETCH(QString, where);
        Problem p = makeProblem(discrete, 2);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        if (where == "advantage NaN") p.adv(3) = nan;
        else if (where == "advantage inf") p.adv(3) = std::numeric_limits<double>::infinity();
        else if (where == "observation NaN") p.obs(1, 7) = nan;
        else p.oldLogp(5) = nan;
        VectorXd theta = p.theta;
        IterationStats s;
        trpoUpdate(p.policy, theta, batchOf(p), UpdateSettings{}, s);
        QCOMPARE(s.outcome, LineSearchOutcome::NonFinite);
        QVERIFY(!s.accepted);
        QCOMPARE(s.cgIterations, 0); // stopped by phase 3, before CG
        QVERIFY(s.trials.empty());
        QVERIFY(sameBits(theta, p.theta));
    }

    void floatFisherProductMatchesDouble_data() {
        QTest::addColumn<bool>("discrete");
        QTest::newRow("categorical") << true;
        QTest::newRow("gaussian") << false;
    }
    void floatFisherProductMatchesDouble() {
        QFETCH(bool, discrete);
        const Problem p = makeProblem(discrete, 7);
        checkFloatFisherMatchesDouble(p, 5);
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
        const RepeatedBatch rep = repeatEachSample(p, k);
        for (bool dbl : {true, false}) {
            VectorXd all = p.theta, sub = p.theta;
            IterationStats sa, ss;
            UpdateSettings us;
            us.fvpDoublePrecision = dbl;
            us.threads = 2;
            trpoUpdate(p.policy, all, rep.batch(), us, sa);
            us.fvpSubsample = k;
            trpoUpdate(p.policy, sub, rep.batch(), us, ss);
            QVERIFY(sa.accepted && ss.accepted);
            QVERIFY2(relError(sub, all) < (dbl ? 1e-10 : 1e-5), qPrintable(QString::number(relError(sub, all))));
            // and a subsample that differs from the batch still keeps every accepted step in the region
            VectorXd t3 = p.theta;
            IterationStats s3;
            us.fvpSubsample = 3;
            trpoUpdate(p.policy, t3, rep.batch(), us, s3);
            if (s3.accepted) QVERIFY(s3.klMean <= us.delta);
            QVERIFY(s3.cgIterations > 0);
        }
    }

    // a CNN policy: the float products match the double ones (the activations of the conv
    // layers copied and cast), the every-k-th subsample copies them too, and the update keeps
    // its step in the trust region
    void cnnFisherProductsAndUpdate_data() { floatFisherProductMatchesDouble_data(); }
    void cnnFisherProductsAndUpdate() {
        QFETCH(bool, discrete);
        const Problem p = makeCnnProblem(discrete, 3);
        QVERIFY(p.policy.net().isConv());
        checkFloatFisherMatchesDouble(p, 3);
        if (QTest::currentTestFailed()) return;
        // each sample repeated k times: the every-k-th subsample's Fisher matrix is the batch's
        const int k = 3;
        const RepeatedBatch rep = repeatEachSample(p, k);
        VectorXd all = p.theta, sub = p.theta;
        IterationStats sa, ss;
        UpdateSettings us;
        us.fvpDoublePrecision = true;
        us.threads = 2;
        us.samplesPerShard = 50; // several shards, each with its own subsample
        trpoUpdate(p.policy, all, rep.batch(), us, sa);
        us.fvpSubsample = k;
        trpoUpdate(p.policy, sub, rep.batch(), us, ss);
        QVERIFY(sa.accepted && ss.accepted);
        QVERIFY(sa.klMean <= us.delta && sa.klMean > 0);
        QVERIFY(sa.actualImprovement > 0);
        QVERIFY2(relError(sub, all) < 1e-9, qPrintable(QString::number(relError(sub, all))));
    }

    // ---- every line-search outcome, unconditionally ---------------------------------
    void acceptedStepIsReported_data() { floatFisherProductMatchesDouble_data(); }
    void acceptedStepIsReported() {
        QFETCH(bool, discrete);
        const Problem p = makeProblem(discrete, 5);
        VectorXd theta = p.theta;
        IterationStats s;
        UpdateSettings us;
        trpoUpdate(p.policy, theta, batchOf(p), us, s);
        QCOMPARE(s.outcome, LineSearchOutcome::Accepted);
        QVERIFY(s.accepted);
        QCOMPARE(s.trials.size(), size_t(s.backtracks + 1));
        for (size_t j = 0; j + 1 < s.trials.size(); ++j) QVERIFY(!s.trials[j].accepted);
        QVERIFY(s.trials.back().accepted);
        QCOMPARE(s.stepFraction, s.trials.back().fraction);
        QVERIFY(s.klMean > 0 && s.klMean <= us.delta);
        QVERIFY(s.actualImprovement > 0);
        QCOMPARE(s.actualImprovement, s.surrogateAfter - s.surrogateBefore);
        // θ moved by the accepted fraction of the full step
        QVERIFY_NEAR((theta - p.theta).norm(), s.stepFraction * s.stepNorm, 1e-12);
    }

    void negativeDampingIsNonPositiveCurvature_data() { floatFisherProductMatchesDouble_data(); }
    void negativeDampingIsNonPositiveCurvature() {
        // UpdateSettings is not validated (the config refuses cg_damping < 0): a damping far
        // below -λmax(F) makes F + damping·I negative definite, so CG's x = (F + damping·I)⁻¹ g
        // has xᵀ(F + damping·I)x = gᵀx < 0 and the update must stop before stepping
        QFETCH(bool, discrete);
        const Problem p = makeProblem(discrete, 8);
        UpdateSettings us;
        us.cgDamping = -10.0;
        us.fvpDoublePrecision = true;
        const double lambdaMax = largestFisherEigenvalue(p);
        QVERIFY2(lambdaMax > 0 && lambdaMax < -us.cgDamping, qPrintable(QString::number(lambdaMax)));

        // phase 4 on its own
        UpdateWorkspace ws;
        const SurrogateGradient g = surrogateGradient(p.policy, p.theta, batchOf(p), us, ws);
        QCOMPARE(g.guard, LineSearchOutcome::Accepted);
        const NaturalDirection d = naturalDirection(p.policy, p.theta, g.g, us, ws);
        QCOMPARE(d.guard, LineSearchOutcome::NonPositiveCurvature);
        QVERIFY(d.iterations > 0);
        QVERIFY(d.xFx < 0);
        QVERIFY_NEAR(d.xFx, g.g.dot(d.x), 1e-6); // x solves the (negative definite) system

        // and the whole update: stopped after phase 4, θ bit for bit
        VectorXd theta = p.theta;
        IterationStats s;
        trpoUpdate(p.policy, theta, batchOf(p), us, s);
        QCOMPARE(s.outcome, LineSearchOutcome::NonPositiveCurvature);
        QVERIFY(!s.accepted);
        QCOMPARE(s.cgIterations, d.iterations);
        QVERIFY(s.xFx < 0);
        QCOMPARE(s.beta, 0.0);
        QVERIFY(s.trials.empty());
        QVERIFY(sameBits(theta, p.theta));
    }

    // ---- the batch cut into shards gives the update of one shard -----------------------
    void multiShardUpdateEqualsSingleShard_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<int>("samplesPerShard");
        QTest::addColumn<int>("fvpSubsample");
        QTest::addColumn<QList<int>>("shardSizes"); // the cut of N = 1000
        for (bool discrete : {true, false})
            for (int k : {1, 3}) {
                const QString name = QString(discrete ? "categorical" : "gaussian") + ", fvp every %1, %2/shard";
                QTest::newRow(qPrintable(name.arg(k).arg(256))) << discrete << 256 << k << QList<int>{334, 333, 333};
                QTest::newRow(qPrintable(name.arg(k).arg(128)))
                    << discrete << 128 << k << QList<int>{143, 143, 143, 143, 143, 143, 142};
            }
    }
    void multiShardUpdateEqualsSingleShard() {
        QFETCH(bool, discrete);
        QFETCH(int, samplesPerShard);
        QFETCH(int, fvpSubsample);
        QFETCH(QList<int>, shardSizes);
        const int n = 1000;
        const Problem p = makeProblem(discrete, 41, n);
        UpdateSettings us;
        us.entropyCoeff = 0.01;
        us.fvpDoublePrecision = true;
        us.fvpSubsample = fvpSubsample;
        us.samplesPerShard = n;
        VectorXd thetaOne = p.theta, thetaMany = p.theta;
        IterationStats one, many;
        UpdateWorkspace wsOne, wsMany;
        trpoUpdate(p.policy, thetaOne, batchOf(p), us, one, &wsOne);
        us.samplesPerShard = samplesPerShard;
        trpoUpdate(p.policy, thetaMany, batchOf(p), us, many, &wsMany);

        // the cuts really are one shard and the unequal ones of the table
        QCOMPARE(wsOne.shards.size(), size_t(1));
        QList<int> sizes;
        for (const UpdateShard& sh : wsMany.shards) sizes << sh.count;
        QCOMPARE(sizes, shardSizes);
        QCOMPARE(wsOne.fisherSamples, double((n + fvpSubsample - 1) / fvpSubsample));
        QCOMPARE(wsMany.fisherSamples, wsOne.fisherSamples);
        // a real update, so every quantity compared below means something
        QVERIFY(one.accepted);
        QVERIFY(one.cgIterations > 1);
        QVERIFY(one.entropy > 0);

        QCOMPARE(many.outcome, one.outcome);
        QCOMPARE(many.accepted, one.accepted);
        QCOMPARE(many.backtracks, one.backtracks);
        QCOMPARE(many.cgIterations, one.cgIterations);
        const double tol = 1e-9; // the same sums in another order: not bitwise, but this close
        QVERIFY2(relError(VectorXd(thetaMany - p.theta), VectorXd(thetaOne - p.theta)) < tol,
                 qPrintable(QString::number(relError(VectorXd(thetaMany - p.theta), VectorXd(thetaOne - p.theta)))));
        QVERIFY(relError(thetaMany, thetaOne) < tol);
        QVERIFY_NEAR(many.gradNorm, one.gradNorm, tol);
        QVERIFY_NEAR(many.xFx, one.xFx, tol);
        QVERIFY_NEAR(many.beta, one.beta, tol);
        QVERIFY_NEAR(many.stepNorm, one.stepNorm, tol);
        QVERIFY_NEAR(many.klMean, one.klMean, tol);
        QVERIFY_NEAR(many.klMax, one.klMax, tol);
        QVERIFY_NEAR(many.surrogateBefore, one.surrogateBefore, tol);
        QVERIFY_NEAR(many.surrogateAfter, one.surrogateAfter, tol);
        QVERIFY_NEAR(many.expectedImprovement, one.expectedImprovement, tol);
        QVERIFY_NEAR(many.actualImprovement, one.actualImprovement, tol);
        QVERIFY_NEAR(many.entropy, one.entropy, tol);
        QCOMPARE(many.stepFraction, one.stepFraction);
        QCOMPARE(many.cgResiduals.size(), one.cgResiduals.size());
        for (size_t i = 0; i < one.cgResiduals.size(); ++i) QVERIFY_NEAR(many.cgResiduals[i], one.cgResiduals[i], tol);
        QCOMPARE(many.trials.size(), one.trials.size());
        for (size_t j = 0; j < one.trials.size(); ++j) {
            QCOMPARE(many.trials[j].fraction, one.trials[j].fraction);
            QCOMPARE(many.trials[j].accepted, one.trials[j].accepted);
            QVERIFY_NEAR(many.trials[j].kl, one.trials[j].kl, tol);
            QVERIFY_NEAR(many.trials[j].surrogate, one.trials[j].surrogate, tol);
            QVERIFY_NEAR(many.trials[j].actualImprovement, one.trials[j].actualImprovement, tol);
            QVERIFY_NEAR(many.trials[j].expectedImprovement, one.trials[j].expectedImprovement, tol);
        }
    }

    // ---- each phase on its own ----------------------------------------------------------
    void surrogateGradientMatchesFiniteDifferences_data() { floatFisherProductMatchesDouble_data(); }
    void surrogateGradientMatchesFiniteDifferences() {
        // phase 3 (three shards, an entropy term) against central differences of L(θ) measured
        // by evaluateSurrogate on the whole batch
        QFETCH(bool, discrete);
        const Problem p = makeProblem(discrete, 12, 300);
        UpdateSettings us;
        us.entropyCoeff = 0.05;
        us.samplesPerShard = 100;
        UpdateWorkspace ws;
        const SurrogateGradient r = surrogateGradient(p.policy, p.theta, batchOf(p), us, ws);
        QCOMPARE(ws.shards.size(), size_t(3));
        QCOMPARE(r.guard, LineSearchOutcome::Accepted);
        NetworkWorkspace net;
        DistBatch ref;
        p.policy.distribution(p.theta, p.obs, net, ref);
        const auto L = [&](const VectorXd& th) {
            return evaluateSurrogate(p.policy, th, batchOf(p), ref, us.entropyCoeff).surrogate;
        };
        QVERIFY_NEAR(r.surrogate, L(p.theta), 1e-12);
        QVERIFY_NEAR(r.entropy, p.policy.entropy(ref).mean(), 1e-12);
        QCOMPARE(r.gradNorm, r.g.norm());
        const VectorXd numeric = numericGradient(L, p.theta, 1e-5);
        QVERIFY2(relError(r.g, numeric) < 1e-6, qPrintable(QString::number(relError(r.g, numeric))));
    }

    void naturalDirectionSolvesTheDampedSystem_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<double>("damping");
        for (bool discrete : {true, false})
            for (double damping : {1.0, 0.1})
                QTest::newRow(qPrintable(QString("%1, damping %2").arg(discrete ? "categorical" : "gaussian").arg(damping)))
                    << discrete << damping;
    }
    void naturalDirectionSolvesTheDampedSystem() {
        // phase 4 run to convergence: (F + damping·I)x = g, with F measured independently, and
        // xFx is xᵀ(F + damping·I)x
        QFETCH(bool, discrete);
        QFETCH(double, damping);
        const Problem p = makeProblem(discrete, 13);
        UpdateSettings us;
        us.cgDamping = damping;
        us.fvpDoublePrecision = true;
        us.cgIters = 1000;
        UpdateWorkspace ws;
        const SurrogateGradient g = surrogateGradient(p.policy, p.theta, batchOf(p), us, ws);
        us.cgTolerance = 1e-24 * g.g.squaredNorm(); // |r| < 1e-12 |g|
        const NaturalDirection d = naturalDirection(p.policy, p.theta, g.g, us, ws);
        QCOMPARE(d.guard, LineSearchOutcome::Accepted);
        QVERIFY(d.iterations > 1 && d.iterations < us.cgIters); // stopped by the tolerance
        QCOMPARE(d.residualNorms.size(), size_t(d.iterations + 1));
        QCOMPARE(d.residualNorms.front(), g.g.norm());
        NetworkWorkspace net;
        DistBatch dist;
        p.policy.distribution(p.theta, p.obs, net, dist);
        VectorXd Ax(p.policy.numParams());
        p.policy.fisherVectorProduct(p.theta, dist, d.x, net, Ax);
        Ax += damping * d.x;
        QVERIFY2(relError(Ax, g.g) < 1e-8, qPrintable(QString::number(relError(Ax, g.g))));
        QVERIFY_NEAR(d.xFx, d.x.dot(Ax), 1e-10);
    }

    void stepScaleByHand() {
        // x = (1, 2), xᵀAx = 8, g = (3, -1), δ = 0.25: β = sqrt(0.5 / 8) = 1/4, gᵀx = 1
        NaturalDirection d;
        d.x = (VectorXd(2) << 1.0, 2.0).finished();
        d.xFx = 8.0;
        const VectorXd g = (VectorXd(2) << 3.0, -1.0).finished();
        const StepScale st = stepScale(g, d, 0.25);
        QCOMPARE(st.beta, 0.25);
        QCOMPARE(st.fullStep, (VectorXd(2) << 0.25, 0.5).finished());
        QCOMPARE(st.stepNorm, std::sqrt(0.3125));
        QCOMPARE(st.expectedImprovement, 0.25);
    }

    void stepScalePutsTheModelOnTheBound_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<double>("delta");
        for (bool discrete : {true, false})
            for (double delta : {1e-4, 1e-2, 0.5})
                QTest::newRow(qPrintable(QString("%1 δ=%2").arg(discrete ? "categorical" : "gaussian").arg(delta)))
                    << discrete << delta;
    }
    void stepScalePutsTheModelOnTheBound() {
        QFETCH(bool, discrete);
        QFETCH(double, delta);
        const Problem p = makeProblem(discrete, 15);
        UpdateSettings us;
        us.delta = delta;
        us.fvpDoublePrecision = true;
        UpdateWorkspace ws;
        const SurrogateGradient g = surrogateGradient(p.policy, p.theta, batchOf(p), us, ws);
        const NaturalDirection d = naturalDirection(p.policy, p.theta, g.g, us, ws);
        QCOMPARE(d.guard, LineSearchOutcome::Accepted);
        const StepScale st = stepScale(g.g, d, delta);
        // the quadratic model ½ β² xᵀ(F + damping·I)x sits on the bound
        QVERIFY_NEAR(0.5 * st.beta * st.beta * d.xFx, delta, 1e-12);
        QVERIFY_NEAR(st.expectedImprovement, st.beta * g.g.dot(d.x), 1e-12);
        QVERIFY(st.expectedImprovement > 0); // gᵀx = gᵀ(F + damping·I)⁻¹g > 0 (up to CG)
        QVERIFY(relError(st.fullStep, VectorXd(st.beta * d.x)) < 1e-15);
        QVERIFY_NEAR(st.stepNorm, st.fullStep.norm(), 1e-15);
        // and measured independently on the full step s = βx: ½ sᵀ(F + damping·I)s = δ
        NetworkWorkspace net;
        DistBatch dist;
        p.policy.distribution(p.theta, p.obs, net, dist);
        VectorXd As(p.policy.numParams());
        p.policy.fisherVectorProduct(p.theta, dist, st.fullStep, net, As);
        As += us.cgDamping * st.fullStep;
        QVERIFY_NEAR(0.5 * st.fullStep.dot(As), delta, 1e-10);
    }

    void lineSearchTriesFractionsCToTheJ_data() {
        QTest::addColumn<bool>("discrete");
        QTest::addColumn<double>("coeff");
        for (bool discrete : {true, false})
            for (double c : {0.5, 0.8})
                QTest::newRow(qPrintable(QString("%1 c=%2").arg(discrete ? "categorical" : "gaussian").arg(c)))
                    << discrete << c;
    }
    void lineSearchTriesFractionsCToTheJ() {
        // phase 6 given a full step 30 times the one phase 5 makes (its KL model is 900 δ), so
        // the first trials break the bound and the search must backtrack
        QFETCH(bool, discrete);
        QFETCH(double, coeff);
        const Problem p = makeProblem(discrete, 14);
        UpdateSettings us;
        us.backtrackCoeff = coeff;
        us.maxBacktracks = 40;
        us.fvpDoublePrecision = true;
        UpdateWorkspace ws;
        const SurrogateGradient g = surrogateGradient(p.policy, p.theta, batchOf(p), us, ws);
        const NaturalDirection d = naturalDirection(p.policy, p.theta, g.g, us, ws);
        StepScale big = stepScale(g.g, d, us.delta);
        big.beta *= 30;
        big.fullStep *= 30;
        big.stepNorm *= 30;
        big.expectedImprovement *= 30;
        VectorXd theta = p.theta;
        const LineSearchResult r = lineSearch(p.policy, theta, batchOf(p), g, big, us, ws);
        QCOMPARE(r.outcome, LineSearchOutcome::Accepted);
        QVERIFY(r.accepted);
        QVERIFY(r.backtracks >= 2);
        QCOMPARE(r.trials.size(), size_t(r.backtracks + 1));
        NetworkWorkspace net;
        DistBatch ref;
        p.policy.distribution(p.theta, p.obs, net, ref);
        for (size_t j = 0; j < r.trials.size(); ++j) {
            const LineSearchTrial& t = r.trials[j];
            const double cj = std::pow(coeff, double(j));
            QVERIFY_NEAR(t.fraction, cj, 1e-14);
            QCOMPARE(t.expectedImprovement, t.fraction * big.expectedImprovement);
            QCOMPARE(t.actualImprovement, t.surrogate - g.surrogate);
            // each trial re-measured on its own
            const SurrogateEval e =
                evaluateSurrogate(p.policy, VectorXd(p.theta + t.fraction * big.fullStep), batchOf(p), ref, 0.0);
            QVERIFY_NEAR(t.kl, e.klMean, 1e-10);
            QVERIFY_NEAR(t.surrogate, e.surrogate, 1e-10);
            // accepted exactly when KL ≤ δ and L improved, and only the last trial
            QCOMPARE(t.accepted, t.kl <= us.delta && t.actualImprovement > 0);
            QCOMPARE(t.accepted, j + 1 == r.trials.size());
        }
        QVERIFY(r.trials.front().kl > us.delta); // the full step really was too long
        QCOMPARE(r.fraction, r.trials.back().fraction);
        QCOMPARE(r.klMean, r.trials.back().kl);
        QCOMPARE(r.surrogateAfter, r.trials.back().surrogate);
        QVERIFY(relError(theta, VectorXd(p.theta + r.fraction * big.fullStep)) < 1e-15);
    }
};

QTEST_APPLESS_MAIN(TestTrpo)
#include "test_trpo.moc"
