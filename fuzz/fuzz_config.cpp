// Config JSON: a --config file, a preset (resources/presets/) or a lesson
// (resources/lessons/) read the way trpo-train reads --config (README "Headless training"):
// parse once to find the environment, layer the file over that environment's preset, check
// the environment exists and validate. Bad input must throw core::ConfigError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/presets.h"
#include "sim/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        core::TrpoConfig probe;
        core::applyConfigJson(probe, text);
        core::TrpoConfig cfg = core::presetConfig(probe.env);
        core::applyConfigJson(cfg, text);
        if (!sim::isKnownEnvironment(cfg.env)) return 0;
        cfg.validate();
    } catch (const core::ConfigError&) {
    }
    return 0;
}
