#include "run/run_store.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "export/onnx_export.h"

namespace run {

namespace fs = std::filesystem;
using json = nlohmann::json;
using core::FileError;

namespace {

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json manifestToJson(const Manifest& m) {
    return {{"format", kManifestFormat},
            {"version", m.formatVersion},
            {"env", m.env},
            {"writer", m.writer},
            {"studio_version", m.studioVersion},
            {"checkpoint_iteration", m.checkpointIteration},
            {"checkpoint_env_steps", m.checkpointEnvSteps},
            {"saved_at_ms", m.savedAtMs},
            {"holds",
             {{"progress_csv", true},
              {"history_jsonl", true},
              {"events_jsonl", true},
              {"checkpoint", m.checkpointIteration > 0},
              {"policy_json", m.hasPolicyJson},
              {"policy_onnx", m.hasPolicyOnnx}}}};
}

Manifest manifestFromJson(const json& j) {
    if (!j.is_object() || j.value("format", std::string()) != kManifestFormat)
        throw std::runtime_error(std::string("not a TRPO Studio run manifest (format is not ") + kManifestFormat + ")");
    Manifest m;
    m.formatVersion = core::jsonInteger<int>(j.at("version"));
    if (m.formatVersion > kFormatVersion)
        throw std::runtime_error("format version " + std::to_string(m.formatVersion) +
                                 " was written by a newer TRPO Studio (this one reads up to " +
                                 std::to_string(kFormatVersion) + ")");
    if (m.formatVersion < 2) throw std::runtime_error("format version " + std::to_string(m.formatVersion) + " is unknown");
    m.env = j.at("env").get<std::string>();
    m.writer = j.value("writer", std::string());
    m.studioVersion = j.value("studio_version", std::string());
    m.checkpointIteration = core::jsonInteger<int>(j.at("checkpoint_iteration"));
    m.checkpointEnvSteps = core::jsonInteger<std::int64_t>(j.at("checkpoint_env_steps"));
    m.savedAtMs = core::jsonInteger<std::int64_t>(j, "saved_at_ms", 0);
    if (j.contains("holds")) {
        m.hasPolicyJson = j.at("holds").value("policy_json", false);
        m.hasPolicyOnnx = j.at("holds").value("policy_onnx", false);
    }
    return m;
}

// reads a file whose every line is a JSON object. A last line without its newline is a
// write cut short by a crash: it is dropped. Any other bad line is an error naming it.
// Calls f with each JSON line of p, reading one line at a time: a long run's episodes.jsonl
// holds up to 150 kB a BipedalWalker iteration, and neither its whole text nor every parsed
// line is ever held at once. Empty lines are skipped; a torn last line (no newline, not valid
// JSON: a write cut short) is ignored; any other line that is not JSON is an error naming the
// file and the line. Returns whether the last line lacked its newline (torn or not): a line
// appended to such a file would join it, so a writer rewrites the file first.
bool forEachJsonLine(const fs::path& p, const std::function<void(const json&)>& f) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw FileError(p.string() + ": cannot open for reading");
    std::string line;
    int number = 0;
    bool unterminated = false;
    while (std::getline(in, line)) {
        ++number;
        // getline stops at a newline without setting eof; only a last line without one sets it
        const bool complete = !in.eof();
        if (!complete && !line.empty()) unterminated = true;
        if (line.empty()) continue;
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {
            if (!complete) break;
            throw FileError(p.string() + ": line " + std::to_string(number) + " is not valid JSON (" + e.what() + ")");
        }
        f(j);
    }
    if (in.bad()) throw FileError(p.string() + ": read error");
    return unterminated;
}

std::vector<core::IterationStats> historyFromCsv(const fs::path& p) {
    std::istringstream in(core::readFileText(p));
    std::string line;
    if (!std::getline(in, line)) throw FileError(p.string() + ": empty (no header)");
    const std::vector<std::string> header = core::splitCsvLine(line);
    std::vector<core::IterationStats> out;
    int number = 1;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        try {
            out.push_back(core::statsFromCsv(header, core::splitCsvLine(line)));
        } catch (const std::exception& e) {
            if (in.eof()) break; // a row cut short by a crash
            throw FileError(p.string() + ": line " + std::to_string(number) + ": " + e.what());
        }
    }
    return out;
}

