// Per-environment default hyperparameters: resources/presets/<env id>.json, shared by
// trpo-train and the studio. Search order: $TRPO_PRESET_DIR, <exe>/../share/trpo-studio/presets,
// the source tree's resources/presets (compiled in).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace core {

// The folders a shipped resource (`sub`: "presets", "lessons") is looked for in, in order:
// $envVar when set, <exe>/../share/trpo-studio/<sub>, the source tree's resources/<sub>.
std::vector<std::filesystem::path> resourceDirs(const char* envVar, const std::string& sub);
std::optional<std::filesystem::path> findPresetFile(const std::string& envId);
// defaults with the environment's preset layered on (env set to envId); throws ConfigError
// when a preset file exists but is malformed
TrpoConfig presetConfig(const std::string& envId);

} // namespace core
