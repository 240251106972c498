// One run format, written by trpo-train and the studio alike and read by both
// (docs/design.md §5). A run directory holds:
//   manifest.json            format version, environment, writer, what the folder holds,
//                            the checkpoint's iteration and steps
//   config.json              the configuration (hot values as of the last checkpoint)
//   progress.csv             one row per iteration (core::csvHeader / csvRow), appended
//   history.jsonl            one JSON object per iteration with every field of
//                            IterationStats (line-search trials and CG residuals included), appended
//   events.jsonl             typed events, one per line: started, hyperparameter, stopped,
//                            resumed, opened, line_search_failed, rolled_back, forked
//   trust_region.jsonl       trust-region probes (core/trust_region.h), one per probed
//                            iteration, when probes were asked for (trpo-train --inspect-every)
//   episodes.jsonl           the best, median and worst episode of each iteration as reset seed
//                            and actions (core/episode_record.h), one line per iteration;
//                            optional (runs written before it have none, and still open)
//   checkpoints/latest.ckpt  the full training state (core::Trainer::saveState)
//   policy.json, policy.onnx the policy at the end of the run
// Appends go to the end of the files; every whole-file write is atomic (core::writeFileAtomic).
// readRun() also reads the layouts this project wrote before: the studio's saved run with
// history.json (format 1) and trpo-train's directory without history.jsonl.
// No Qt here: the library links core, sim and export only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <variant>
#include <vector>

#include "core/config.h"
#include "core/episode_record.h"
#include "core/serialization.h"
#include "core/stats.h"
#include "core/trainer.h"

namespace run {

constexpr int kFormatVersion = 2; // 1: the studio's saved run with history.json
constexpr const char* kManifestFormat = "trpo-studio-run";

// ---- typed events (events.jsonl) ------------------------------------------------------
struct Started {
    std::string env;
    std::uint64_t seed = 0;
    std::string source; // "trpo-train" or "trpo-studio"
};
struct Hyperparameter {
    std::string key, from, to;
};
struct Stopped {
    std::string reason; // "budget reached", "target return reached", "interrupted", ...
};
struct Resumed {
    std::string source;
};
struct Opened {
    std::string from; // the directory the run was opened from
};
struct LineSearchFailed {
    std::string reason; // core::outcomeName
};
// the divergence guardrail rolled the learned state back (core::Trainer::rollBack) after the
// event's iteration diverged; iterations after restoredIteration up to it are superseded
struct RolledBack {
    int restoredIteration = 0;
    std::string divergence;  // core::divergenceName
    std::string explanation; // core::explainDivergence
};
// this run is a variant of a fork (run/fork.h): it continues the parent run's state at the
// event's iteration with `key` set to `value`
struct Forked {
    std::string parent; // the parent run's directory
    std::string key, value;
};
struct Event {
    int iteration = 0; // the iteration it happened at (a hyperparameter: the first that used it)
    std::variant<Started, Hyperparameter, Stopped, Resumed, Opened, LineSearchFailed, RolledBack, Forked> what;
};
const char* eventType(const Event& e); // "started", "hyperparameter", ...
nlohmann::json eventToJson(const Event& e);
// throws std::runtime_error naming the problem; an unknown type is an error
Event eventFromJson(const nlohmann::json& j);
Event hyperparameterEvent(const core::ConfigEvent& c);

// ---- the manifest ---------------------------------------------------------------------
struct Manifest {
    int formatVersion = kFormatVersion;
    std::string env;
    std::string writer;             // "trpo-train" or "trpo-studio" (the last one to write)
    std::string studioVersion;
    int checkpointIteration = 0;    // 0: no checkpoint yet
    std::int64_t checkpointEnvSteps = 0;
    std::int64_t savedAtMs = 0;     // when the checkpoint was written (ms since the epoch)
    bool hasPolicyJson = false, hasPolicyOnnx = false;
};

// ---- reading any run ------------------------------------------------------------------
struct RunContents {
    std::filesystem::path dir;
    std::string layout;              // "run format 2", "studio run format 1", "trpo-train run (progress.csv only)"
    Manifest manifest;               // made up from the files for older layouts
    core::TrpoConfig config;
    std::vector<core::IterationStats> history; // 1, 2, 3, ...: from history.jsonl, history.json or progress.csv
    std::vector<Event> events;
    std::vector<std::uint8_t> checkpoint; // checked container bytes; empty when there is none
    std::vector<core::TrustRegionProbe> probes; // trust_region.jsonl, in iteration order
    std::vector<core::IterationEpisodes> episodes; // episodes.jsonl, in iteration order (may be empty)
    // events.jsonl, trust_region.jsonl or episodes.jsonl differs from what was read: records
    // past the checkpoint were dropped (as the history is: a run goes on from its checkpoint),
    // or its last line lacks a newline (a torn write, ignored); RunStore::open rewrites it
    bool eventsToRewrite = false, probesToRewrite = false, episodesToRewrite = false;
    std::vector<core::ConfigEvent> configEvents() const; // the hyperparameter events, in order
    // the iterations a rollback superseded (from each rolled_back event), ascending
    std::vector<int> rolledBackIterations() const;
};
// Reads a run directory this project wrote (any layout; a file inside it names the
// directory too). Throws core::FileError whose message starts with the offending file's
// path and says what is wrong. The checkpoint's container is checked (size, version,
// checksum), not loaded; the history is cut at the checkpoint's iteration when a run
// stopped between two checkpoints.
RunContents readRun(const std::filesystem::path& dir);
bool looksLikeRun(const std::filesystem::path& dir);

// ---- writing ----------------------------------------------------------------------------
class RunStore {
public:
    // a new run in dir (created; an existing empty directory is fine); refuses a directory
    // that already holds files (throws core::FileError)
    static RunStore create(const std::filesystem::path& dir, const core::TrpoConfig& cfg, const std::string& writer);
    // an existing run of any layout, to continue it: brings it to this format (history.jsonl
    // from history.json or progress.csv, a manifest) and cuts the history back to the
    // checkpoint's iteration. Throws core::FileError naming what is missing or wrong.
    static RunStore open(const std::filesystem::path& dir, const std::string& writer);