// the iteration and steps a checkpoint holds (its container already checked)
std::pair<int, std::int64_t> checkpointCounters(const std::vector<std::uint8_t>& bytes) {
    const json j = json::from_cbor(core::decodeContainer(core::ContainerKind::Checkpoint, bytes));
    return {core::jsonInteger<int>(j.at("iteration")), core::jsonInteger<std::int64_t>(j.at("env_steps"))};
}

void appendLine(const fs::path& p, const std::string& line) {
    std::ofstream f(p, std::ios::app | std::ios::binary);
    if (!f) throw FileError(p.string() + ": cannot append");
    f << line << '\n';
    f.flush();
    if (!f) throw FileError(p.string() + ": cannot append (disk full?)");
}

// items as JSON lines, one per item
template <typename T, typename ToJson>
std::string jsonLinesText(const std::vector<T>& items, ToJson toJson) {
    std::string s;
    for (const T& item : items) s += toJson(item).dump() + "\n";
    return s;
}
std::string historyText(const std::vector<core::IterationStats>& history) {
    return jsonLinesText(history, [](const core::IterationStats& it) { return core::statsToJson(it); });
}

// the records of a JSON-lines file (forEachJsonLine) through parse into out; a line parse
// rejects is an error naming the file, `what` and its number. Returns whether the file needs
// rewriting before an append (forEachJsonLine's unterminated last line).
template <typename T, typename Parse>
bool readRecords(const fs::path& p, const char* what, Parse parse, std::vector<T>& out) {
    int line = 0;
    return forEachJsonLine(p, [&](const json& j) {
        ++line;
        try {
            out.push_back(parse(j));
        } catch (const std::exception& e) {
            throw FileError(p.string() + ": " + what + " " + std::to_string(line) + ": " + e.what());
        }
    });
}
std::string progressText(const std::vector<core::IterationStats>& history) {
    std::string s = core::csvHeader() + "\n";
    for (const core::IterationStats& it : history) s += core::csvRow(it) + "\n";
    return s;
}

} // namespace

// moves a complete staging directory over `to`, keeping the previous copy as TO.old until
// the swap is done
void replaceWithStaged(const fs::path& staging, const fs::path& to) {
    std::error_code ec;
    const fs::path old = fs::path(to.string() + ".old");
    fs::remove_all(old, ec);
    if (fs::exists(to, ec)) {
        fs::rename(to, old, ec);
        if (ec) throw FileError(to.string() + ": cannot replace the previous copy (" + ec.message() + ")");
    }
    fs::rename(staging, to, ec);
    if (ec) {
        std::error_code ignore;
        if (fs::exists(old, ignore)) fs::rename(old, to, ignore);
        throw FileError(to.string() + ": cannot move the copy into place (" + ec.message() + ")");
    }
    fs::remove_all(old, ec);
}

// ---- events ------------------------------------------------------------------------------

const char* eventType(const Event& e) {
    return std::visit(Overload{[](const Started&) { return "started"; },
                               [](const Hyperparameter&) { return "hyperparameter"; },
                               [](const Stopped&) { return "stopped"; }, [](const Resumed&) { return "resumed"; },
                               [](const Opened&) { return "opened"; },
                               [](const LineSearchFailed&) { return "line_search_failed"; },
                               [](const RolledBack&) { return "rolled_back"; },
                               [](const Forked&) { return "forked"; }},
                      e.what);
}

json eventToJson(const Event& e) {
    json j = std::visit(
        Overload{[](const Started& s) { return json{{"env", s.env}, {"seed", s.seed}, {"source", s.source}}; },
                 [](const Hyperparameter& h) { return json{{"key", h.key}, {"from", h.from}, {"to", h.to}}; },
                 [](const Stopped& s) { return json{{"reason", s.reason}}; },
                 [](const Resumed& r) { return json{{"source", r.source}}; },
                 [](const Opened& o) { return json{{"from", o.from}}; },
                 [](const LineSearchFailed& l) { return json{{"reason", l.reason}}; },
                 [](const RolledBack& r) {
                     return json{{"restored_iteration", r.restoredIteration},
                                 {"divergence", r.divergence},
                                 {"explanation", r.explanation}};
                 },
                 [](const Forked& f) { return json{{"parent", f.parent}, {"key", f.key}, {"value", f.value}}; }},
        e.what);
    j["iteration"] = e.iteration;
    j["type"] = eventType(e);
    return j;
}

