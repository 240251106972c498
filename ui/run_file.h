// The studio's saved runs and policy files, over the one run format of run/run_store.h.
// A saved run (NAME.trporun/ by default) is a run directory like trpo-train's, so
// `trpo-train --resume` continues it and the studio opens any run trpo-train wrote. A save
// writes the whole run into NAME.trporun.saving/ and then swaps it in (the previous copy is
// kept as NAME.trporun.old until the swap is done), so an interrupted save never leaves a
// half-written run.
#pragma once

#include <QString>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

#include "core/config.h"
#include "core/serialization.h"
#include "core/snapshot.h"
#include "core/stats.h"
#include "core/trainer.h"
#include "core/trust_region.h"
#include "run/run_store.h"

namespace ui {


// everything a run is: what the worker hands out for Save and takes back for Open
struct RunState {
    core::TrpoConfig config;
    std::vector<std::uint8_t> checkpoint; // Trainer::saveState()
    std::vector<core::IterationStats> history;
    std::vector<core::ConfigEvent> events;
    std::vector<run::Event> rollbacks;         // the rolled_back events, in order
    std::vector<core::TrustRegionProbe> probes; // trust_region.jsonl (Open; a save copies the live run's)
    // episodes.jsonl: on Open, the run's; for a save without a live run directory, the
    // studio's (RunHistory::allEpisodes); the worker leaves it empty
    std::vector<core::IterationEpisodes> episodes;
    int iteration = 0;
    std::int64_t envSteps = 0;
    core::SnapshotPtr snapshot;           // the policy at the checkpoint (may be null on Open)
    std::int64_t savedAtMs = 0;           // set by writeRun / readRun
    QString source;                       // the directory it was read from (Open)
    // the worker's own run directory (its history appended as it trains), brought up to
    // this state's checkpoint; empty when the studio runs without one (--no-run-dir)
    QString liveRunDir;
};
using RunStatePtr = std::shared_ptr<const RunState>;

// δ over the run, for policy metadata
core::PolicyMetadata policyMetadata(const core::TrpoConfig& cfg, const std::vector<core::ConfigEvent>& events);

// the rolled_back events of a run
std::vector<run::Event> rollbackEvents(const std::vector<run::Event>& events);
// the iteration ranges (first, last) those events undid, for RunHistory
std::vector<std::pair<int, int>> rolledBackRanges(const std::vector<run::Event>& rollbacks);
// appends a run's records to store in the order trpo-train writes them: each iteration after
// the hyperparameter events it used, each rolled_back event after the iteration that
// diverged, then the probes
void appendRunRecords(run::RunStore& store, const std::vector<core::IterationStats>& history,
                      const std::vector<core::ConfigEvent>& events, const std::vector<run::Event>& rollbacks,
                      const std::vector<core::TrustRegionProbe>& probes);

// writes the run directory (see above); throws core::FileError naming the file
void writeRun(const std::filesystem::path& dir, const RunState& state);
// reads and checks history.json, config.json and the checkpoint's presence; does not build
// a trainer (the worker does, and loadState checks the checkpoint itself). Throws
// std::runtime_error whose message starts with the offending file's path.
RunState readRun(const std::filesystem::path& dir);
// the saved time of the run at dir (history.json's saved_at_ms), or nullopt if unreadable
std::optional<std::int64_t> runSavedAt(const std::filesystem::path& dir);

// a policy to watch: policy.json, policy.onnx (when ONNX support is built in) or a trainer
// checkpoint (.ckpt). Checks that the environment exists and that the policy's spaces match
// it. Throws std::runtime_error naming the file and the problem.
core::SnapshotPtr readPolicyFile(const std::filesystem::path& p);
// writes a policy as JSON or ONNX by the suffix of p; throws core::FileError / runtime_error
void writePolicyFile(const std::filesystem::path& p, const core::PolicySnapshot& s, const core::PolicyMetadata& meta);
bool onnxAvailable();

} // namespace ui
