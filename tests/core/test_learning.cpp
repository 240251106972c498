// Small learning tests on the shipped presets with fixed seeds: the direction and size of
// the change in return, not exact values (slow convergence studies live in trpo-bench).
#include <QtTest>

#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"

using namespace core;

namespace {
// trains until `budget` steps; returns the first full last-20 mean and the final one
std::pair<double, double> train(const std::string& env, std::uint64_t seed, std::int64_t budget) {
    TrpoConfig c = presetConfig(env);
    c.seed = seed;
    Trainer t(c, sim::environmentFactory(env));
    std::optional<double> first;
    while (t.envSteps() < budget) {
        const IterationStats s = t.iterate();
        if (!first && static_cast<int>(t.recentReturns().size()) == Trainer::kRecentEpisodes) first = s.recentReturnMean;
    }
    if (!first) first = t.recentReturnMean();
    qInfo("%s seed %llu: last-20 mean %.1f at first, %.1f after %lld steps", env.c_str(),
          static_cast<unsigned long long>(seed), first.value_or(NAN), t.recentReturnMean().value_or(NAN),
          static_cast<long long>(t.envSteps()));
    return {first.value_or(NAN), t.recentReturnMean().value_or(NAN)};
}
} // namespace

class TestLearning : public QObject {
    Q_OBJECT
private slots:
    void acrobotSwingsUp() {
        // random play scores -500 (never reaches the line); TRPO gets past -200 within 30k steps
        const auto [first, last] = train("Acrobot-v1", 1, 30000);
        QVERIFY(last > -200.0);
        QVERIFY(last > first + 200.0);
    }
    void cartPoleWithoutVelocitiesNeedsMemory() {
        // CartPoleNoVel-v1 observes [x, θ] only. With the preset's settings (the Fisher
        // subsample off, which a GRU needs), the GRU policy reaches a last-20 mean of 475 and
        // the MLP, which cannot tell which way the pole moves, never does in the same budget
        auto best = [](NetworkKind net) {
            TrpoConfig c = presetConfig("CartPoleNoVel-v1");
            c.seed = 3;
            c.network = net;
            c.fvpSubsample = 1;
            Trainer t(c, sim::environmentFactory(c.env));
            double peak = -INFINITY;
            while (t.envSteps() < 150000 && peak < 475.0) {
                const IterationStats s = t.iterate();
                if (s.recentReturnMean) peak = std::max(peak, *s.recentReturnMean);
            }
            qInfo("%s: best last-20 mean %.1f after %lld steps", net == NetworkKind::Gru ? "gru" : "mlp", peak,
                  static_cast<long long>(t.envSteps()));
            return peak;
        };
        QVERIFY(best(NetworkKind::Gru) >= 475.0);
        QVERIFY(best(NetworkKind::Mlp) < 475.0);
    }
    void lunarLanderContinuousImproves() {
        // from crashing (about -300) to better than -100 within 50k steps
        const auto [first, last] = train("LunarLanderContinuous-v3", 1, 50000);
        QVERIFY(last > -100.0);
        QVERIFY(last > first + 150.0);
    }
};

QTEST_APPLESS_MAIN(TestLearning)
#include "test_learning.moc"
