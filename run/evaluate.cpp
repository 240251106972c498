#include "run/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/config.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "export/onnx_export.h"
#include "run/run_store.h"
#include "sim/registry.h"

namespace run {

namespace fs = std::filesystem;
using core::FileError;
using nlohmann::json;

namespace {

constexpr char kContainerMagic[8] = {'T', 'R', 'P', 'O', 'S', 'T', 'D', '\0'};

bool isContainer(const std::vector<std::uint8_t>& b) {
    return b.size() >= sizeof kContainerMagic && std::memcmp(b.data(), kContainerMagic, sizeof kContainerMagic) == 0;
}

// the first byte that is not white space is '{': a JSON object
bool looksLikeJson(const std::vector<std::uint8_t>& b) {
    for (std::uint8_t c : b) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        return c == '{';
    }
    return false;
}

// A trainer built for the checkpoint's own environment and settings, restored from it; its
// snapshot is the policy at the checkpoint's iteration boundary.
core::SnapshotPtr policyFromCheckpoint(const std::vector<std::uint8_t>& bytes, const fs::path& file) {
    const std::string where = file.string() + ": ";
    json j;
    try {
        j = json::from_cbor(core::decodeContainer(core::ContainerKind::Checkpoint, bytes));
    } catch (const std::exception& e) {
        throw FileError(where + "not a readable checkpoint: " + e.what());
    }
    std::string envId;
    core::TrpoConfig cfg;
    try {
        envId = j.at("env_id").get<std::string>();
        core::applyConfigJson(cfg, j.at("config").dump());
    } catch (const std::exception& e) {
        throw FileError(where + "checkpoint without a usable environment or configuration: " + e.what());
    }
    if (!sim::isKnownEnvironment(envId))
        throw FileError(where + "checkpoint of environment '" + envId + "', which this build does not know (known: " +
                        sim::knownEnvironmentIds() + ")");
    cfg.env = envId;
    try {
        core::Trainer t(cfg, sim::environmentFactory(envId));
        t.loadState(bytes);
        return t.snapshot();
    } catch (const std::exception& e) {
        throw FileError(where + e.what());
    }
}

} // namespace

LoadedPolicy loadPolicy(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (!looksLikeRun(path))
            throw FileError(path.string() + ": a directory that is not a run directory (no manifest.json, "
                                            "history.json or progress.csv with config.json)");
        const RunContents run = readRun(path);
        if (!run.checkpoint.empty())
            return {policyFromCheckpoint(run.checkpoint, run.dir / "checkpoints" / "latest.ckpt"), "checkpoint",
                    run.dir / "checkpoints" / "latest.ckpt"};
        const fs::path json = run.dir / "policy.json";
        if (!fs::exists(json, ec))
            throw FileError(path.string() + ": the run has neither a checkpoint nor a policy.json");
        return loadPolicy(json);
    }
    const std::vector<std::uint8_t> bytes = core::readFileBytes(path); // names the file
    if (bytes.empty()) throw FileError(path.string() + ": the file is empty");
    if (isContainer(bytes)) return {policyFromCheckpoint(bytes, path), "checkpoint", path};
    if (looksLikeJson(bytes)) {
        try {
            return {core::policyFromJson(std::string(bytes.begin(), bytes.end())), "policy.json", path};
        } catch (const std::exception& e) {
            throw FileError(path.string() + ": not a usable policy.json: " + e.what());
        }
    }
    try {
        return {exporter::policyFromOnnx(std::string(bytes.begin(), bytes.end())), "ONNX model", path};
    } catch (const std::exception& e) {
        throw FileError(path.string() +
                        ": neither a checkpoint, a policy.json nor an ONNX model this project exported (" + e.what() +
                        ")");
    }
}

std::string spaceMismatch(const core::PolicySnapshot& policy, const core::EnvSpec& env) {
    auto describe = [](const core::Space& s) {
        return s.isDiscrete() ? "discrete with " + std::to_string(s.n) + " actions"
                              : "continuous with " + std::to_string(s.dim()) + " dimensions";
    };
    if (policy.observationSpace.dim() != env.observation.dim())
        return "the policy takes " + std::to_string(policy.observationSpace.dim()) + " observation values, " + env.id +
               " gives " + std::to_string(env.observation.dim());
    const core::Space &a = policy.actionSpace, &b = env.action;
    if (a.isDiscrete() != b.isDiscrete() || a.policyOutputs() != b.policyOutputs())
        return "the policy's actions are " + describe(a) + ", " + env.id + "'s are " + describe(b);
    return {};
}

EvalResult evaluatePolicy(const core::PolicySnapshot& policy, const std::string& envId, int episodes,
                          bool deterministic, std::uint64_t seed) {
    if (episodes < 1) throw std::invalid_argument("at least one episode is needed");
    const core::EnvFactory factory = sim::environmentFactory(envId); // throws for an unknown id
    std::unique_ptr<core::Environment> env = factory();
    const core::EnvSpec& spec = env->spec();
    if (const std::string why = spaceMismatch(policy, spec); !why.empty()) throw std::invalid_argument(why);
    std::vector<double> obs(static_cast<size_t>(spec.observation.dim())), action(static_cast<size_t>(spec.action.dim()));
    EvalResult r;
    for (int i = 0; i < episodes; ++i) {
        core::Rng rng = core::Rng::stream(seed, static_cast<std::uint64_t>(i));
        core::PolicySnapshot::ActState held; // held noise, a recurrent policy's state
        env->reset(seed + static_cast<std::uint64_t>(i), obs);
        double total = 0;
        int steps = 0;
        while (true) {
            policy.act(obs, rng, deterministic, action, &held);
            const core::StepResult s = env->step(action, obs);
            total += s.reward;
            ++steps;
            if (s.terminated || s.truncated) break;
        }
        r.returns.push_back(total);
        r.lengths.push_back(steps);
    }
    const double n = static_cast<double>(episodes);
    double sum = 0;
    for (double x : r.returns) sum += x;
    r.mean = sum / n;
    double ss = 0;
    for (double x : r.returns) ss += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(ss / n);
    r.min = *std::min_element(r.returns.begin(), r.returns.end());
    r.max = *std::max_element(r.returns.begin(), r.returns.end());
    return r;
}

} // namespace run
