// The run directory as one fuzz input (fuzz_run, fuzz_studio_files): the directory's files in
// this order, separated by a line "%%": manifest.json, config.json, history.jsonl,
// events.jsonl, trust_region.jsonl, checkpoints/latest.ckpt, history.json (format 1),
// progress.csv (trpo-train's older layout), episodes.jsonl. A section that is exactly "-",
// and any section the input does not reach, is a file the directory does not have. A
// checkpoint section that does not start with the container magic is its CBOR payload, put
// into a container with the right size and checksum (as in fuzz_checkpoint). The files go
// into a scratch directory (in /dev/shm when there is one), emptied before each input.
#pragma once

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

namespace fuzzrun {

namespace fs = std::filesystem;

constexpr std::array<const char*, 9> kFiles = {"manifest.json",      "config.json",  "history.jsonl",
                                               "events.jsonl",       "trust_region.jsonl",
                                               "checkpoints/latest.ckpt", "history.json", "progress.csv",
                                               "episodes.jsonl"};
constexpr std::size_t kCheckpoint = 5;
constexpr std::string_view kSeparator = "\n%%\n";

// a scratch directory <tmp>/trpo-fuzz-NAME-XXXXXX/<leaf>; allocated once and never freed, so
// the exit handler that removes it still sees it after static destructors ran
inline const fs::path& scratchDir(const char* name, const char* leaf) {
    static const fs::path* dir = [&] {
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / (std::string("trpo-fuzz-") + name + "-XXXXXX")).string();
        if (!mkdtemp(tmpl.data())) std::abort();
        auto* d = new fs::path(fs::path(tmpl) / leaf);
        fs::create_directories(*d);
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(dir->parent_path(), ec);
        });
        return d;
    }();
    return *dir;
}

inline void writeFile(const fs::path& p, std::string_view data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) std::abort();
}

// writes the run directory the input describes into dir (which it empties of those files first)
inline void writeRunSections(const fs::path& dir, std::string_view rest) {
    fs::create_directories(dir / "checkpoints");
    for (const char* name : kFiles) {
        std::error_code ec;
        fs::remove(dir / name, ec);
    }
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
}

} // namespace fuzzrun
