// The trust-region probe (core/trust_region.h) by its properties: its curve is the surrogate
// and KL recomputed from scratch, the quadratic model matches the KL at small steps, each
// what-if step is the update δ′ would actually take, and probing changes no run.
#include <QtTest>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/trainer.h"
#include "core/trust_region.h"
#include "sim/registry.h"
#include "support/test_util.h"
#include "support/update_problem.h"

using namespace core;
using namespace testutil;

namespace {
using Problem = testutil::UpdateProblem;
Problem makeProblem(bool discrete, std::uint64_t seed, int n = 600) {
    return testutil::makeUpdateProblem(discrete, seed, n, 4, discrete ? 3 : 2);
}

// runs phases 3-6 on the problem and probes the update
struct Probed {
    UpdateSettings settings;
    UpdateWorkspace ws;
    SurrogateGradient gradient;
    NaturalDirection direction;
    StepScale step;
    LineSearchResult search;
    TrustRegionProbe probe;
};
Probed probe(const Problem& p, double delta, int threads = 2) {
    Probed r;
    r.settings.delta = delta;
    r.settings.threads = threads;
    const UpdateBatch batch{p.obs, p.actions, p.adv, p.oldLogp};
    VectorXd theta = p.theta;
    r.gradient = surrogateGradient(p.policy, theta, batch, r.settings, r.ws);
    r.direction = naturalDirection(p.policy, theta, r.gradient.g, r.settings, r.ws);
    r.step = stepScale(r.gradient.g, r.direction, delta);
    r.search = lineSearch(p.policy, theta, batch, r.gradient, r.step, r.settings, r.ws);
    r.probe = probeTrustRegion(p.policy, p.theta, batch, r.gradient, r.direction, r.step, r.search, r.settings, r.ws);
    return r;
}

core::TrpoConfig smallConfig(const std::string& env) {
    core::TrpoConfig c;
    c.env = env;
    c.seed = 5;
    c.stepsPerIteration = 512;
    c.threads = 2;
    return c;
}
} // namespace

class TestTrustRegion : public QObject {
    Q_OBJECT
private slots:
    void curveIsTheSurrogateAndKlRecomputed_data() {
        QTest::addColumn<bool>("discrete");
        QTest::newRow("categorical") << true;
        QTest::newRow("gaussian") << false;
    }
    void curveIsTheSurrogateAndKlRecomputed() {
        QFETCH(bool, discrete);
        const Problem p = makeProblem(discrete, 11);
        const Probed r = probe(p, 0.02);
        QCOMPARE(static_cast<int>(r.probe.curve.size()), 31);
        QCOMPARE(r.probe.curve.front().alpha, 0.0);
        QCOMPARE(r.probe.curve.back().alpha, 1.5);
        // π_old on the whole batch, from scratch (one pass, no shards)
        NetworkWorkspace ws;
        DistBatch ref;
        p.policy.distribution(p.theta, p.obs, ws, ref);
        const UpdateBatch batch{p.obs, p.actions, p.adv, p.oldLogp};
        const double l0 = evaluateSurrogate(p.policy, p.theta, batch, ref, 0.0).surrogate;
        // the curve is evaluated with the network in single precision, relative to θ_old
        // (docs/algorithm.md §9): each value within 1e-5 of its own size
        double worstL = 0, worstKl = 0, worstKlMax = 0;
        const auto relative = [](double got, double want) { return std::abs(got - want) / (1e-12 + std::abs(want)); };
        for (const ProbePoint& pt : r.probe.curve) {
            const VectorXd theta = p.theta + pt.alpha * r.step.beta * r.direction.x;
            const SurrogateEval e = evaluateSurrogate(p.policy, theta, batch, ref, 0.0);
            worstL = std::max(worstL, relative(pt.surrogateChange, e.surrogate - l0));
            worstKl = std::max(worstKl, relative(pt.klMean, e.klMean));
            worstKlMax = std::max(worstKlMax, relative(pt.klMax, pt.alpha == 0 ? 0.0 : e.klMax));
            QCOMPARE(pt.linearModel, pt.alpha * r.step.beta * r.gradient.g.dot(r.direction.x));
        }
        qInfo("largest relative error on the curve: ΔL %.2g, mean KL %.2g, max KL %.2g", worstL, worstKl, worstKlMax);
        QVERIFY(worstL <= 1e-5);
        QVERIFY(worstKl <= 1e-5);
        QVERIFY(worstKlMax <= 1e-5);
        // the step's own trials are on the curve's line: α = fraction
        QVERIFY(!r.probe.trials.empty());
        QCOMPARE(r.probe.trials.size(), r.search.trials.size());
        QCOMPARE(r.probe.curve.front().klMean, 0.0);
    }

