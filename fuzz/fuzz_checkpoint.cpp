// Checkpoint: core::Trainer::loadState on a checkpoint container (core/serialization.h),
// as trpo-train --resume and the studio's Open do: a trainer is built for the run's
// configuration, then given the checkpoint. Bad input must throw std::runtime_error and leave
// the trainer unchanged.
//
// An input that starts with the container magic is used as it is; any other input is the
// CBOR payload, put into a container with the right size and checksum so the fuzzer gets past
// the checksum to the payload.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "sim/registry.h"

namespace {

// the environment the checkpoint names, when the payload says and the environment exists;
// CartPole otherwise (loadState then rejects any other environment)
std::string environmentOf(const std::vector<std::uint8_t>& container) {
    try {
        const nlohmann::json j =
            nlohmann::json::from_cbor(core::decodeContainer(core::ContainerKind::Checkpoint, container));
        const std::string env = j.at("env_id").get<std::string>();
        if (sim::isKnownEnvironment(env)) return env;
    } catch (const std::exception&) {
    }
    return "CartPole-v1";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static constexpr char kMagic[8] = {'T', 'R', 'P', 'O', 'S', 'T', 'D', '\0'};
    std::vector<std::uint8_t> bytes(data, data + size);
    if (size < sizeof kMagic || std::memcmp(data, kMagic, sizeof kMagic) != 0)
        bytes = core::encodeContainer(core::ContainerKind::Checkpoint, bytes);

    // one fresh trainer per environment, built again only after a load changed it: building
    // one costs far more than most inputs (loadState leaves a trainer unchanged on failure)
    static std::map<std::string, std::unique_ptr<core::Trainer>> fresh;
    const std::string env = environmentOf(bytes);
    std::unique_ptr<core::Trainer>& t = fresh[env];
    if (!t) {
        core::TrpoConfig cfg;
        cfg.env = env;
        cfg.numEnvs = 1;
        t = std::make_unique<core::Trainer>(cfg, sim::environmentFactory(cfg.env));
    }
    try {
        t->loadState(bytes);
        t.reset();
    } catch (const std::runtime_error&) {
        // unchanged: still the fresh trainer's state
        if (t->iteration() != 0 || t->envSteps() != 0) __builtin_trap();
    }
    return 0;
}
