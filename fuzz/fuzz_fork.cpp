// fork.json: run::readForkManifest (run/fork.h), what `trpo-train --compare` and the studio's
// Compare read to find a fork's variants. Bad input must throw core::FileError naming the
// file; every variant directory that comes back lies inside the fork's folder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz/run_sections.h"
#include "run/fork.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::filesystem::path& dir = fuzzrun::scratchDir("fork", "fork");
    fuzzrun::writeFile(dir / "fork.json", std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const run::ForkManifest m = run::readForkManifest(dir);
        for (const run::ForkVariant& v : m.variants) {
            const std::filesystem::path rel = v.dir.lexically_relative(dir);
            if (rel.empty() || *rel.begin() == "..") std::abort(); // a variant outside the fork's folder
        }
    } catch (const core::FileError&) {
    }
    return 0;
}
