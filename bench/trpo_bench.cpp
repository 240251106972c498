// trpo-bench: prints measured figures (it asserts nothing).
//   1. raw environment steps/s with random actions, one thread, for every registered env
//   2. training throughput and seconds per phase on each env's preset
//   3. wall seconds and environment steps until the solved threshold (CartPole 475,
//      Pendulum -200 over the last 20 training episodes), for several seeds
// Usage: trpo-bench [--quick] [--seeds N] [--only ID] [--all-thresholds]
//   --all-thresholds also trains every other environment to its threshold (minutes each)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void rawSteps(const std::string& only) {
    std::printf("\n== raw environment steps/s (random actions, 1 thread) ==\n");
    for (const sim::EnvInfo& info : sim::registry()) {
        if (!only.empty() && info.id != only) continue;
        auto env = info.make();
        const core::EnvSpec& sp = env->spec();
        std::vector<double> obs(sp.observation.dim()), act(sp.action.dim());
        core::Rng rng(1);
        env->reset(1, obs);
        const int n = 200000;
        const auto t0 = clock_type::now();
        for (int i = 0; i < n; ++i) {
            if (sp.action.isDiscrete())
                act[0] = static_cast<double>(rng.below(sp.action.n));
            else
                for (int j = 0; j < sp.action.dim(); ++j) act[j] = rng.uniform(sp.action.low[j], sp.action.high[j]);
            const core::StepResult r = env->step(act, obs);
            if (r.terminated || r.truncated) env->reset(rng.next(), obs);
        }
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::printf("%-28s %12.0f steps/s  (%.2f us/step)\n", info.id.c_str(), n / s, 1e6 * s / n);
    }
}

void throughput(const std::string& id, int iterations) {
    core::TrpoConfig c = core::presetConfig(id);
    core::Trainer t(c, sim::environmentFactory(id));
    double ph[6] = {0, 0, 0, 0, 0, 0};
    const auto t0 = clock_type::now();
    for (int i = 0; i < iterations; ++i) {
        const core::IterationStats s = t.iterate();
        ph[0] += s.secondsSampling;
        ph[1] += s.secondsAdvantages;
        ph[2] += s.secondsGradient;
        ph[3] += s.secondsCg;
        ph[4] += s.secondsLineSearch;
        ph[5] += s.secondsValueFit;
    }
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::printf("%-28s %10.0f steps/s over %d iterations of %d steps | per iteration ms: sample %.2f  adv %.2f  "
                "grad %.2f  cg %.2f  ls %.2f  vf %.2f\n",
                id.c_str(), t.envSteps() / s, iterations, c.stepsPerIteration, 1e3 * ph[0] / iterations,
                1e3 * ph[1] / iterations, 1e3 * ph[2] / iterations, 1e3 * ph[3] / iterations,
                1e3 * ph[4] / iterations, 1e3 * ph[5] / iterations);
}

void toThreshold(const std::string& id, double threshold, std::int64_t budget, int seeds) {
    std::vector<double> secs, steps;
    int solved = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
        core::TrpoConfig c = core::presetConfig(id);
        c.seed = static_cast<std::uint64_t>(seed);
        core::Trainer t(c, sim::environmentFactory(id));
        const auto t0 = clock_type::now();
        bool ok = false;
        while (t.envSteps() < budget && !ok) {
            t.iterate();
            ok = static_cast<int>(t.recentReturns().size()) == core::Trainer::kRecentEpisodes &&
                 *t.recentReturnMean() >= threshold;
        }
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::printf("  %-26s seed %d: %s at %7lld steps, %6.2f s (last-20 mean %.1f)\n", id.c_str(), seed,
                    ok ? "solved" : "NOT solved", static_cast<long long>(t.envSteps()), s,
                    t.recentReturnMean().value_or(0));
        if (ok) {
            ++solved;
            secs.push_back(s);
            steps.push_back(static_cast<double>(t.envSteps()));
        }
    }
    if (solved)
        std::printf("%-28s threshold %.0f: solved %d/%d seeds, median %.2f s and %.0f steps\n", id.c_str(), threshold,
                    solved, seeds, median(secs), median(steps));
    else
        std::printf("%-28s threshold %.0f: solved 0/%d seeds within %lld steps\n", id.c_str(), threshold, seeds,
                    static_cast<long long>(budget));
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false, all = false;
    int seeds = 5;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc)
            seeds = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--all-thresholds"))
            all = true;
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            std::fprintf(stderr, "usage: trpo-bench [--quick] [--seeds N] [--only ENV_ID] [--all-thresholds]\n");
            return 2;
        }
    }
    if (quick) seeds = std::min(seeds, 2);
    rawSteps(only);
    std::printf("\n== training throughput with the shipped presets (2 sampling threads) ==\n");
    for (const sim::EnvInfo& info : sim::registry())
        if (only.empty() || info.id == only) throughput(info.id, quick ? 5 : 20);
    std::printf("\n== wall time and environment steps to the solved threshold ==\n");
    // (id, threshold, step budget): the peers' budgets where they reach it, more where they fall short
    const struct {
        const char* id;
        double threshold;
        std::int64_t budget;
        bool always;
    } targets[] = {
        {"CartPole-v1", 475.0, 100000, true},
        {"Pendulum-v1", -200.0, 200000, true},
        {"Acrobot-v1", -100.0, 100000, false},
        {"MountainCarContinuous-v0", 90.0, 50000, false},
        {"LunarLanderContinuous-v3", 200.0, 200000, false},
        {"LunarLander-v3", 200.0, 1000000, false},
        {"CartPoleSwingUp-v0", 350.0, 500000, false},
        {"BipedalWalker-v3", 300.0, 3000000, false},
    };
    for (const auto& t : targets) {
        if (!sim::makeEnvironment(t.id)) continue;
        if (only.empty() ? (t.always || all) : only == t.id) toThreshold(t.id, t.threshold, t.budget, seeds);
    }
    return 0;
}
