// trpo-bench: prints measured figures (it asserts nothing).
//   1. raw environment steps/s with random actions, one thread, for every registered env
//   2. training throughput and seconds per phase on each env's preset
//   3. wall seconds and environment steps until the solved threshold (CartPole 475,
//      Pendulum -200 over the last 20 training episodes), for several seeds. Each run also
//      gets a deterministic evaluation (10 episodes with the mean / most likely action, on
//      fresh environment copies with fixed seeds, observations through the trainer's frozen
//      normaliser) when it ends, and at the peer's budget (RL Zoo's TRPO figures are
//      deterministic evaluations) when the run gets there.
//   2b. four forked CartPole variants side by side on two threads (run::RunSet): their
//      aggregate steps/s against one run's
//   4. (--heuristics, alone) Gymnasium's hand-written controllers (sim/heuristics.h) over
//      seeds 0-19, next to the real Gymnasium's figures (tests/data/gym_box2d/README.md)
//   5. (--conv, alone) the convolutional network (core/conv.h) on CubeCrash images, double
//      against float: forward, backward and jvp per sample; the natural direction with double
//      and float Fisher-vector products; throughput and phases of the CNN on CubeCrash-v0 and
//      the CNN-GRU on CubeCrashScreenBecomesBlack-v0
//   6. (--algos, alone) every policy update (README "Algorithms") on CartPole's preset (one
//      thread), PPO on two threads with the preset and with ppo-cartpole-fast.json, and PPO
//      with RL Zoo's CartPole settings (its critic in the policy's steps, then fitted on its
//      own): steps/s, and steps and seconds to a last-20 mean of 475, for each seed; then PPO
//      on Pendulum-v1 with ppo-pendulum-fast.json and the zoo's settings, to -200
//   7. (--gru, alone) the GRU policy on CartPoleNoVel-v1: its passes and the natural
//      direction in double and float, throughput and phases against the MLP, steps to 475
// Usage: trpo-bench [--quick] [--seeds N] [--first-seed S] [--only ID] [--all-thresholds]
//                   [--eval-at-budget] [--config FILE] [--thresholds-only]
//        trpo-bench --heuristics [--only ID]
//        trpo-bench --conv
//        trpo-bench --forks [--quick]      (section 2b alone)
//        trpo-bench --algos [--seeds N] [--first-seed S]
//        trpo-bench --gru [--seeds N] [--first-seed S]
//   --all-thresholds also trains every other environment to its threshold (minutes each)
//   --eval-at-budget keeps training a run that is solved before the peer's budget until it
//     reaches that budget, so that every run has a deterministic score at the peer's budget
//   --config FILE layers a JSON configuration over each preset (for tuning; with --only)
//   --first-seed S runs seeds S .. S+N-1 instead of 1 .. N
//   --thresholds-only skips sections 1 and 2
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/conv.h"
#include "core/network.h"
#include "core/sampler.h"
#include "core/trpo.h"
#include "core/presets.h"
#include "core/rng.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "run/fork.h"
#include "sim/heuristics.h"
#include "sim/registry.h"

namespace {

std::string g_configJson; // --config: layered over every preset

core::TrpoConfig benchConfig(const std::string& id) {
    core::TrpoConfig c = core::presetConfig(id);
    if (!g_configJson.empty()) {
        core::applyConfigJson(c, g_configJson);
        c.env = id;
    }
    return c;
}

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

void throughput(const std::string& label, const core::TrpoConfig& c, int iterations) {
    core::Trainer t(c, sim::environmentFactory(c.env));
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
                label.c_str(), t.envSteps() / s, iterations, c.stepsPerIteration, 1e3 * ph[0] / iterations,
                1e3 * ph[1] / iterations, 1e3 * ph[2] / iterations, 1e3 * ph[3] / iterations,
                1e3 * ph[4] / iterations, 1e3 * ph[5] / iterations);
}
void throughput(const std::string& id, int iterations) { throughput(id, benchConfig(id), iterations); }