    const std::filesystem::path& path() const { return m_dir; }
    std::filesystem::path checkpointPath() const { return m_dir / "checkpoints" / "latest.ckpt"; }
    const Manifest& manifest() const { return m_manifest; }

    core::TrpoConfig readConfig() const; // validated; throws core::FileError
    void writeConfig(const core::TrpoConfig& cfg) const;

    // progress.csv row, history.jsonl line, and a line_search_failed event when no step was taken
    void appendIteration(const core::IterationStats& s);
    void appendEvent(const Event& e);
    // one line of trust_region.jsonl
    void appendProbe(const core::TrustRegionProbe& p);
    // one line of episodes.jsonl (nothing for an iteration in which no episode finished)
    void appendEpisodes(const core::IterationEpisodes& e);

    // the trainer's state into checkpoints/latest.ckpt, its configuration into config.json,
    // and the manifest
    void saveCheckpoint(const core::Trainer& t);
    // a checkpoint taken elsewhere (the studio's worker hands its state over as bytes)
    void saveCheckpointBytes(const std::vector<std::uint8_t>& bytes, const core::TrpoConfig& cfg, int iteration,
                             std::int64_t envSteps);
    // restores t from checkpoints/latest.ckpt (messages name the file)
    void loadCheckpoint(core::Trainer& t) const;
    // a resumption of this run by source (say "trpo-train") at t's iteration, in events.jsonl,
    // then each hot setting the resumption changed (what t.applyHotConfig returned), and t's
    // configuration into config.json
    void recordResume(const core::Trainer& t, const std::string& source, const std::vector<core::ConfigEvent>& changes);
    // policy.json and policy.onnx of the trainer's current policy
    void writePolicyFiles(const core::Trainer& t, const core::PolicyMetadata& meta);
    void writePolicyJson(const core::PolicySnapshot& s, const core::PolicyMetadata& meta);

private:
    void writeManifest();
    std::filesystem::path m_dir;
    Manifest m_manifest;
};

// The divergence guardrail of a headless run (trpo-train): after an iteration s that
// diverged, roll the trainer back and record a rolled_back event; count the rollbacks in a
// row (reset by a good iteration) and say when max_rollbacks is reached.
struct GuardOutcome {
    bool rolledBack = false;
    int restoredIteration = 0;
    std::string explanation; // core::explainDivergence
    bool stop = false;       // max_rollbacks rollbacks in a row
};
GuardOutcome guardIteration(core::Trainer& t, RunStore& store, const core::IterationStats& s, int& rollbacksInARow);

// seed and δ history of a run (δ as configured now, rolled back through the recorded
// changes), for policy exports
core::PolicyMetadata policyMetadataOf(const core::TrpoConfig& cfg, const std::vector<core::ConfigEvent>& events);
core::PolicyMetadata policyMetadataOf(const core::Trainer& t);

// "Save run as": copies the run at `from` to `to` atomically (into TO.saving, then renamed
// over TO, the previous copy kept as TO.old until the swap is done). Refuses a destination
// that exists and is not a run. Throws core::FileError.
void copyRun(const std::filesystem::path& from, const std::filesystem::path& to);
// moves a complete directory `staging` over `to` the same way
void replaceWithStaged(const std::filesystem::path& staging, const std::filesystem::path& to);
// whether dir is an interrupted copy's leftover previous version (TO.old) worth reading
std::filesystem::path recoverInterruptedCopy(const std::filesystem::path& to);

} // namespace run
