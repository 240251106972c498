// Generalised advantage estimation (core/gae.h) by its properties: λ = 1 gives discounted
// returns minus values, λ = 0 gives one-step TD errors, any λ gives the (γλ)-discounted sum of
// TD errors up to the episode or segment end; a termination does not bootstrap, a truncation
// and a segment end (batch cut) bootstrap from the given value and from nothing else.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "core/gae.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

namespace {

// a batch of N steps with random rewards, values and bootstrap values and random episode
// ends of every kind; the last step is always a segment end (the batch cut)
struct Trajectory {
    VectorXd r, v, boot;
    std::vector<std::uint8_t> term, trunc, end;
    int size() const { return static_cast<int>(r.size()); }
    bool done(int t) const { return term[t] || trunc[t] || end[t]; }
    // V of the state after step t, as the definition in gae.h reads
    double nextValue(int t) const {
        if (term[t]) return 0.0;
        if (trunc[t] || end[t]) return boot(t);
        return v(t + 1);
    }
    VectorXd gae(double gamma, double lambda) const {
        return computeGae({r, v, term, trunc, end, boot, gamma, lambda});
    }
};

Trajectory randomTrajectory(int n, std::uint64_t seed) {
    Rng rng(seed);
    Trajectory tr;
    tr.r = randomVector(n, rng);
    tr.v = randomVector(n, rng, 3.0);
    tr.boot = randomVector(n, rng, 3.0);
    tr.term.assign(n, 0);
    tr.trunc.assign(n, 0);
    tr.end.assign(n, 0);
    for (int t = 0; t < n; ++t) {
        const double u = rng.uniform();
        if (u < 0.08) tr.term[t] = 1;
        else if (u < 0.16) tr.trunc[t] = 1;
        else if (u < 0.22) tr.end[t] = 1; // several copies' segments in one batch
    }
    tr.end[n - 1] = 1;
    return tr;
}

// first step at or after t that ends an episode or a segment
int endOf(const Trajectory& tr, int t) {
    while (!tr.done(t)) ++t;
    return t;
}

bool sameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void addGammaLambdaRows() {
    QTest::addColumn<double>("gamma");
    QTest::addColumn<double>("lambda");
    for (double g : {0.0, 0.5, 0.9, 0.99, 1.0})
        for (double l : {0.0, 0.3, 0.95, 1.0}) QTest::newRow(qPrintable(QString("γ=%1 λ=%2").arg(g).arg(l))) << g << l;
}

} // namespace

class TestGae : public QObject {
    Q_OBJECT
private slots:
    void gaeHandExample() {
        // two copies' segments in one batch: [r=1,1,1 terminated] [r=1,1 truncated (V_T=10)] [r=2 cut (V=4)]
        const VectorXd r = (VectorXd(6) << 1, 1, 1, 1, 1, 2).finished();
        const VectorXd v = (VectorXd(6) << 0.5, 0.5, 0.5, 2, 2, 3).finished();
        const std::vector<std::uint8_t> term{0, 0, 1, 0, 0, 0}, trunc{0, 0, 0, 0, 1, 0}, end{0, 0, 0, 0, 0, 1};
        VectorXd boot = VectorXd::Zero(6);
        boot(4) = 10;
        boot(5) = 4;
        const double g = 0.9, l = 0.5;
        const VectorXd a = computeGae({r, v, term, trunc, end, boot, g, l});
        // by hand, back to front
        const double d5 = 2 + g * 4 - 3;           // 2.6
        const double d4 = 1 + g * 10 - 2;          // 8.0 (truncation bootstraps)
        const double d3 = 1 + g * 2 - 2;           // 0.8
        const double d2 = 1 - 0.5;                 // terminal
        const double d1 = 1 + g * 0.5 - 0.5, d0 = d1;
        QVERIFY(std::abs(a(5) - d5) < 1e-12);
        QVERIFY(std::abs(a(4) - d4) < 1e-12);
        QVERIFY(std::abs(a(3) - (d3 + g * l * d4)) < 1e-12);
        QVERIFY(std::abs(a(2) - d2) < 1e-12);
        QVERIFY(std::abs(a(1) - (d1 + g * l * d2)) < 1e-12);
        QVERIFY(std::abs(a(0) - (d0 + g * l * (d1 + g * l * d2))) < 1e-12);
    }