// Forks (README "Forks"): four variants of one CartPole state (δ = 0.005, 0.01, 0.02, 0.04)
// trained side by side by run::RunSet on two threads, against the same state trained alone
// by one headless trainer on two threads; both count environment steps per wall second.
void forkThroughput(int iterations) {
    const std::string id = "CartPole-v1";
    core::TrpoConfig c = benchConfig(id);
    c.threads = 2;
    const core::EnvFactory factory = sim::environmentFactory(id);
    core::Trainer parent(c, factory);
    for (int i = 0; i < 5; ++i) parent.iterate();
    const core::TrainerState at = parent.state();

    core::Trainer alone(c, factory);
    alone.setState(at);
    auto t0 = clock_type::now();
    for (int i = 0; i < iterations; ++i) alone.iterate();
    const double single = static_cast<double>(alone.envSteps() - at.envSteps) /
                          std::chrono::duration<double>(clock_type::now() - t0).count();

    run::RunSet set;
    for (const char* delta : {"0.005", "0.01", "0.02", "0.04"})
        set.add(std::string("delta=") + delta, std::move(run::makeVariant(at, "delta", delta, factory, 1).trainer),
                std::nullopt);
    run::Budget budget;
    budget.iterations = iterations;
    t0 = clock_type::now();
    set.train(budget, 2, nullptr, nullptr);
    const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::int64_t steps = 0;
    for (int m = 0; m < set.size(); ++m) steps += set.member(m).trainer.envSteps() - at.envSteps;
    std::printf("%-28s one run %10.0f steps/s | 4 forked variants %10.0f steps/s in all (%.0f%% of one run), "
                "%d iterations each, 2 threads\n",
                id.c_str(), single, steps / wall, 100.0 * steps / wall / single, iterations);
}

// one row of the algorithm tables: a configuration (its `threads` are the row's)
struct AlgorithmRow {
    std::string name;
    core::TrpoConfig config;
};

// a PPO settings file of resources/configs over the environment's preset, as
// trpo-train --config reads it, with the guardrail's collapse rollback off (SB3 has none);
// valueCoeff >= 0 replaces the file's value_coeff
void addFileRow(std::vector<AlgorithmRow>& rows, const std::string& id, const std::string& name,
                const std::string& file, int threads, double valueCoeff = -1) {
    try {
        core::TrpoConfig c = core::presetConfig(id);
        core::applyConfigJson(c, core::readFileText(std::string(TRPO_RESOURCE_DIR) + "/configs/" + file));
        c.collapseDrop = 0;
        c.threads = threads;
        if (valueCoeff >= 0) c.valueCoeff = valueCoeff;
        rows.push_back({name, c});
    } catch (const std::exception& e) {
        std::printf("(%s skipped: %s)\n", name.c_str(), e.what());
    }
}

// each row on each seed until the last-20 mean reaches `target` or `budget` steps are spent:
// steps/s (training time only), how many seeds solved, the median steps and seconds of
// those that did, and each seed's steps
void algorithmRows(const std::string& id, double target, std::int64_t budget, std::vector<AlgorithmRow>& rows,
                   int firstSeed, int seeds) {
    std::printf("%-26s %12s %10s %14s %14s   per seed (steps to %g)\n", "algorithm", "steps/s", "solved",
                "median steps", "median time", target);
    for (AlgorithmRow& row : rows) {
        std::vector<double> steps, secs;
        std::string perSeed;
        double trainSeconds = 0;
        std::int64_t trainSteps = 0;
        for (int seed = firstSeed; seed < firstSeed + seeds; ++seed) {
            core::TrpoConfig c = row.config;
            c.seed = static_cast<std::uint64_t>(seed);
            core::Trainer t(c, sim::environmentFactory(id));
            double seconds = 0;
            bool solved = false;
            while (t.envSteps() < budget) {
                const auto t0 = clock_type::now();
                t.iterate();
                seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
                if (static_cast<int>(t.recentReturns().size()) == core::Trainer::kRecentEpisodes &&
                    *t.recentReturnMean() >= target) {
                    solved = true;
                    break;
                }
            }
            trainSeconds += seconds;
            trainSteps += t.envSteps();
            char buf[48];
            if (solved) {
                steps.push_back(static_cast<double>(t.envSteps()));
                secs.push_back(seconds);
                std::snprintf(buf, sizeof buf, " %.1fk", t.envSteps() / 1e3);
            } else {
                std::snprintf(buf, sizeof buf, " >%.0fk", budget / 1e3);
            }
            perSeed += buf;
        }
        char stepsText[32] = "-", timeText[32] = "-";
        if (!steps.empty()) {
            std::snprintf(stepsText, sizeof stepsText, "%.1fk", median(steps) / 1e3);
            std::snprintf(timeText, sizeof timeText, "%.3f s", median(secs));
        }
        std::printf("%-26s %12.0f %6d/%-3d %14s %14s  %s\n", row.name.c_str(), trainSteps / trainSeconds,
                    static_cast<int>(steps.size()), seeds, stepsText, timeText, perSeed.c_str());
        std::fflush(stdout);
    }
}

