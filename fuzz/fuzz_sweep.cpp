// Sweep manifest: run::parseSweepManifest (run/sweep.h), what trpo-train --resume of a sweep
// directory and the studio's Open comparison read from sweep.json (README "Sweeps"). Bad
// input must throw core::FileError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/serialization.h"
#include "run/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const run::SweepManifest m = run::parseSweepManifest(text, "sweep.json");
        // what a resumed sweep does with it before training: each cell's configuration
        for (const run::SweepCell& c : m.cells) (void)run::cellConfig(m, c);
    } catch (const core::FileError&) {
    }
    return 0;
}
