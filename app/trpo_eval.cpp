// trpo-eval: scores a saved policy headless (README "Scoring a saved policy: trpo-eval").
// Loads a policy.json, a policy.onnx, a checkpoint or a run directory (run/evaluate.h), plays
// whole episodes and prints the return's mean ± std, min and max and the episode lengths.
// Bad input gets a message naming the file or flag and exit code 2.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/serialization.h"
#include "run/evaluate.h"
#include "sim/registry.h"

namespace {

int fail(const std::string& msg) {
    std::fprintf(stderr, "trpo-eval: %s\n", msg.c_str());
    return 2;
}

// a whole number in [lo, hi] from flag --name's text
bool parseWhole(const QString& text, double lo, double hi, double& out) {
    bool ok = false;
    const double v = text.toDouble(&ok);
    if (!ok || !(v >= lo && v <= hi) || v != std::floor(v)) return false;
    out = v;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("trpo-eval");
    QCoreApplication::setApplicationVersion(TRPO_VERSION);

    QCommandLineParser p;
    p.setApplicationDescription(
        "Score a saved policy: play whole episodes and print the return's mean ± std, min and max.\n"
        "POLICY is a policy.json, a policy.onnx, a checkpoint (.ckpt) or a run directory (its checkpoint);\n"
        "the form is told by the file's content. Episode i (from 0) resets the environment with seed S + i\n"
        "and samples its actions from the random stream (S, i), so results are reproducible.");
    p.addHelpOption();
    p.addVersionOption();
    p.addPositionalArgument("POLICY", "policy.json, policy.onnx, a .ckpt file or a run directory");
    p.addOption({"env", "Environment id (default: the policy's own environment).", "ID"});
    p.addOption({"episodes", "Number of episodes (default 10).", "N"});
    p.addOption({"deterministic", "Play the mean action (continuous) or the most likely one (discrete) "
                                  "instead of sampling."});
    p.addOption({"seed", "Seed S of the episodes (default 0).", "S"});
    p.addOption({"json", "Print the result as one JSON object instead of text."});
    if (!p.parse(app.arguments())) return fail(p.errorText().toStdString() + " (see --help)");
    if (p.isSet("help")) {
        std::fputs(p.helpText().toStdString().c_str(), stdout);
        return 0;
    }
    if (p.isSet("version")) {
        std::printf("trpo-eval %s\n", TRPO_VERSION);
        return 0;
    }
    const QStringList args = p.positionalArguments();
    if (args.isEmpty()) return fail("no POLICY given (a policy.json, policy.onnx, .ckpt file or run directory; see --help)");
    if (args.size() > 1) return fail("unexpected argument '" + args[1].toStdString() + "' (one POLICY only)");

    int episodes = 10;
    std::uint64_t seed = 0;
    double v = 0;
    if (p.isSet("episodes")) {
        if (!parseWhole(p.value("episodes"), 1, 1e6, v))
            return fail("--episodes: '" + p.value("episodes").toStdString() + "' is not a whole number from 1 to 1000000");
        episodes = static_cast<int>(v);
    }
    if (p.isSet("seed")) {
        bool ok = false;
        seed = p.value("seed").toULongLong(&ok);
        if (!ok) return fail("--seed: '" + p.value("seed").toStdString() + "' is not a whole number >= 0");
    }

    run::LoadedPolicy policy;
    try {
        policy = run::loadPolicy(args[0].toStdString());
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    const core::PolicySnapshot& snap = *policy.snapshot;
    const std::string envId = p.isSet("env") ? p.value("env").toStdString() : snap.envId;
    if (!sim::isKnownEnvironment(envId))
        return fail((p.isSet("env") ? "--env: unknown environment '" : policy.file.string() + ": the policy's environment '") +
                    envId + "' (known: " + sim::knownEnvironmentIds() + ")");
    {
        const std::unique_ptr<core::Environment> env = sim::environmentFactory(envId)();
        if (const std::string why = run::spaceMismatch(snap, env->spec()); !why.empty())
            return fail("--env " + envId + " does not fit " + policy.file.string() + " (a " + snap.envId +
                        " policy): " + why);
    }

    const bool deterministic = p.isSet("deterministic");
    run::EvalResult r;
    try {
        r = run::evaluatePolicy(snap, envId, episodes, deterministic, seed);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trpo-eval: error: %s\n", e.what());
        return 1;
    }

    if (p.isSet("json")) {
        nlohmann::json j;
        j["policy"] = policy.file.string();
        j["form"] = policy.form;
        j["policy_env"] = snap.envId;
        j["iteration"] = snap.iteration;
        j["env"] = envId;
        j["episodes"] = episodes;
        j["deterministic"] = deterministic;
        j["seed"] = seed;
        j["returns"] = r.returns;
        j["lengths"] = r.lengths;
        j["mean"] = r.mean;
        j["std"] = r.std;
        j["min"] = r.min;
        j["max"] = r.max;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("trpo-eval: %s (%s, policy of iteration %d) on %s, %d episode%s, %s, seed %llu\n",
                policy.file.string().c_str(), policy.form.c_str(), snap.iteration, envId.c_str(), episodes,
                episodes == 1 ? "" : "s", deterministic ? "deterministic" : "sampled actions",
                static_cast<unsigned long long>(seed));
    std::printf("%9s %10s %14s %8s\n", "episode", "seed", "return", "length");
    for (int i = 0; i < episodes; ++i)
        std::printf("%9d %10llu %14.2f %8d\n", i + 1, static_cast<unsigned long long>(seed + static_cast<std::uint64_t>(i)),
                    r.returns[static_cast<size_t>(i)], r.lengths[static_cast<size_t>(i)]);
    int lmin = r.lengths[0], lmax = r.lengths[0];
    double lsum = 0;
    for (int l : r.lengths) {
        lmin = std::min(lmin, l);
        lmax = std::max(lmax, l);
        lsum += l;
    }
    std::printf("return  %.2f ± %.2f  (mean ± std over %d episodes)   min %.2f   max %.2f\n", r.mean, r.std, episodes,
                r.min, r.max);
    std::printf("length  %.1f on average   min %d   max %d\n", lsum / episodes, lmin, lmax);
    return 0;
}
