#include "core/run_writer.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/serialization.h"

namespace core {

namespace fs = std::filesystem;

RunDirectory RunDirectory::create(const fs::path& dir, const TrpoConfig& cfg) {
    std::error_code ec;
    if (fs::exists(dir / "progress.csv", ec) || fs::exists(dir / "config.json", ec))
        throw FileError(dir.string() + ": already holds a run (use --resume to continue it, or choose another --out)");
    fs::create_directories(dir / "checkpoints", ec);
    if (ec) throw FileError(dir.string() + ": cannot create the run directory (" + ec.message() + ")");
    RunDirectory r;
    r.m_dir = dir;
    r.writeConfig(cfg);
    writeFileAtomic(dir / "progress.csv", csvHeader() + "\n");
    writeFileAtomic(dir / "events.jsonl", std::string());
    return r;
}

RunDirectory RunDirectory::open(const fs::path& dir) {
    RunDirectory r;
    r.m_dir = dir;
    if (!fs::is_directory(dir)) throw FileError(dir.string() + ": no such run directory");
    if (!fs::exists(dir / "config.json")) throw FileError((dir / "config.json").string() + ": missing");
    if (!fs::exists(r.checkpointPath())) throw FileError(r.checkpointPath().string() + ": missing (no checkpoint to resume from)");
    fs::create_directories(dir / "checkpoints");
    return r;
}

TrpoConfig RunDirectory::readConfig() const {
    const fs::path p = m_dir / "config.json";
    TrpoConfig c;
    try {
        applyConfigJson(c, readFileText(p));
        c.validate();
    } catch (const ConfigError& e) {
        throw FileError(p.string() + ": " + e.what());
    }
    return c;
}

void RunDirectory::writeConfig(const TrpoConfig& cfg) const {
    auto j = nlohmann::json::parse(configToJson(cfg));
    j["studio_version"] = TRPO_VERSION;
    j["format"] = "trpo-studio-config";
    writeFileAtomic(m_dir / "config.json", j.dump(2) + "\n");
}

void RunDirectory::appendProgress(const IterationStats& s) {
    std::ofstream f(m_dir / "progress.csv", std::ios::app);
    if (!f) throw FileError((m_dir / "progress.csv").string() + ": cannot append");
    f << csvRow(s) << '\n';
}

void RunDirectory::appendEvent(int iteration, const std::string& type, const std::string& fieldsJsonObject) {
    nlohmann::json j = nlohmann::json::parse(fieldsJsonObject.empty() ? "{}" : fieldsJsonObject);
    j["iteration"] = iteration;
    j["type"] = type;
    std::ofstream f(m_dir / "events.jsonl", std::ios::app);
    if (!f) throw FileError((m_dir / "events.jsonl").string() + ": cannot append");
    f << j.dump() << '\n';
}

void RunDirectory::saveCheckpoint(const Trainer& t) const { writeFileAtomic(checkpointPath(), t.saveState()); }

void RunDirectory::loadCheckpoint(Trainer& t) {
    const fs::path p = checkpointPath();
    try {
        t.loadState(readFileBytes(p));
    } catch (const FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw FileError(p.string() + ": " + e.what());
    }
    // keep the CSV consistent with the restored state: drop rows past the checkpoint
    const fs::path csv = m_dir / "progress.csv";
    std::istringstream in(fs::exists(csv) ? readFileText(csv) : csvHeader() + "\n");
    std::string line, out;
    bool first = true;
    while (std::getline(in, line)) {
        if (first) {
            out += line + "\n";
            first = false;
            continue;
        }
        const int it = std::atoi(line.c_str());
        if (it >= 1 && it <= t.iteration()) out += line + "\n";
    }
    writeFileAtomic(csv, out);
}

PolicyMetadata policyMetadataOf(const TrpoConfig& cfg, const std::vector<ConfigEvent>& events) {
    PolicyMetadata meta;
    meta.seed = cfg.seed;
    double d0 = cfg.delta;
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->key == "delta") d0 = std::stod(it->from);
    meta.deltaHistory.push_back({1, d0});
    for (const ConfigEvent& e : events)
        if (e.key == "delta") meta.deltaHistory.push_back({e.iteration, std::stod(e.to)});
    return meta;
}

PolicyMetadata policyMetadataOf(const Trainer& t) { return policyMetadataOf(t.config(), t.configEvents()); }

void RunDirectory::writePolicyJson(const Trainer& t) const {
    writeFileAtomic(m_dir / "policy.json", policyToJson(*t.snapshot(), policyMetadataOf(t)));
}

} // namespace core