    // ½(αβ)²xᵀFx is the KL's second-order Taylor term: within 5% at small steps
    void quadraticModelMatchesKlAtSmallSteps() {
        for (bool discrete : {true, false}) {
            const Problem p = makeProblem(discrete, 23);
            UpdateSettings s;
            s.delta = 0.01;
            s.fvpDoublePrecision = true;
            UpdateWorkspace ws;
            const UpdateBatch batch{p.obs, p.actions, p.adv, p.oldLogp};
            VectorXd theta = p.theta;
            const SurrogateGradient g = surrogateGradient(p.policy, theta, batch, s, ws);
            const NaturalDirection d = naturalDirection(p.policy, theta, g.g, s, ws);
            const StepScale step = stepScale(g.g, d, s.delta);
            const LineSearchResult ls = lineSearch(p.policy, theta, batch, g, step, s, ws);
            ProbeSettings ps;
            ps.alphaMax = 0.2;
            ps.points = 5;
            const TrustRegionProbe pr = probeTrustRegion(p.policy, p.theta, batch, g, d, step, ls, s, ws, ps);
            QVERIFY(pr.xFx > 0 && pr.xFx < pr.xFxDamped);
            for (const ProbePoint& pt : pr.curve) {
                if (pt.alpha == 0) continue;
                QVERIFY2(std::abs(pt.quadraticModel - pt.klMean) <= 0.05 * pt.klMean,
                         qPrintable(QString("α %1: model %2, KL %3").arg(pt.alpha).arg(pt.quadraticModel).arg(pt.klMean)));
            }
        }
    }

    // each fan entry is what trpoUpdate with δ′ does on the same batch, bit for bit
    void whatIfIsTheUpdateDeltaPrimeTakes() {
        const Problem p = makeProblem(true, 31);
        const Probed r = probe(p, 0.01);
        QCOMPARE(static_cast<int>(r.probe.fan.size()), 5);
        QCOMPARE(r.probe.fan[2].delta, 0.01);
        const UpdateBatch batch{p.obs, p.actions, p.adv, p.oldLogp};
        for (const WhatIfStep& w : r.probe.fan) {
            UpdateSettings s = r.settings;
            s.delta = w.delta;
            VectorXd theta = p.theta;
            IterationStats st;
            trpoUpdate(p.policy, theta, batch, s, st);
            QCOMPARE(w.accepted, st.accepted);
            QCOMPARE(w.beta, st.beta);
            QCOMPARE(w.fraction, st.stepFraction);
            QCOMPARE(w.klMean, st.klMean);
            QCOMPARE(w.backtracks, st.backtracks);
            QCOMPARE(w.surrogateChange, st.accepted ? st.actualImprovement : 0.0);
            QCOMPARE(w.trials.size(), st.trials.size());
            if (w.accepted) {
                QVERIFY(w.klMean <= w.delta);
                const VectorXd predicted = p.theta + w.fraction * (w.beta * r.direction.x);
                QVERIFY(sameBits(predicted, theta));
            }
        }
        // a larger δ never takes a smaller accepted step along the same x
        double lastAlpha = 0;
        for (const WhatIfStep& w : r.probe.fan)
            if (w.accepted) {
                QVERIFY(w.alpha >= lastAlpha * (1 - 1e-12));
                lastAlpha = w.alpha;
            }
    }

    void jsonRoundTrip() {
        const Problem p = makeProblem(false, 41);
        TrustRegionProbe pr = probe(p, 0.05).probe;
        pr.iteration = 7;
        pr.curve[3].klMax = std::numeric_limits<double>::infinity();
        const TrustRegionProbe back = probeFromJson(nlohmann::json::parse(probeToJson(pr).dump()));
        QCOMPARE(probeToJson(back).dump(), probeToJson(pr).dump());
        QCOMPARE(back.iteration, 7);
        QVERIFY(std::isinf(back.curve[3].klMax));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, probeFromJson(nlohmann::json::parse(R"({"iteration": 1})")));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, probeFromJson(nlohmann::json::array()));
    }

    // probing every iteration leaves the run bit for bit as it was; an on-demand probe of
    // the last iteration equals the one computed during it
    void probingChangesNothing() {
        for (const char* env : {"CartPole-v1", "Pendulum-v1"}) {
            Trainer plain(smallConfig(env), sim::environmentFactory(env));
            Trainer probed(smallConfig(env), sim::environmentFactory(env));
            Trainer onDemand(smallConfig(env), sim::environmentFactory(env));
            probed.setProbeEvery(1);
            for (int i = 0; i < 4; ++i) {
                const IterationStats a = plain.iterate(), b = probed.iterate();
                onDemand.iterate();
                QCOMPARE(statsToJson(a, false).dump(), statsToJson(b, false).dump());
                QVERIFY(b.secondsProbe > 0);
                QCOMPARE(a.secondsProbe, 0.0);
                std::optional<TrustRegionProbe> during = probed.probeLastIteration();
                std::optional<TrustRegionProbe> after = onDemand.probeLastIteration();
                QVERIFY(during && after);
                QCOMPARE(during->iteration, i + 1);
                QCOMPARE(after->iteration, i + 1);
                nlohmann::json x = probeToJson(*during), y = probeToJson(*after);
                x.erase("seconds");
                y.erase("seconds");
                QCOMPARE(x.dump(), y.dump());
            }
            QVERIFY(sameBits(plain.theta(), probed.theta()));
            QVERIFY(sameBits(plain.theta(), onDemand.theta()));
            QVERIFY(sameBits(plain.state().critic, probed.state().critic));
            QVERIFY(sameBits(plain.state().critic, onDemand.state().critic));
            // nothing to probe mid-iteration
            plain.runPhase();
            QVERIFY(!plain.probeLastIteration());
        }
    }
};

QTEST_APPLESS_MAIN(TestTrustRegion)
#include "test_trust_region.moc"
