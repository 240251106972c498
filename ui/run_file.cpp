#include "ui/run_file.h"

#include "run/run_store.h"

#include <QDateTime>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>

#include "sim/registry.h"

#ifdef TRPO_HAVE_ONNX
#include "export/onnx_export.h"
#endif

namespace ui {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string pathText(const fs::path& p) { return p.string(); }

} // namespace


core::PolicyMetadata policyMetadata(const core::TrpoConfig& cfg, const std::vector<core::ConfigEvent>& events) {
    core::PolicyMetadata meta = run::policyMetadataOf(cfg, events);
    meta.extraJson = json{{"source", "trpo-studio"}}.dump();
    return meta;
}

std::vector<run::Event> rollbackEvents(const std::vector<run::Event>& events) {
    std::vector<run::Event> out;
    for (const run::Event& e : events)
        if (std::holds_alternative<run::RolledBack>(e.what)) out.push_back(e);
    return out;
}

std::vector<std::pair<int, int>> rolledBackRanges(const std::vector<run::Event>& rollbacks) {
    std::vector<std::pair<int, int>> out;
    for (const run::Event& e : rollbacks)
        if (const auto* r = std::get_if<run::RolledBack>(&e.what))
            if (r->restoredIteration < e.iteration) out.emplace_back(r->restoredIteration + 1, e.iteration);
    return out;
}

void appendRunRecords(run::RunStore& store, const std::vector<core::IterationStats>& history,
                      const std::vector<core::ConfigEvent>& events, const std::vector<run::Event>& rollbacks,
                      const std::vector<core::TrustRegionProbe>& probes) {
    size_t e = 0, r = 0;
    // a hyperparameter event's iteration is the first that used it; a rollback's is the one
    // that diverged
    auto upTo = [&](int iteration) {
        for (; r < rollbacks.size() && rollbacks[r].iteration < iteration; ++r) store.appendEvent(rollbacks[r]);
        for (; e < events.size() && events[e].iteration <= iteration; ++e)
            store.appendEvent(run::hyperparameterEvent(events[e]));
    };
    for (const core::IterationStats& s : history) {
        upTo(s.iteration);
        store.appendIteration(s);
    }
    upTo(std::numeric_limits<int>::max());
    for (const core::TrustRegionProbe& p : probes) store.appendProbe(p);
}

void writeRun(const fs::path& dirIn, const RunState& st) {
    const fs::path dir = dirIn.has_filename() ? dirIn : dirIn.parent_path();
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw core::FileError(pathText(dir) + ": exists and is not a run directory");
    if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) && !run::looksLikeRun(dir))
        throw core::FileError(pathText(dir) + ": exists and does not hold a saved run; choose another name");
    // the whole run is written in the one run format into DIR.saving, then swapped in
    const fs::path staging = fs::path(dir.string() + ".saving");
    fs::remove_all(staging, ec);
    run::RunStore store = run::RunStore::create(staging, st.config, "trpo-studio");
    appendRunRecords(store, st.history, st.events, st.rollbacks, st.probes);
    for (const core::IterationEpisodes& e : st.episodes) store.appendEpisodes(e);
    store.saveCheckpointBytes(st.checkpoint, st.config, st.iteration, st.envSteps);
    if (st.snapshot) store.writePolicyJson(*st.snapshot, policyMetadata(st.config, st.events));
    run::replaceWithStaged(staging, dir);
}

RunState readRun(const fs::path& dirIn) {
    run::RunContents c = run::readRun(dirIn);
    if (!sim::isKnownEnvironment(c.config.env))
        throw std::runtime_error(pathText(c.dir / "config.json") + ": unknown environment '" + c.config.env +
                                 "' (known: " + sim::knownEnvironmentIds() + ")");
    if (c.checkpoint.empty())
        throw std::runtime_error(pathText(c.dir / "checkpoints" / "latest.ckpt") +
                                 ": missing (no checkpoint to continue from)");
    RunState st;
    st.source = QString::fromStdString(c.dir.string());
    st.config = c.config;
    st.checkpoint = std::move(c.checkpoint);
    st.history = std::move(c.history);
    st.events = c.configEvents();
    st.rollbacks = rollbackEvents(c.events);
    st.probes = std::move(c.probes);
    st.episodes = std::move(c.episodes);
    st.iteration = c.manifest.checkpointIteration;
    st.envSteps = c.manifest.checkpointEnvSteps;
    st.savedAtMs = c.manifest.savedAtMs;
    return st;
}

