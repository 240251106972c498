// A run directory (docs/design.md §5): config.json, progress.csv, events.jsonl, checkpoints/,
// policy.json. Used by trpo-train and the studio alike.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"
#include "core/stats.h"
#include "core/trainer.h"

namespace core {

struct PolicyMetadata;
// seed and δ history of a run (δ as configured now, rolled back through the recorded
// changes), for policy exports
PolicyMetadata policyMetadataOf(const TrpoConfig& cfg, const std::vector<ConfigEvent>& events);
PolicyMetadata policyMetadataOf(const Trainer& t);

class RunDirectory {
public:
    // creates (or reuses an empty) directory and writes config.json and the CSV header;
    // refuses a directory that already holds a run (throws FileError)
    static RunDirectory create(const std::filesystem::path& dir, const TrpoConfig& cfg);
    // opens an existing run for --resume; throws FileError naming what is missing
    static RunDirectory open(const std::filesystem::path& dir);

    const std::filesystem::path& path() const { return m_dir; }
    std::filesystem::path checkpointPath() const { return m_dir / "checkpoints" / "latest.ckpt"; }

    // config.json of the run (validated)
    TrpoConfig readConfig() const;
    void writeConfig(const TrpoConfig& cfg) const;

    void appendProgress(const IterationStats& s);
    // one JSON object per line: {"iteration":..,"type":..., ...fields}
    void appendEvent(int iteration, const std::string& type, const std::string& fieldsJsonObject);

    void saveCheckpoint(const Trainer& t) const;
    // restores t and trims progress.csv to the checkpoint's iteration
    void loadCheckpoint(Trainer& t);
    void writePolicyJson(const Trainer& t) const;

private:
    std::filesystem::path m_dir;
};

} // namespace core