Event eventFromJson(const json& j) {
    if (!j.is_object()) throw std::runtime_error("an event is not a JSON object");
    Event e;
    try {
        e.iteration = core::jsonInteger<int>(j.at("iteration"));
        const std::string type = j.at("type").get<std::string>();
        if (type == "started")
            e.what = Started{j.value("env", std::string()), j.value("seed", std::uint64_t{0}),
                             j.value("source", std::string())};
        else if (type == "hyperparameter")
            e.what = Hyperparameter{j.at("key").get<std::string>(), j.at("from").get<std::string>(),
                                    j.at("to").get<std::string>()};
        else if (type == "stopped")
            e.what = Stopped{j.value("reason", std::string())};
        else if (type == "resumed")
            e.what = Resumed{j.value("source", std::string())};
        else if (type == "opened")
            e.what = Opened{j.value("from", std::string())};
        else if (type == "line_search_failed")
            e.what = LineSearchFailed{j.at("reason").get<std::string>()};
        else if (type == "rolled_back")
            e.what = RolledBack{core::jsonInteger<int>(j.at("restored_iteration")), j.at("divergence").get<std::string>(),
                                j.value("explanation", std::string())};
        else if (type == "forked")
            e.what = Forked{j.value("parent", std::string()), j.at("key").get<std::string>(),
                            j.at("value").get<std::string>()};
        else
            throw std::runtime_error("unknown event type '" + type + "'");
    } catch (const json::exception& ex) {
        throw std::runtime_error(std::string("an event is missing data or has a wrong type (") + ex.what() + ")");
    }
    return e;
}

Event hyperparameterEvent(const core::ConfigEvent& c) { return {c.iteration, Hyperparameter{c.key, c.from, c.to}}; }

std::vector<core::ConfigEvent> RunContents::configEvents() const {
    std::vector<core::ConfigEvent> out;
    for (const Event& e : events)
        if (const auto* h = std::get_if<Hyperparameter>(&e.what)) out.push_back({e.iteration, h->key, h->from, h->to});
    return out;
}

std::vector<int> RunContents::rolledBackIterations() const {
    std::vector<int> out;
    for (const Event& e : events)
        if (const auto* r = std::get_if<RolledBack>(&e.what))
            for (int i = r->restoredIteration + 1; i <= e.iteration; ++i) out.push_back(i);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// ---- reading ----------------------------------------------------------------------------

bool looksLikeRun(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec) &&
           (fs::exists(dir / "manifest.json", ec) || fs::exists(dir / "history.json", ec) ||
            (fs::exists(dir / "progress.csv", ec) && fs::exists(dir / "config.json", ec)));
}

fs::path recoverInterruptedCopy(const fs::path& to) {
    std::error_code ec;
    const fs::path old = fs::path(to.string() + ".old");
    if (!fs::is_directory(to, ec) && looksLikeRun(old)) return old;
    return to;
}

