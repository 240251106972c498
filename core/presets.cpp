#include "core/presets.h"

#include <cstdlib>
#include <unistd.h>

#include "core/serialization.h"

namespace core {

namespace fs = std::filesystem;

std::vector<fs::path> resourceDirs(const char* envVar, const std::string& sub) {
    std::vector<fs::path> dirs;
    if (const char* d = std::getenv(envVar)) dirs.emplace_back(d);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) dirs.push_back(exe.parent_path() / ".." / "share" / "trpo-studio" / sub);
#ifdef TRPO_RESOURCE_DIR
    dirs.emplace_back(fs::path(TRPO_RESOURCE_DIR) / sub);
#endif
    return dirs;
}

std::optional<fs::path> findPresetFile(const std::string& envId) {
    std::error_code ec;
    for (const fs::path& d : resourceDirs("TRPO_PRESET_DIR", "presets")) {
        const fs::path p = d / (envId + ".json");
        if (fs::is_regular_file(p, ec)) return p;
    }
    return std::nullopt;
}

TrpoConfig presetConfig(const std::string& envId) {
    TrpoConfig c;
    c.env = envId;
    if (auto p = findPresetFile(envId)) {
        try {
            applyConfigJson(c, readFileText(*p));
        } catch (const ConfigError& e) {
            throw ConfigError(p->string() + ": " + e.what());
        }
        c.env = envId;
    }
    return c;
}

} // namespace core