// Algorithms (README "Algorithms"): each update on CartPole-v1's preset with only `algo`
// changed, one thread each, then PPO on two threads, with the preset and with the settings
// of resources/configs/ppo-cartpole-fast.json, and PPO with RL Zoo's CartPole settings
// (resources/configs/ppo-cartpole-zoo.json) on one, with its critic in the policy's steps as
// SB3's and then with the critic's own fit (value_coeff 0), until the last-20 mean reaches
// 475 or 300k steps. Then PPO on Pendulum-v1 with ppo-pendulum-fast.json (two threads) and
// the zoo's ppo-pendulum-zoo.json (one), to −200 or 400k steps.
void algorithmTable(int firstSeed, int seeds) {
    std::string id = "CartPole-v1";
    std::vector<AlgorithmRow> rows;
    for (core::Algorithm a : {core::Algorithm::Trpo, core::Algorithm::Npg, core::Algorithm::Vpg, core::Algorithm::KlPenalty,
                              core::Algorithm::KlAdaptive, core::Algorithm::Ppo}) {
        core::TrpoConfig c = core::presetConfig(id);
        c.algo = a;
        c.threads = 1;
        rows.push_back({core::algorithmName(a), c});
    }
    core::TrpoConfig twoThreads = rows.back().config;
    twoThreads.threads = 2;
    rows.push_back({"ppo (2 threads)", twoThreads});
    addFileRow(rows, id, "ppo (fast, 2 threads)", "ppo-cartpole-fast.json", 2);
    addFileRow(rows, id, "ppo (zoo settings)", "ppo-cartpole-zoo.json", 1);
    addFileRow(rows, id, "ppo (zoo, own critic fit)", "ppo-cartpole-zoo.json", 1, 0.0);
    algorithmRows(id, 475.0, 300000, rows, firstSeed, seeds);

    id = "Pendulum-v1";
    std::printf("\n== PPO on Pendulum-v1: steps/s, and steps and time to a last-20 mean of -200 (seeds %d-%d) ==\n",
                firstSeed, firstSeed + seeds - 1);
    rows.clear();
    addFileRow(rows, id, "ppo (fast, 2 threads)", "ppo-pendulum-fast.json", 2);
    addFileRow(rows, id, "ppo (zoo settings)", "ppo-pendulum-zoo.json", 1);
    addFileRow(rows, id, "ppo (zoo, own critic fit)", "ppo-pendulum-zoo.json", 1, 0.0);
    algorithmRows(id, -200.0, 400000, rows, firstSeed, seeds);
}

// deterministic evaluation: `episodes` episodes with the mode action on fresh environment
// copies (episode seeds kEvalSeed + i, never used by training streams in practice)
struct EvalResult {
    double mean = 0, min = 0, max = 0;
    int episodes = 0;
};
constexpr std::uint64_t kEvalSeed = 1000003;
EvalResult evaluateDeterministic(const core::Trainer& t, const std::string& id, int episodes = 10) {
    const core::SnapshotPtr snap = t.snapshot();
    const core::EnvFactory factory = sim::environmentFactory(id);
    core::Rng unused(0); // deterministic actions draw nothing
    EvalResult r;
    r.min = INFINITY;
    r.max = -INFINITY;
    double sum = 0;
    for (int i = 0; i < episodes; ++i) {
        auto env = factory();
        const core::EnvSpec& sp = env->spec();
        std::vector<double> obs(sp.observation.dim()), act(sp.action.dim());
        env->reset(kEvalSeed + static_cast<std::uint64_t>(i), obs);
        double ret = 0;
        for (;;) {
            snap->act(obs, unused, true, act);
            const core::StepResult s = env->step(act, obs);
            ret += s.reward;
            if (s.terminated || s.truncated) break;
        }
        sum += ret;
        r.min = std::min(r.min, ret);
        r.max = std::max(r.max, ret);
    }
    r.episodes = episodes;
    r.mean = sum / episodes;
    return r;
}

struct Target {
    const char* id;
    double threshold;
    std::int64_t budget; // our step budget for reaching the threshold
    bool always;
    std::int64_t peerBudget; // RL Zoo TRPO's training steps (0: no peer figure)
    double peerScore;        // its deterministic evaluation at that budget
};

