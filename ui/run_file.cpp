#include "ui/run_file.h"

#include "core/run_writer.h"

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
    core::PolicyMetadata meta = core::policyMetadataOf(cfg, events);
    meta.extraJson = json{{"source", "trpo-studio"}}.dump();
    return meta;
}

void writeRun(const fs::path& dirIn, const RunState& st) {
    const fs::path dir = dirIn.has_filename() ? dirIn : dirIn.parent_path();
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw core::FileError(pathText(dir) + ": exists and is not a run directory");
    if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) && !fs::exists(dir / "history.json", ec))
        throw core::FileError(pathText(dir) + ": exists and does not hold a saved run; choose another name");
    const fs::path staging = fs::path(dir.string() + ".saving");
    const fs::path old = fs::path(dir.string() + ".old");
    fs::remove_all(staging, ec);
    fs::create_directories(staging / "checkpoints", ec);
    if (ec) throw core::FileError(pathText(staging) + ": cannot create the directory (" + ec.message() + ")");

    // config.json: like RunDirectory::writeConfig
    json cfg = json::parse(core::configToJson(st.config));
    cfg["studio_version"] = TRPO_VERSION;
    cfg["format"] = "trpo-studio-config";
    core::writeFileAtomic(staging / "config.json", cfg.dump(2) + "\n");

    std::string csv = core::csvHeader() + "\n";
    for (const core::IterationStats& s : st.history) csv += core::csvRow(s) + "\n";
    core::writeFileAtomic(staging / "progress.csv", csv);

    // events.jsonl in iteration order: started, hyperparameter changes, refused updates
    std::string events = json{{"iteration", 0}, {"type", "started"}, {"env", st.config.env}, {"seed", st.config.seed},
                              {"source", "trpo-studio"}}
                             .dump() +
                         "\n";
    size_t e = 0;
    auto flushEventsUpTo = [&](int iteration) {
        for (; e < st.events.size() && st.events[e].iteration <= iteration; ++e)
            events += json{{"iteration", st.events[e].iteration},
                           {"type", "hyperparameter"},
                           {"key", st.events[e].key},
                           {"from", st.events[e].from},
                           {"to", st.events[e].to}}
                          .dump() +
                      "\n";
    };
    for (const core::IterationStats& s : st.history) {
        flushEventsUpTo(s.iteration);
        if (!s.accepted)
            events += json{{"iteration", s.iteration}, {"type", "line_search_failed"}, {"reason", core::outcomeName(s.outcome)}}
                          .dump() +
                      "\n";
    }
    flushEventsUpTo(std::numeric_limits<int>::max());
    core::writeFileAtomic(staging / "events.jsonl", events);

    core::writeFileAtomic(staging / "checkpoints" / "latest.ckpt", st.checkpoint);
    if (st.snapshot) core::writeFileAtomic(staging / "policy.json", core::policyToJson(*st.snapshot, policyMetadata(st.config, st.events)));

    json hist;
    hist["format"] = kRunFormat;
    hist["version"] = kRunFormatVersion;
    hist["studio_version"] = TRPO_VERSION;
    hist["env"] = st.config.env;
    hist["iteration"] = st.iteration;
    hist["env_steps"] = st.envSteps;
    hist["saved_at_ms"] = st.savedAtMs ? st.savedAtMs : QDateTime::currentMSecsSinceEpoch();
    json its = json::array();
    for (const core::IterationStats& s : st.history) its.push_back(core::statsToJson(s));
    hist["iterations"] = std::move(its);
    json evs = json::array();
    for (const core::ConfigEvent& ev : st.events)
        evs.push_back({{"iteration", ev.iteration}, {"key", ev.key}, {"from", ev.from}, {"to", ev.to}});
    hist["config_events"] = std::move(evs);
    core::writeFileAtomic(staging / "history.json", hist.dump() + "\n");

    // swap the complete copy in
    fs::remove_all(old, ec);
    if (fs::exists(dir)) {
        fs::rename(dir, old, ec);
        if (ec) throw core::FileError(pathText(dir) + ": cannot replace the previous copy (" + ec.message() + ")");
    }
    fs::rename(staging, dir, ec);
    if (ec) {
        std::error_code ignore;
        if (fs::exists(old)) fs::rename(old, dir, ignore);
        throw core::FileError(pathText(dir) + ": cannot move the saved run into place (" + ec.message() + ")");
    }
    fs::remove_all(old, ec);
}