RunContents readRun(const fs::path& dirIn) {
    std::error_code ec;
    fs::path dir = dirIn;
    if (fs::is_regular_file(dir, ec)) dir = dir.parent_path(); // a file inside the run names it
    dir = recoverInterruptedCopy(dir);
    if (!fs::is_directory(dir, ec)) throw FileError(dirIn.string() + ": no such run directory");
    if (!looksLikeRun(dir))
        throw FileError(dir.string() + ": not a run directory (no manifest.json, history.json or progress.csv with config.json)");

    RunContents c;
    c.dir = dir;
    const fs::path manifestPath = dir / "manifest.json";
    const bool v2 = fs::exists(manifestPath, ec);
    const bool v1 = !v2 && fs::exists(dir / "history.json", ec);
    if (v2) {
        try {
            c.manifest = manifestFromJson(json::parse(core::readFileText(manifestPath)));
        } catch (const FileError&) {
            throw;
        } catch (const std::exception& e) {
            throw FileError(manifestPath.string() + ": " + e.what());
        }
        c.layout = "run format " + std::to_string(c.manifest.formatVersion);
    } else {
        c.layout = v1 ? "studio run format 1" : "trpo-train run (progress.csv only)";
        c.manifest.formatVersion = v1 ? 1 : 0;
    }

    // configuration
    const fs::path cfgPath = dir / "config.json";
    try {
        core::applyConfigJson(c.config, core::readFileText(cfgPath));
        c.config.validate();
    } catch (const FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw FileError(cfgPath.string() + ": " + e.what());
    }
    if (v2 && c.manifest.env != c.config.env)
        throw FileError(cfgPath.string() + ": environment " + c.config.env + " does not match the manifest's (" +
                        c.manifest.env + ")");
    c.manifest.env = c.config.env;

    // history
    fs::path historyPath;
    try {
        if (v2) {
            historyPath = dir / "history.jsonl";
            forEachJsonLine(historyPath, [&](const json& j) { c.history.push_back(core::statsFromJson(j)); });
        } else if (v1) {
            historyPath = dir / "history.json";
            const std::string text = core::readFileText(historyPath);
            if (text.empty()) throw std::runtime_error("the file is empty");
            const json hist = json::parse(text);
            if (!hist.is_object() || hist.value("format", std::string()) != "trpo-studio-history")
                throw std::runtime_error("not a TRPO Studio run history");
            if (core::jsonInteger<int>(hist.at("version")) != 1)
                throw std::runtime_error("history version " + std::to_string(core::jsonInteger<int>(hist.at("version"))) +
                                         " is not supported");
            for (const json& j : hist.at("iterations")) c.history.push_back(core::statsFromJson(j));
            c.manifest.savedAtMs = core::jsonInteger<std::int64_t>(hist, "saved_at_ms", 0);
        } else {
            historyPath = dir / "progress.csv";
            c.history = historyFromCsv(historyPath);
        }
    } catch (const FileError&) {
        throw;
    } catch (const json::exception& e) {
        throw FileError(historyPath.string() + ": not valid JSON or missing data (" + e.what() + ")");
    } catch (const std::exception& e) {
        throw FileError(historyPath.string() + ": " + e.what());
    }
    for (size_t i = 0; i < c.history.size(); ++i)
        if (c.history[i].iteration != static_cast<int>(i) + 1)
            throw FileError(historyPath.string() + ": iteration records are not 1, 2, 3, ... (record " +
                            std::to_string(i + 1) + " is iteration " + std::to_string(c.history[i].iteration) + ")");

    // events, trust-region probes, the episodes kept for replay
    const fs::path eventsPath = dir / "events.jsonl";
    if (fs::exists(eventsPath, ec)) c.eventsToRewrite = readRecords(eventsPath, "event", eventFromJson, c.events);
    const fs::path probesPath = dir / "trust_region.jsonl";
    if (fs::exists(probesPath, ec))
        c.probesToRewrite = readRecords(probesPath, "record", core::probeFromJson, c.probes);
    const fs::path episodesPath = dir / "episodes.jsonl";
    if (fs::exists(episodesPath, ec))
        c.episodesToRewrite = readRecords(episodesPath, "line", core::episodesFromJson, c.episodes);

    // checkpoint: checked, not loaded
    const fs::path ckpt = dir / "checkpoints" / "latest.ckpt";
    if (fs::exists(ckpt, ec)) {
        try {
            c.checkpoint = core::readFileBytes(ckpt);
            const auto [iteration, steps] = checkpointCounters(c.checkpoint);
            if (v2 && iteration != c.manifest.checkpointIteration)
                throw FileError(manifestPath.string() + ": says the checkpoint is at iteration " +
                                std::to_string(c.manifest.checkpointIteration) + ", but " + ckpt.string() +
                                " holds iteration " + std::to_string(iteration));
            c.manifest.checkpointIteration = iteration;
            c.manifest.checkpointEnvSteps = steps;
        } catch (const FileError&) {
            throw;
        } catch (const std::exception& e) {
            throw FileError(ckpt.string() + ": " + e.what());
        }
        if (static_cast<int>(c.history.size()) < c.manifest.checkpointIteration)
            throw FileError(historyPath.string() + ": holds " + std::to_string(c.history.size()) +
                            " iterations, but the checkpoint is at iteration " +
                            std::to_string(c.manifest.checkpointIteration));
        // iterations after the last checkpoint cannot be continued from: the run goes on from the checkpoint
        c.history.resize(static_cast<size_t>(c.manifest.checkpointIteration));
        if (std::erase_if(c.probes,
                          [&](const core::TrustRegionProbe& p) { return p.iteration > c.manifest.checkpointIteration; }))
            c.probesToRewrite = true;
        if (std::erase_if(c.episodes,
                          [&](const core::IterationEpisodes& e) { return e.iteration > c.manifest.checkpointIteration; }))
            c.episodesToRewrite = true;
    } else if (v2 && c.manifest.checkpointIteration > 0) {
        throw FileError(ckpt.string() + ": missing (the manifest lists a checkpoint at iteration " +
                        std::to_string(c.manifest.checkpointIteration) + ")");
    }
    c.manifest.hasPolicyJson = fs::exists(dir / "policy.json", ec);
    c.manifest.hasPolicyOnnx = fs::exists(dir / "policy.onnx", ec);
    return c;
}