void toThreshold(const Target& tg, int firstSeed, int seeds, bool evalAtBudget) {
    const std::string id = tg.id;
    std::vector<double> secs, steps, solvedEval, budgetEval;
    int solved = 0;
    for (int seed = firstSeed; seed < firstSeed + seeds; ++seed) {
        core::TrpoConfig c = benchConfig(id);
        c.seed = static_cast<std::uint64_t>(seed);
        core::Trainer t(c, sim::environmentFactory(id));
        double trainSeconds = 0; // training only: the evaluations are not timed in
        bool ok = false, budgetDone = tg.peerBudget <= 0;
        std::int64_t okSteps = 0;
        double okSeconds = 0, okMean = 0;
        auto last20 = [&] { return t.recentReturnMean().value_or(NAN); };
        for (;;) {
            const bool wantSolve = !ok && t.envSteps() < tg.budget;
            const bool wantBudget = !budgetDone && (evalAtBudget || wantSolve);
            if (!wantSolve && !wantBudget) break;
            const auto t0 = clock_type::now();
            t.iterate();
            trainSeconds += std::chrono::duration<double>(clock_type::now() - t0).count();
            if (!ok && static_cast<int>(t.recentReturns().size()) == core::Trainer::kRecentEpisodes &&
                *t.recentReturnMean() >= tg.threshold) {
                ok = true;
                okSteps = t.envSteps();
                okSeconds = trainSeconds;
                okMean = last20();
                const EvalResult ev = evaluateDeterministic(t, id);
                solvedEval.push_back(ev.mean);
                std::printf("  %-26s seed %d: solved at %8lld steps, %7.2f s: training last-20 mean %.1f, "
                            "deterministic eval %.1f (min %.1f, max %.1f, %d episodes)\n",
                            id.c_str(), seed, static_cast<long long>(okSteps), okSeconds, okMean, ev.mean, ev.min,
                            ev.max, ev.episodes);
            }
            if (!budgetDone && t.envSteps() >= tg.peerBudget) {
                budgetDone = true;
                const EvalResult ev = evaluateDeterministic(t, id);
                budgetEval.push_back(ev.mean);
                std::printf("  %-26s seed %d: at the peer's budget (%lld steps; peer %.1f at %lld): training last-20 "
                            "mean %.1f, deterministic eval %.1f (min %.1f, max %.1f)\n",
                            id.c_str(), seed, static_cast<long long>(t.envSteps()), tg.peerScore,
                            static_cast<long long>(tg.peerBudget), last20(), ev.mean, ev.min, ev.max);
            }
        }
        if (!ok) {
            const EvalResult ev = evaluateDeterministic(t, id);
            std::printf("  %-26s seed %d: NOT solved at %8lld steps, %7.2f s: training last-20 mean %.1f, "
                        "deterministic eval %.1f (min %.1f, max %.1f, %d episodes)\n",
                        id.c_str(), seed, static_cast<long long>(t.envSteps()), trainSeconds, last20(), ev.mean,
                        ev.min, ev.max, ev.episodes);
        } else {
            ++solved;
            secs.push_back(okSeconds);
            steps.push_back(static_cast<double>(okSteps));
        }
    }
    if (solved)
        std::printf("%-28s threshold %.0f: solved %d/%d seeds, median %.2f s and %.0f steps; median deterministic "
                    "eval when solved %.1f\n",
                    id.c_str(), tg.threshold, solved, seeds, median(secs), median(steps), median(solvedEval));
    else
        std::printf("%-28s threshold %.0f: solved 0/%d seeds within %lld steps\n", id.c_str(), tg.threshold, seeds,
                    static_cast<long long>(tg.budget));
    if (!budgetEval.empty())
        std::printf("%-28s at the peer's budget of %lld steps: median deterministic eval %.1f over %zu seeds "
                    "(peer %.1f)\n",
                    id.c_str(), static_cast<long long>(tg.peerBudget), median(budgetEval), budgetEval.size(),
                    tg.peerScore);
}

