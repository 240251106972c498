// Run directory: run::readRun (run/run_store.h), what trpo-train --resume and the studio's
// Open run read (a saved NAME.trporun/ is the same directory). Bad input must throw
// core::FileError.
//
// The input is the directory's files, separated by a line "%%" (fuzz/run_sections.h: the
// manifest, config, history, events, probes, checkpoint, format-1 history, progress.csv and
// the episodes kept for replay, episodes.jsonl).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/run_sections.h"
#include "run/run_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::filesystem::path& dir = fuzzrun::scratchDir("run", "run");
    fuzzrun::writeRunSections(dir, std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        run::readRun(dir);
    } catch (const core::FileError&) {
    }
    return 0;
}
