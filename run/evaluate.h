// Scoring a saved policy headless (trpo-eval, README "Scoring a saved policy: trpo-eval").
//
// loadPolicy() reads any of the three forms a run leaves behind and tells them apart by
// content, not by the name: a checkpoint container (core/serialization.h: the magic
// "TRPOSTD\0"), a policy.json (a JSON object) or an ONNX model this project exported
// (export/onnx_export.h). A run directory stands for its checkpoint, or for its policy.json
// when it has none. evaluatePolicy() then plays whole episodes with it.
//
// Seeds: episode i (0, 1, ...) of an evaluation with seed S resets the environment with seed
// S + i, and a sampled (not deterministic) policy draws its actions from the stream
// core::Rng::stream(S, i), so every episode is reproducible on its own and the same whatever
// the number of episodes. No Qt here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/environment.h"
#include "core/snapshot.h"

namespace run {

struct LoadedPolicy {
    core::SnapshotPtr snapshot;
    std::string form; // "policy.json", "ONNX model", "checkpoint"
    std::filesystem::path file; // the file it came from (the checkpoint inside a run directory)
};
// Throws core::FileError whose message starts with the path and says what is wrong.
LoadedPolicy loadPolicy(const std::filesystem::path& path);

// Whether `policy` can act in an environment of `env`: the same observation size and the
// same action space (kind and size). Returns an empty string when it can, or a sentence
// saying what differs.
std::string spaceMismatch(const core::PolicySnapshot& policy, const core::EnvSpec& env);

struct EvalResult {
    std::vector<double> returns;
    std::vector<int> lengths;
    double mean = 0, std = 0, min = 0, max = 0; // of the returns; std over the episodes (divisor N)
};
// Plays `episodes` episodes of environment `envId` (built-in or registered) with the snapshot,
// seeded as described above. Throws std::invalid_argument for an unknown environment or a
// policy whose spaces do not fit it.
EvalResult evaluatePolicy(const core::PolicySnapshot& policy, const std::string& envId, int episodes,
                          bool deterministic, std::uint64_t seed);

} // namespace run