// Gymnasium's heuristic on seeds 0..19, a fresh environment per episode, against the real
// Gymnasium 1.0.0 (pybox2d 2.3.5) on the same seeds: the return distribution of
// tests/data/gym_box2d/README.md. The walker's table has two rows: a new env per episode
// ("fresh", as this port builds a new b2World at every reset) and one env reset 20 times
// ("reused", Gymnasium's own demo), which differ because Gymnasium reuses its b2World.
void heuristicReturns(const std::string& only) {
    struct Reference {
        const char* id;
        double mean, std, meanLength; // fresh
        double reusedMean, reusedStd; // NaN when equal to fresh
    };
    const Reference refs[] = {
        {"LunarLander-v3", 263.88, 38.91, 257.9, NAN, NAN},
        {"LunarLanderContinuous-v3", 282.64, 18.67, 204.9, NAN, NAN},
        {"BipedalWalker-v3", 75.42, 114.59, 857.7, 108.47, 117.22},
        {"BipedalWalkerHardcore-v3", -53.36, 26.68, 405.0, -58.52, 17.93},
    };
    std::printf("\n== Gymnasium's heuristics, seeds 0-19, a fresh environment per episode ==\n");
    if (!only.empty() && !sim::makeHeuristic(only)) std::printf("%s has no heuristic\n", only.c_str());
    for (const Reference& ref : refs) {
        if (!only.empty() && only != ref.id) continue;
        std::vector<double> returns;
        double lengthSum = 0.0;
        int above200 = 0, above300 = 0;
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            auto env = sim::makeEnvironment(ref.id);
            auto controller = sim::makeHeuristic(ref.id);
            const core::EnvSpec& sp = env->spec();
            std::vector<double> obs(sp.observation.dim()), act(sp.action.dim());
            env->reset(seed, obs);
            controller->reset();
            double ret = 0.0;
            int steps = 0;
            for (;;) {
                controller->act(obs, act);
                const core::StepResult r = env->step(act, obs);
                ret += r.reward;
                ++steps;
                if (r.terminated || r.truncated) break;
            }
            returns.push_back(ret);
            lengthSum += steps;
            above200 += ret >= 200.0;
            above300 += ret >= 300.0;
        }
        double mean = 0.0, var = 0.0;
        for (double r : returns) mean += r / static_cast<double>(returns.size());
        for (double r : returns) var += (r - mean) * (r - mean) / static_cast<double>(returns.size());
        std::printf("%-26s port %7.2f ± %6.2f (min %7.2f, max %7.2f, mean length %6.1f, >=200: %d, >=300: %d)\n", ref.id, mean,
                    std::sqrt(var), *std::min_element(returns.begin(), returns.end()),
                    *std::max_element(returns.begin(), returns.end()), lengthSum / static_cast<double>(returns.size()), above200,
                    above300);
        std::printf("%-26s Gymnasium %7.2f ± %6.2f fresh (mean length %6.1f)", "", ref.mean, ref.std, ref.meanLength);
        if (!std::isnan(ref.reusedMean)) std::printf(", %7.2f ± %6.2f reused", ref.reusedMean, ref.reusedStd);
        std::printf("; port - Gymnasium (fresh) mean: %+.2f\n", mean - ref.mean);
        std::printf("%-26s per seed:", "");
        for (double r : returns) std::printf(" %.2f", r);
        std::printf("\n");
    }
}

} // namespace

// median microseconds per sample of forward, backward and jvp (one thread) of a network on a
// batch, in the network's scalar type; prepare(ws) sets up the workspace first (a recurrent
// network's sequences)
template <typename Net, typename Prepare>
void networkPasses(const Net& net, const Eigen::VectorXd& theta64, const Eigen::MatrixXd& obs64, const char* label,
                   Prepare&& prepare) {
    using Matrix = typename Net::Matrix;
    using Vector = typename Net::Vector;
    using Scalar = typename Matrix::Scalar;
    const Vector theta = theta64.head(net.numParams()).template cast<Scalar>();
    const Vector v = Vector::Ones(net.numParams()) * Scalar(1e-3);
    const Matrix obs = obs64.cast<Scalar>();
    const Matrix dOut = Matrix::Ones(net.outputs(), obs.cols());
    typename Net::Workspace ws;
    prepare(ws);
    Vector grad = Vector::Zero(net.numParams());
    std::vector<double> f, b, j;
    for (int rep = 0; rep < 5; ++rep) {
        auto t0 = clock_type::now();
        net.forward(theta, obs, ws);
        auto t1 = clock_type::now();
        net.backward(theta, dOut, ws, grad);
        auto t2 = clock_type::now();
        net.jvp(theta, v, ws);
        auto t3 = clock_type::now();
        const double n = static_cast<double>(obs.cols());
        f.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
        b.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count() / n);
        j.push_back(std::chrono::duration<double, std::micro>(t3 - t2).count() / n);
    }
    std::printf("%-7s forward %6.2f us  backward %6.2f us  jvp %6.2f us  per sample\n", label, median(f), median(b), median(j));
}