    void lambdaOneGivesDiscountedReturnsMinusValues_data() {
        QTest::addColumn<double>("gamma");
        for (double g : {0.0, 0.5, 0.9, 0.99, 1.0}) QTest::newRow(qPrintable(QString("γ=%1").arg(g))) << g;
    }
    void lambdaOneGivesDiscountedReturnsMinusValues() {
        // A_t = G_t - V(s_t), G_t = Σ_k γ^k r_{t+k} up to the episode/segment end T, plus
        // γ^{T-t+1} V_boot when the end is a truncation or a cut (summed forwards, not by the recursion)
        QFETCH(double, gamma);
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            const Trajectory tr = randomTrajectory(60, seed);
            const VectorXd a = tr.gae(gamma, 1.0);
            for (int t = 0; t < tr.size(); ++t) {
                const int T = endOf(tr, t);
                double G = 0, disc = 1;
                for (int k = t; k <= T; ++k, disc *= gamma) G += disc * tr.r(k);
                if (!tr.term[T]) G += disc * tr.boot(T);
                QVERIFY2(std::abs(a(t) - (G - tr.v(t))) < 1e-10 * (1 + std::abs(G)),
                         qPrintable(QString("seed %1 t %2: %3 vs %4").arg(seed).arg(t).arg(a(t)).arg(G - tr.v(t))));
            }
        }
    }

    void lambdaZeroGivesOneStepTdErrors_data() { lambdaOneGivesDiscountedReturnsMinusValues_data(); }
    void lambdaZeroGivesOneStepTdErrors() {
        QFETCH(double, gamma);
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            const Trajectory tr = randomTrajectory(60, seed);
            const VectorXd a = tr.gae(gamma, 0.0);
            for (int t = 0; t < tr.size(); ++t) {
                const double td = tr.r(t) + gamma * tr.nextValue(t) - tr.v(t);
                QVERIFY2(std::abs(a(t) - td) < 1e-12 * (1 + std::abs(td)), qPrintable(QString("seed %1 t %2").arg(seed).arg(t)));
            }
        }
    }

    void advantageIsTheDiscountedSumOfTdErrors_data() { addGammaLambdaRows(); }
    void advantageIsTheDiscountedSumOfTdErrors() {
        // A_t = Σ_{k=t}^{T} (γλ)^{k-t} δ_k, T the end of t's episode or segment
        QFETCH(double, gamma);
        QFETCH(double, lambda);
        const Trajectory tr = randomTrajectory(80, 17);
        const VectorXd a = tr.gae(gamma, lambda);
        for (int t = 0; t < tr.size(); ++t) {
            double sum = 0, w = 1;
            for (int k = t; k <= endOf(tr, t); ++k, w *= gamma * lambda)
                sum += w * (tr.r(k) + gamma * tr.nextValue(k) - tr.v(k));
            QVERIFY2(std::abs(a(t) - sum) < 1e-10 * (1 + std::abs(sum)), qPrintable(QString("t %1").arg(t)));
        }
    }

    void episodeEndDecidesWhatIsBootstrapped_data() {
        // how step 4 of an 8-step batch ends: the advantages up to it see V_boot(4) with weight
        // γ(γλ)^{4-t} when it bootstraps, and see the steps after it only when it is not an end
        QTest::addColumn<bool>("terminated");
        QTest::addColumn<bool>("truncated");
        QTest::addColumn<bool>("segmentEnd");
        QTest::addColumn<bool>("bootstraps");
        QTest::addColumn<bool>("seesTheFuture");
        QTest::newRow("terminated") << true << false << false << false << false;
        QTest::newRow("truncated (time limit)") << false << true << false << true << false;
        QTest::newRow("segment end (batch cut)") << false << false << true << true << false;
        QTest::newRow("truncated at a cut") << false << true << true << true << false;
        QTest::newRow("terminated at the time limit") << true << true << false << false << false;
        QTest::newRow("mid-episode (control)") << false << false << false << false << true;
    }
    void episodeEndDecidesWhatIsBootstrapped() {
        QFETCH(bool, terminated);
        QFETCH(bool, truncated);
        QFETCH(bool, segmentEnd);
        QFETCH(bool, bootstraps);
        QFETCH(bool, seesTheFuture);
        const double gamma = 0.9, lambda = 0.8;
        const int n = 8, s = 4;
        Trajectory tr = randomTrajectory(n, 5);
        std::fill(tr.term.begin(), tr.term.end(), 0);
        std::fill(tr.trunc.begin(), tr.trunc.end(), 0);
        std::fill(tr.end.begin(), tr.end.end(), 0);
        tr.term[s] = terminated;
        tr.trunc[s] = truncated;
        tr.end[s] = segmentEnd;
        tr.end[n - 1] = 1;
        const VectorXd a0 = tr.gae(gamma, lambda);

        // raise the bootstrap value of step s by 1
        Trajectory b = tr;
        b.boot(s) += 1.0;
        const VectorXd a1 = b.gae(gamma, lambda);
        for (int t = 0; t <= s; ++t) {
            const double expected = bootstraps ? gamma * std::pow(gamma * lambda, s - t) : 0.0;
            if (expected == 0.0)
                QVERIFY2(sameBits(a1(t), a0(t)), qPrintable(QString("A_%1 moved with an unused bootstrap value").arg(t)));
            else
                QVERIFY2(std::abs((a1(t) - a0(t)) - expected) < 1e-12,
                         qPrintable(QString("A_%1 moved by %2, expected %3").arg(t).arg(a1(t) - a0(t)).arg(expected)));
        }

        // change every reward and value after step s (the next episode or segment)
        Trajectory f = tr;
        for (int t = s + 1; t < n; ++t) {
            f.r(t) += 1.0;
            f.v(t) += 1.0;
        }
        const VectorXd a2 = f.gae(gamma, lambda);
        bool unchanged = true;
        for (int t = 0; t <= s; ++t) unchanged = unchanged && sameBits(a2(t), a0(t));
        QCOMPARE(!unchanged, seesTheFuture);
        if (seesTheFuture) {
            // the control: δ_4, δ_5, δ_6 each grow by γ (r and V of the next step +1, V of this
            // one +1), δ_7 (the cut, bootstrap unchanged) by 0
            const double gl = gamma * lambda;
            QVERIFY(std::abs((a2(s) - a0(s)) - gamma * (1 + gl + gl * gl)) < 1e-12);
        }
    }

    void perfectCriticOfOneStepEpisodesGivesZeroAdvantage() {
        // one-step episodes that all terminate: A = r - V, whatever γ, λ and the (unused) bootstrap values
        const VectorXd r = (VectorXd(3) << 1.5, -2.0, 0.25).finished();
        const VectorXd v = r; // V(s) equals the (only) reward of each one-step episode
        const std::vector<std::uint8_t> term{1, 1, 1}, none{0, 0, 0};
        const VectorXd boot = VectorXd::Constant(3, 1e6); // never read
        const VectorXd a = computeGae({r, v, term, none, none, boot, 0.99, 0.95});
        QVERIFY(a.cwiseAbs().maxCoeff() == 0.0);
    }
};

QTEST_APPLESS_MAIN(TestGae)
#include "test_gae.moc"