RunState readRun(const fs::path& dirIn) {
    fs::path dir = dirIn;
    std::error_code ec;
    // a file inside the run directory (history.json, config.json, ...) opens the run
    if (fs::is_regular_file(dir, ec)) dir = dir.parent_path();
    if (!fs::is_directory(dir, ec)) {
        // an interrupted save leaves the previous copy as .old
        const fs::path old = fs::path(dir.string() + ".old");
        if (fs::is_directory(old / "checkpoints", ec)) dir = old;
        else throw std::runtime_error(pathText(dirIn) + ": no such run directory");
    }
    RunState st;
    st.source = QString::fromStdString(dir.string());

    const fs::path histPath = dir / "history.json";
    if (!fs::exists(histPath, ec))
        throw std::runtime_error(pathText(histPath) + ": missing (not a run saved by TRPO Studio)");
    json hist;
    try {
        const std::string text = core::readFileText(histPath);
        if (text.empty()) throw std::runtime_error("the file is empty");
        hist = json::parse(text);
    } catch (const json::exception& e) {
        throw std::runtime_error(pathText(histPath) + ": not valid JSON (truncated or corrupt): " + e.what());
    } catch (const core::FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error(pathText(histPath) + ": " + e.what());
    }
    try {
        if (!hist.is_object() || hist.value("format", std::string()) != kRunFormat)
            throw std::runtime_error(std::string("not a TRPO Studio run history (format is not ") + kRunFormat + ")");
        const int version = hist.at("version").get<int>();
        if (version != kRunFormatVersion)
            throw std::runtime_error("format version " + std::to_string(version) + " is not supported (this studio reads version " +
                                     std::to_string(kRunFormatVersion) + ")");
        st.iteration = hist.at("iteration").get<int>();
        st.envSteps = hist.at("env_steps").get<std::int64_t>();
        st.savedAtMs = hist.at("saved_at_ms").get<std::int64_t>();
        for (const json& j : hist.at("iterations")) st.history.push_back(core::statsFromJson(j));
        for (const json& e : hist.at("config_events"))
            st.events.push_back({e.at("iteration").get<int>(), e.at("key").get<std::string>(), e.at("from").get<std::string>(),
                                 e.at("to").get<std::string>()});
        for (size_t i = 0; i < st.history.size(); ++i)
            if (st.history[i].iteration != static_cast<int>(i) + 1)
                throw std::runtime_error("iteration records are not 1, 2, 3, ... (record " + std::to_string(i + 1) + " is iteration " +
                                         std::to_string(st.history[i].iteration) + ")");
        if (static_cast<int>(st.history.size()) != st.iteration)
            throw std::runtime_error("holds " + std::to_string(st.history.size()) + " iterations but says the run is at iteration " +
                                     std::to_string(st.iteration));
        const std::string env = hist.at("env").get<std::string>();
        if (!sim::makeEnvironment(env))
            throw std::runtime_error("unknown environment '" + env + "' (known: " + sim::knownEnvironmentIds() + ")");
    } catch (const json::exception& e) {
        throw std::runtime_error(pathText(histPath) + ": missing data or a wrong type (" + e.what() + ")");
    } catch (const std::exception& e) {
        throw std::runtime_error(pathText(histPath) + ": " + e.what());
    }

    const fs::path cfgPath = dir / "config.json";
    try {
        core::TrpoConfig cfg;
        core::applyConfigJson(cfg, core::readFileText(cfgPath));
        cfg.validate();
        if (!sim::makeEnvironment(cfg.env))
            throw core::ConfigError("unknown environment '" + cfg.env + "' (known: " + sim::knownEnvironmentIds() + ")");
        if (cfg.env != hist.at("env").get<std::string>())
            throw core::ConfigError("environment " + cfg.env + " does not match the run's history (" + hist.at("env").get<std::string>() + ")");
        st.config = cfg;
    } catch (const core::FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error(pathText(cfgPath) + ": " + e.what());
    }

    const fs::path ckpt = dir / "checkpoints" / "latest.ckpt";
    if (!fs::exists(ckpt, ec)) throw std::runtime_error(pathText(ckpt) + ": missing (no checkpoint to continue from)");
    try {
        st.checkpoint = core::readFileBytes(ckpt);
        core::decodeContainer(core::ContainerKind::Checkpoint, st.checkpoint); // empty, truncated, version, checksum
    } catch (const core::FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw std::runtime_error(pathText(ckpt) + ": " + e.what());
    }
    return st;
}

std::optional<std::int64_t> runSavedAt(const fs::path& dir) {
    try {
        const json hist = json::parse(core::readFileText(dir / "history.json"));
        return hist.at("saved_at_ms").get<std::int64_t>();
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
    if (!sim::makeEnvironment(cfg.env))
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