// ---- writing ----------------------------------------------------------------------------

RunStore RunStore::create(const fs::path& dir, const core::TrpoConfig& cfg, const std::string& writer) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw FileError(dir.string() + ": exists and is not a directory");
    if (looksLikeRun(dir))
        throw FileError(dir.string() + ": already holds a run (continue it with --resume, or choose another directory)");
    if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec))
        throw FileError(dir.string() + ": is not empty; choose another directory");
    fs::create_directories(dir / "checkpoints", ec);
    if (ec) throw FileError(dir.string() + ": cannot create the run directory (" + ec.message() + ")");
    RunStore r;
    r.m_dir = dir;
    r.m_manifest.env = cfg.env;
    r.m_manifest.writer = writer;
    r.writeConfig(cfg);
    core::writeFileAtomic(dir / "progress.csv", core::csvHeader() + "\n");
    core::writeFileAtomic(dir / "history.jsonl", std::string());
    core::writeFileAtomic(dir / "events.jsonl", std::string());
    r.writeManifest();
    r.appendEvent({0, Started{cfg.env, cfg.seed, writer}});
    return r;
}

RunStore RunStore::open(const fs::path& dir, const std::string& writer) {
    RunContents c = readRun(dir);
    if (c.checkpoint.empty())
        throw FileError((c.dir / "checkpoints" / "latest.ckpt").string() + ": missing (no checkpoint to continue from)");
    RunStore r;
    r.m_dir = c.dir;
    r.m_manifest = c.manifest;
    r.m_manifest.formatVersion = kFormatVersion;
    r.m_manifest.writer = writer;
    // the history as far as the checkpoint, in this format (an older layout gains its history.jsonl)
    core::writeFileAtomic(r.m_dir / "history.jsonl", historyText(c.history));
    core::writeFileAtomic(r.m_dir / "progress.csv", progressText(c.history));
    std::error_code ec;
    if (!fs::exists(r.m_dir / "events.jsonl", ec)) core::writeFileAtomic(r.m_dir / "events.jsonl", std::string());
    // events, probes and episodes are rewritten only when readRun dropped something from the
    // file (records past the checkpoint, a torn last line) or its last line lacks a newline:
    // the episodes file of a long run is large, and appending to it as it is is safe otherwise
    if (c.eventsToRewrite)
        core::writeFileAtomic(r.m_dir / "events.jsonl", jsonLinesText(c.events, eventToJson));
    if (c.probesToRewrite)
        core::writeFileAtomic(r.m_dir / "trust_region.jsonl", jsonLinesText(c.probes, core::probeToJson));
    if (c.episodesToRewrite)
        core::writeFileAtomic(r.m_dir / "episodes.jsonl", jsonLinesText(c.episodes, core::episodesToJson));
    r.writeManifest();
    fs::remove(r.m_dir / "history.json", ec); // superseded by history.jsonl
    return r;
}

core::TrpoConfig RunStore::readConfig() const {
    const fs::path p = m_dir / "config.json";
    core::TrpoConfig c;
    try {
        core::applyConfigJson(c, core::readFileText(p));
        c.validate();
    } catch (const core::ConfigError& e) {
        throw FileError(p.string() + ": " + e.what());
    }
    return c;
}

void RunStore::writeConfig(const core::TrpoConfig& cfg) const {
    json j = json::parse(core::configToJson(cfg));
    j["studio_version"] = TRPO_VERSION;
    j["format"] = "trpo-studio-config";
    core::writeFileAtomic(m_dir / "config.json", j.dump(2) + "\n");
}

void RunStore::appendIteration(const core::IterationStats& s) {
    appendLine(m_dir / "progress.csv", core::csvRow(s));
    appendLine(m_dir / "history.jsonl", core::statsToJson(s).dump());
    if (!s.accepted) appendEvent({s.iteration, LineSearchFailed{core::outcomeName(s.outcome)}});
}

void RunStore::appendEvent(const Event& e) { appendLine(m_dir / "events.jsonl", eventToJson(e).dump()); }

void RunStore::appendProbe(const core::TrustRegionProbe& p) {
    appendLine(m_dir / "trust_region.jsonl", core::probeToJson(p).dump());
}

void RunStore::appendEpisodes(const core::IterationEpisodes& e) {
    if (e.empty()) return;
    appendLine(m_dir / "episodes.jsonl", core::episodesToJson(e).dump());
}