// garage's trpo_cubecrash network on batches of real CubeCrash observations, double and float
void convTiming() {
    const int n = 2000;
    std::printf("\n== convolutional network, %d CubeCrash images, 1 thread (median of 5) ==\n", n);
    auto env = sim::makeEnvironment("CubeCrash-v0");
    Eigen::MatrixXd obs(env->spec().observation.dim(), n);
    std::vector<double> o(obs.rows()), a(1);
    core::Rng rng(1);
    std::uint64_t seed = 0;
    env->reset(seed, o);
    for (int i = 0; i < n; ++i) {
        obs.col(i) = Eigen::Map<const Eigen::VectorXd>(o.data(), obs.rows());
        a[0] = static_cast<double>(rng.below(3));
        const core::StepResult r = env->step(a, o);
        if (r.terminated || r.truncated) env->reset(++seed, o);
    }
    const core::ImageShape img{3, 40, 32};
    const std::vector<core::ConvLayerSpec> layers{{32, 8, 4}, {64, 4, 2}};
    const core::ConvNet net(img, layers, {32, 32, 3}, core::Activation::Relu);
    const core::ConvNetFloat netF(img, layers, {32, 32, 3}, core::Activation::Relu);
    Eigen::VectorXd theta(net.numParams());
    net.initialize(theta, 0.01, rng);
    std::printf("%s, %d parameters\n", net.describe().c_str(), net.numParams());
    networkPasses(net, theta, obs, "double", [](auto&) {});
    networkPasses(netF, theta, obs, "float", [](auto&) {});
}

// a policy of c's network at its initial θ (seed 1) and the last of `batches` batches it sampled
struct SampledBatch {
    core::EnvSpec spec;
    core::Policy policy;
    Eigen::VectorXd theta;
    core::Batch batch;
};
SampledBatch sampleWithPreset(const core::TrpoConfig& c, int batches) {
    core::Sampler sampler(sim::environmentFactory(c.env), c.numEnvs, 1);
    SampledBatch out{sampler.spec(), core::Policy(core::networkSpec(c, sampler.spec(), c.hidden), sampler.spec().action), {}, {}};
    core::Rng rng(1);
    out.theta = out.policy.initialParams(rng, 0.0);
    core::ObsNormalizer norm;
    core::RewardScaler scaler;
    core::SampleSettings ss;
    ss.steps = c.stepsPerIteration;
    for (int b = 0; b < batches; ++b) sampler.collect(out.policy, out.theta, norm, scaler, ss, out.batch);
    return out;
}

// the surrogate gradient and the natural direction (15 CG iterations, every fvpSubsample-th
// sample in the Fisher-vector products) on one batch, with double and with float products,
// one thread, median of 5
void naturalDirectionTiming(const core::Policy& policy, const Eigen::VectorXd& theta, const core::UpdateBatch& ub,
                            int fvpSubsample) {
    for (bool dbl : {true, false}) {
        core::UpdateSettings us;
        us.fvpDoublePrecision = dbl;
        us.fvpSubsample = fvpSubsample;
        us.cgIters = 15;
        us.cgTolerance = 0;
        std::vector<double> g, cg;
        for (int rep = 0; rep < 5; ++rep) {
            core::UpdateWorkspace ws;
            const core::SurrogateGradient sg = core::surrogateGradient(policy, theta, ub, us, ws);
            const core::NaturalDirection nd = core::naturalDirection(policy, theta, sg.g, us, ws);
            g.push_back(1e3 * sg.seconds);
            cg.push_back(1e3 * nd.seconds);
        }
        std::printf("%-7s Fisher-vector products: gradient %.2f ms, natural direction (15 CG iterations) %.2f ms\n",
                    dbl ? "double" : "float", median(g), median(cg));
    }
}

// CNN policies on their presets (README "Convolutional policies"): the natural direction
// with double and with float Fisher-vector products on a CubeCrash-v0 batch (the preset's
// Fisher subsample), then training throughput and phases of CubeCrash-v0 (cnn) and of
// CubeCrashScreenBecomesBlack-v0 (cnn_gru with a cnn_gru critic)
void convTraining() {
    const std::string id = "CubeCrash-v0";
    const core::TrpoConfig c = benchConfig(id);
    const SampledBatch sb = sampleWithPreset(c, 1);
    const core::Policy& policy = sb.policy;
    const Eigen::VectorXd& theta = sb.theta;
    const core::Batch& batch = sb.batch;
    const Eigen::VectorXd adv = Eigen::VectorXd::Ones(batch.size());
    std::printf("\n== CNN policy on %s (the preset), a batch of %d steps, Fisher-vector products on every %d-th sample, "
                "1 thread (median of 5) ==\n",
                id.c_str(), batch.size(), c.fvpSubsample);
    naturalDirectionTiming(policy, theta, {batch.obs, batch.actions, adv, batch.logp, batch.sequences(c.bpttSteps)},
                           c.fvpSubsample);
    std::printf("\n");
    throughput("CubeCrash-v0 cnn", c, 20);
    throughput("CubeCrashScreenBecomesBlack-v0 cnn_gru", benchConfig("CubeCrashScreenBecomesBlack-v0"), 10);
}

