// policy.json: core::policyFromJson (core/serialization.h), what the studio's policy viewer
// and the run directory's policy.json go through. Bad input must throw std::runtime_error.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/serialization.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        core::policyFromJson(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const std::runtime_error&) {
    }
    return 0;
}
