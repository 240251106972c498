// The environments this build knows, by Gymnasium id.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/sim_environment.h"

namespace sim {

struct EnvInfo {
    std::string id;
    std::string description; // one line for --list-envs and the studio's picker
    std::function<std::unique_ptr<SimEnvironment>()> make;
};

// appends the built-in environments to `out`, in the registry's order. registry() calls it
// once, lazily; there are no static initialisers.
void registerBuiltinEnvironments(std::vector<EnvInfo>& out);
// the built-in environments, in a fixed order (CartPole-v1 first)
const std::vector<EnvInfo>& registry();
// A test seam: makes one more environment known to environmentFactory (so a trainer, the
// studio's included, can run on it) for the rest of the process, replacing one registered
// before under the same id. It is not listed by registry() and the viewer cannot draw it
// (makeEnvironment returns nullptr for it): it is for test-only environments, such as one
// that returns NaN on cue. Throws std::invalid_argument for a built-in id or an empty
// factory. Thread-safe.
void registerEnvironment(const std::string& id, core::EnvFactory factory);
// nullptr when the id is unknown
std::unique_ptr<SimEnvironment> makeEnvironment(const std::string& id);
// a factory usable by core's sampler (a built-in or a registered environment); throws
// std::invalid_argument for an unknown id
core::EnvFactory environmentFactory(const std::string& id);
// comma-separated ids, for error messages
std::string knownEnvironmentIds();
// id is a built-in environment or one registerEnvironment() added
bool isKnownEnvironment(const std::string& id);

} // namespace sim
