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
// all registered environments, in a fixed order (CartPole-v1 first)
const std::vector<EnvInfo>& registry();
// nullptr when the id is unknown
std::unique_ptr<SimEnvironment> makeEnvironment(const std::string& id);
// a factory usable by core's sampler; throws std::invalid_argument for an unknown id
core::EnvFactory environmentFactory(const std::string& id);
// comma-separated ids, for error messages
std::string knownEnvironmentIds();

} // namespace sim