// The GRU policy (README "Recurrent policies") on CartPoleNoVel-v1: the network's passes
// per sample over a sampled batch read as the update's sequences, double against float; the
// natural direction (15 CG iterations) with the double and the float Fisher-vector product;
// training throughput and phases against the MLP with the same settings; and steps and
// seconds to a last-20 mean of 475 for each seed (one thread)
void gruTiming(int firstSeed, int seeds) {
    const std::string id = "CartPoleNoVel-v1";
    core::TrpoConfig gru = core::presetConfig(id);
    gru.network = core::NetworkKind::Gru;
    gru.fvpSubsample = 1;
    core::TrpoConfig mlp = gru;
    mlp.network = core::NetworkKind::Mlp;
    // the GRU critic, with ReLU (README "Recurrent policies": with tanh its head saturates)
    core::TrpoConfig gruRelu = gru;
    gruRelu.activation = core::Activation::Relu;
    core::TrpoConfig gruCritic = gruRelu;
    gruCritic.gruCritic = true;

    // the second batch, so that each copy's first state was carried over from the first
    const SampledBatch sb = sampleWithPreset(gru, 2);
    const core::Policy& policy = sb.policy;
    const Eigen::VectorXd& theta = sb.theta;
    const core::Batch& batch = sb.batch;
    const core::EnvSpec& sp = sb.spec;
    const int n = batch.size();
    std::printf("\n== GRU policy on %s: state %d, head %d-%d, %d parameters; a batch of %d steps (%d copies), "
                "sequences of %d steps, 1 thread (median of 5) ==\n",
                id.c_str(), gru.gruState, gru.hidden[0], gru.hidden.back(), policy.numParams(), n, gru.numEnvs, gru.bpttSteps);
    const core::NetworkSpec spec = core::networkSpec(gru, sp, gru.hidden);
    // the update's sequences over the whole batch
    auto sequences = [&](auto& ws) { core::sequencesFor(batch.sequences(gru.bpttSteps), 0, n, ws); };
    networkPasses(core::Network(spec, sp.action.policyOutputs()), theta, batch.obs, "double", sequences);
    networkPasses(core::NetworkFloat(spec, sp.action.policyOutputs()), theta, batch.obs, "float", sequences);

    const Eigen::VectorXd adv = Eigen::VectorXd::Ones(n);
    naturalDirectionTiming(policy, theta, {batch.obs, batch.actions, adv, batch.logp, batch.sequences(gru.bpttSteps)}, 1);

    std::printf("\n");
    throughput("CartPoleNoVel-v1 gru", gru, 100);
    throughput("CartPoleNoVel-v1 mlp", mlp, 100);
    throughput("... gru, relu", gruRelu, 100);
    throughput("... gru + gru critic, relu", gruCritic, 100);
    std::printf("\nsteps to a last-20 mean of 475 within 300k steps (1 thread):\n");
    for (const auto& [label, cfg] : {std::pair<const char*, core::TrpoConfig>{"gru", gru},
                                     {"mlp", mlp},
                                     {"gru, relu", gruRelu},
                                     {"gru + gru critic, relu", gruCritic}}) {
        for (int seed = firstSeed; seed < firstSeed + seeds; ++seed) {
            core::TrpoConfig c = cfg;
            c.seed = static_cast<std::uint64_t>(seed);
            c.threads = 1;
            c.collapseDrop = 0; // the comparison is of learning, not of the guardrail
            core::Trainer t(c, sim::environmentFactory(id));
            double seconds = 0, best = -INFINITY;
            bool solved = false;
            while (t.envSteps() < 300000 && !solved) {
                const auto t0 = clock_type::now();
                const core::IterationStats st = t.iterate();
                seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
                if (st.recentReturnMean) best = std::max(best, *st.recentReturnMean);
                solved = static_cast<int>(t.recentReturns().size()) == core::Trainer::kRecentEpisodes && best >= 475.0;
            }
            if (solved)
                std::printf("  %s seed %d: 475 at %lld steps, %.2f s\n", label, seed, static_cast<long long>(t.envSteps()),
                            seconds);
            else
                std::printf("  %s seed %d: not reached in %lld steps (best %.1f), %.2f s\n", label, seed,
                            static_cast<long long>(t.envSteps()), best, seconds);
            std::fflush(stdout);
        }
    }
}

