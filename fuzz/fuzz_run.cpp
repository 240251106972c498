// Run directory: run::readRun (run/run_store.h), what trpo-train --resume and the studio's
// Open run read (a saved NAME.trporun/ is the same directory). Bad input must throw
// core::FileError.
//
// The input is the directory's files in this order, separated by a line "%%": manifest.json,
// config.json, history.jsonl, events.jsonl, trust_region.jsonl, checkpoints/latest.ckpt,
// history.json (format 1), progress.csv (trpo-train's older layout). A section that is
// exactly "-", and any section the input does not reach, is a file the directory does not
// have. A checkpoint section that does not start with the container magic is its CBOR
// payload, put into a container with the right size and checksum (as in fuzz_checkpoint).
// The files go into a scratch directory (in /dev/shm when there is one), emptied before
// each input.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/serialization.h"
#include "run/run_store.h"

namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, 8> kFiles = {"manifest.json",      "config.json",  "history.jsonl",
                                               "events.jsonl",       "trust_region.jsonl",
                                               "checkpoints/latest.ckpt", "history.json", "progress.csv"};
constexpr std::size_t kCheckpoint = 5;
constexpr std::string_view kSeparator = "\n%%\n";

// the scratch run directory; allocated once and never freed, so the exit handler that
// removes it still sees it after static destructors ran
const fs::path& scratchDir() {
    static const fs::path* dir = [] {
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / "trpo-fuzz-run-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) std::abort();
        auto* d = new fs::path(fs::path(tmpl) / "run");
        fs::create_directories(*d / "checkpoints");
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(scratchDir().parent_path(), ec);
        });
        return d;
    }();
    return *dir;
}

void writeFile(const fs::path& p, std::string_view data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path& dir = scratchDir();
    for (const char* name : kFiles) {
        std::error_code ec;
        fs::remove(dir / name, ec);
    }
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    for (std::size_t i = 0; i < kFiles.size(); ++i) {
        const std::size_t cut = rest.find(kSeparator);
        const std::string_view section = rest.substr(0, cut);
        if (section != "-") {
            if (i == kCheckpoint && (section.size() < 8 || std::memcmp(section.data(), "TRPOSTD", 8) != 0)) {
                const std::vector<std::uint8_t> payload(section.begin(), section.end());
                const std::vector<std::uint8_t> c = core::encodeContainer(core::ContainerKind::Checkpoint, payload);
                writeFile(dir / kFiles[i], std::string_view(reinterpret_cast<const char*>(c.data()), c.size()));
            } else {
                writeFile(dir / kFiles[i], section);
            }
        }
        if (cut == std::string_view::npos) break;
        rest.remove_prefix(cut + kSeparator.size());
    }
    try {
        run::readRun(dir);
    } catch (const core::FileError&) {
    }
    return 0;
}