void RunStore::saveCheckpoint(const core::Trainer& t) {
    saveCheckpointBytes(t.saveState(), t.config(), t.iteration(), t.envSteps());
}

void RunStore::saveCheckpointBytes(const std::vector<std::uint8_t>& bytes, const core::TrpoConfig& cfg, int iteration,
                                   std::int64_t envSteps) {
    core::writeFileAtomic(checkpointPath(), bytes);
    writeConfig(cfg);
    m_manifest.checkpointIteration = iteration;
    m_manifest.checkpointEnvSteps = envSteps;
    m_manifest.savedAtMs = nowMs();
    writeManifest();
}

void RunStore::loadCheckpoint(core::Trainer& t) const {
    const fs::path p = checkpointPath();
    try {
        t.loadState(core::readFileBytes(p));
    } catch (const FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw FileError(p.string() + ": " + e.what());
    }
}

void RunStore::recordResume(const core::Trainer& t, const std::string& source,
                            const std::vector<core::ConfigEvent>& changes) {
    appendEvent({t.iteration(), Resumed{source}});
    for (const core::ConfigEvent& e : changes) appendEvent(hyperparameterEvent(e));
    writeConfig(t.config());
}

void RunStore::writePolicyJson(const core::PolicySnapshot& s, const core::PolicyMetadata& meta) {
    core::writeFileAtomic(m_dir / "policy.json", core::policyToJson(s, meta));
    m_manifest.hasPolicyJson = true;
    writeManifest();
}

void RunStore::writePolicyFiles(const core::Trainer& t, const core::PolicyMetadata& meta) {
    const core::SnapshotPtr s = t.snapshot();
    core::writeFileAtomic(m_dir / "policy.json", core::policyToJson(*s, meta));
    exporter::writePolicyOnnx(*s, meta, m_dir / "policy.onnx");
    m_manifest.hasPolicyJson = m_manifest.hasPolicyOnnx = true;
    writeManifest();
}

void RunStore::writeManifest() {
    m_manifest.studioVersion = TRPO_VERSION;
    core::writeFileAtomic(m_dir / "manifest.json", manifestToJson(m_manifest).dump(2) + "\n");
}

core::PolicyMetadata policyMetadataOf(const core::TrpoConfig& cfg, const std::vector<core::ConfigEvent>& events) {
    core::PolicyMetadata meta;
    meta.seed = cfg.seed;
    double d0 = cfg.delta;
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->key == "delta") d0 = std::stod(it->from);
    meta.deltaHistory.push_back({1, d0});
    for (const core::ConfigEvent& e : events)
        if (e.key == "delta") meta.deltaHistory.push_back({e.iteration, std::stod(e.to)});
    return meta;
}

core::PolicyMetadata policyMetadataOf(const core::Trainer& t) { return policyMetadataOf(t.config(), t.configEvents()); }

GuardOutcome guardIteration(core::Trainer& t, RunStore& store, const core::IterationStats& s, int& rollbacksInARow) {
    GuardOutcome g;
    if (s.divergence == core::Divergence::None) {
        rollbacksInARow = 0;
        return g;
    }
    g.explanation = core::explainDivergence(s, t.guardMemory(), t.config());
    g.restoredIteration = t.rollBack().value_or(s.iteration - 1);
    g.rolledBack = true;
    store.appendEvent({s.iteration, RolledBack{g.restoredIteration, core::divergenceName(s.divergence), g.explanation}});
    g.stop = ++rollbacksInARow >= t.config().maxRollbacks;
    return g;
}

void copyRun(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (!looksLikeRun(from)) throw FileError(from.string() + ": not a run directory");
    if (fs::exists(to, ec) && fs::equivalent(from, to, ec)) return; // already there
    if (fs::exists(to, ec) && !looksLikeRun(to) && !(fs::is_directory(to, ec) && fs::is_empty(to, ec)))
        throw FileError(to.string() + ": exists and does not hold a run; choose another name");
    const fs::path staging = fs::path(to.string() + ".saving");
    fs::remove_all(staging, ec);
    fs::copy(from, staging, fs::copy_options::recursive, ec);
    if (ec) {
        std::error_code ignore;
        fs::remove_all(staging, ignore);
        throw FileError(to.string() + ": cannot copy the run (" + ec.message() + ")");
    }
    replaceWithStaged(staging, to);
}

} // namespace run