std::optional<std::int64_t> runSavedAt(const fs::path& dir) {
    try {
        const run::RunContents c = run::readRun(dir);
        return c.manifest.savedAtMs;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

namespace {

core::SnapshotPtr snapshotFromCheckpoint(const std::vector<std::uint8_t>& bytes) {
    const std::vector<std::uint8_t> payload = core::decodeContainer(core::ContainerKind::Checkpoint, bytes);
    json j;
    try {
        j = json::from_cbor(payload);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("checkpoint payload is not valid: ") + e.what());
    }
    core::TrpoConfig cfg;
    try {
        core::applyConfigJson(cfg, j.at("config").dump());
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("checkpoint has no configuration: ") + e.what());
    }
    if (!sim::isKnownEnvironment(cfg.env))
        throw std::runtime_error("unknown environment '" + cfg.env + "' (known: " + sim::knownEnvironmentIds() + ")");
    cfg.threads = 1;
    core::Trainer t(cfg, sim::environmentFactory(cfg.env));
    t.loadState(bytes);
    return t.snapshot();
}

bool hasSuffix(const fs::path& p, const char* suffix) {
    std::string ext = p.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext == suffix;
}

} // namespace

bool onnxAvailable() {
#ifdef TRPO_HAVE_ONNX
    return true;
#else
    return false;
#endif
}

core::SnapshotPtr readPolicyFile(const fs::path& p) {
    core::SnapshotPtr snap;
    try {
        if (hasSuffix(p, ".ckpt")) {
            snap = snapshotFromCheckpoint(core::readFileBytes(p));
        } else if (hasSuffix(p, ".onnx")) {
#ifdef TRPO_HAVE_ONNX
            snap = exporter::readPolicyOnnx(p);
#else
            throw std::runtime_error("this build of the studio cannot read ONNX files");
#endif
        } else {
            const std::string text = core::readFileText(p);
            if (text.empty()) throw std::runtime_error("the file is empty");
            snap = core::policyFromJson(text);
        }
        if (!snap) throw std::runtime_error("no policy in the file");
        std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(snap->envId);
        if (!env)
            throw std::runtime_error("the policy is for environment '" + snap->envId + "', which this studio does not have (known: " +
                                     sim::knownEnvironmentIds() + ")");
        const core::EnvSpec& spec = env->spec();
        if (spec.observation.dim() != snap->observationSpace.dim() || spec.action.isDiscrete() != snap->actionSpace.isDiscrete() ||
            spec.action.policyOutputs() != snap->actionSpace.policyOutputs() || spec.action.dim() != snap->actionSpace.dim())
            throw std::runtime_error("the policy's observation/action spaces do not match environment " + snap->envId);
    } catch (const core::FileError& e) {
        const std::string msg = e.what();
        if (msg.rfind(p.string(), 0) == 0) throw std::runtime_error(msg);
        throw std::runtime_error(p.string() + ": " + msg);
    } catch (const std::exception& e) {
        throw std::runtime_error(p.string() + ": " + e.what());
    }
    return snap;
}

void writePolicyFile(const fs::path& p, const core::PolicySnapshot& s, const core::PolicyMetadata& meta) {
    if (hasSuffix(p, ".onnx")) {
#ifdef TRPO_HAVE_ONNX
        exporter::writePolicyOnnx(s, meta, p);
        return;
#else
        throw core::FileError(p.string() + ": this build of the studio cannot write ONNX files");
#endif
    }
    core::writeFileAtomic(p, core::policyToJson(s, meta));
}

} // namespace ui