int main(int argc, char** argv) {
    bool quick = false, all = false, evalAtBudget = false, thresholdsOnly = false, heuristics = false, forks = false,
         algos = false, gruSection = false;
    int seeds = 5, firstSeed = 1;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc)
            seeds = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--all-thresholds"))
            all = true;
        else if (!std::strcmp(argv[i], "--eval-at-budget"))
            evalAtBudget = true;
        else if (!std::strcmp(argv[i], "--thresholds-only"))
            thresholdsOnly = true;
        else if (!std::strcmp(argv[i], "--heuristics"))
            heuristics = true;
        else if (!std::strcmp(argv[i], "--conv")) {
            convTiming();
            convTraining();
            return 0;
        }
        else if (!std::strcmp(argv[i], "--forks"))
            forks = true;
        else if (!std::strcmp(argv[i], "--gru"))
            gruSection = true;
        else if (!std::strcmp(argv[i], "--algos"))
            algos = true;
        else if (!std::strcmp(argv[i], "--first-seed") && i + 1 < argc)
            firstSeed = std::max(0, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
            try {
                g_configJson = core::readFileText(argv[++i]);
                core::TrpoConfig probe;
                core::applyConfigJson(probe, g_configJson);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "trpo-bench: --config %s: %s\n", argv[i], e.what());
                return 2;
            }
        }
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            std::fprintf(stderr, "usage: trpo-bench [--quick] [--seeds N] [--first-seed S] [--only ENV_ID] "
                                 "[--all-thresholds] [--eval-at-budget] [--config FILE] [--thresholds-only]\n"
                                 "       trpo-bench --heuristics [--only ENV_ID]\n"
                                 "       trpo-bench --conv\n"
                                 "       trpo-bench --forks [--quick]\n"
                                 "       trpo-bench --algos [--seeds N] [--first-seed S]\n"
                                 "       trpo-bench --gru [--seeds N] [--first-seed S]\n");
            return 2;
        }
    }
    if (heuristics) {
        heuristicReturns(only);
        return 0;
    }
    if (gruSection) {
        gruTiming(firstSeed, seeds);
        return 0;
    }
    if (algos) {
        std::printf("\n== algorithms on CartPole-v1: steps/s, and steps and time to a last-20 mean of 475 "
                    "(one thread, seeds %d-%d) ==\n", firstSeed, firstSeed + seeds - 1);
        algorithmTable(firstSeed, seeds);
        return 0;
    }
    if (forks) {
        std::printf("\n== forks: four variants side by side against one run (CartPole preset) ==\n");
        forkThroughput(quick ? 20 : 60);
        return 0;
    }
    if (quick) seeds = std::min(seeds, 2);
    if (!thresholdsOnly) {
        rawSteps(only);
        std::printf("\n== training throughput with the shipped presets%s (2 sampling threads) ==\n",
                    g_configJson.empty() ? "" : " and --config");
        for (const sim::EnvInfo& info : sim::registry())
            if (only.empty() || info.id == only) throughput(info.id, quick ? 5 : 20);
        if (only.empty() || only == "CartPole-v1") {
            std::printf("\n== forks: four variants side by side against one run (CartPole preset) ==\n");
            forkThroughput(quick ? 20 : 60);
        }
    }
    std::printf("\n== wall time and environment steps to the solved threshold%s ==\n",
                g_configJson.empty() ? "" : " (presets with --config layered)");
    // (id, threshold, step budget): the peers' budgets where they reach it, more where they fall
    // short; then the peer (RL Zoo TRPO, deterministic evaluation): its budget and score
    const Target targets[] = {
        {"CartPole-v1", 475.0, 100000, true, 100000, 500.0},
        {"Pendulum-v1", -200.0, 200000, true, 100000, -174.6},
        {"Acrobot-v1", -100.0, 100000, false, 100000, -83.1},
        {"MountainCarContinuous-v0", 90.0, 50000, false, 50000, 92.5},
        {"LunarLanderContinuous-v3", 200.0, 200000, false, 200000, 262.4},
        {"LunarLander-v3", 200.0, 1000000, false, 200000, 133.2},
        {"CartPoleSwingUp-v0", 350.0, 500000, false, 0, 0.0},
        {"BipedalWalker-v3", 300.0, 5000000, false, 1000000, 182.3},
    };
    for (const auto& t : targets) {
        if (!sim::makeEnvironment(t.id)) continue;
        if (only.empty() ? (t.always || all) : only == t.id) toThreshold(t, firstSeed, seeds, evalAtBudget);
    }
    return 0;
}
