// The studio's loaders (ui/run_file.h, Qt Core only): ui::readRun, what File > Open run
// reads on top of run::readRun, and ui::readPolicyFile, what Watch policy file reads
// (policy.json, policy.onnx or a .ckpt, chosen by the suffix, then checked against the
// environment). Bad input must throw std::runtime_error whose message starts with the path
// of the file at fault.
//
// The first byte chooses: 'd' reads the rest as a run directory (fuzz/run_sections.h); any
// other byte is a policy file of the rest, named policy.json, policy.onnx or policy.ckpt by
// that byte modulo 3.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "fuzz/run_sections.h"
#include "ui/run_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::filesystem::path& dir = fuzzrun::scratchDir("studio-files", "files");
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] == 'd') {
        const std::filesystem::path run = dir / "run";
        fuzzrun::writeRunSections(run, rest);
        try {
            const ui::RunState st = ui::readRun(run);
            if (st.checkpoint.empty()) std::abort(); // Open needs a checkpoint to continue from
        } catch (const std::runtime_error& e) {
            if (std::string_view(e.what()).rfind(run.string(), 0) != 0) std::abort(); // names the file
        }
        return 0;
    }
    static constexpr std::array<const char*, 3> kNames = {"policy.json", "policy.onnx", "policy.ckpt"};
    const std::filesystem::path file = dir / kNames[data[0] % 3];
    fuzzrun::writeFile(file, rest);
    try {
        if (!ui::readPolicyFile(file)) std::abort();
    } catch (const std::runtime_error& e) {
        if (std::string_view(e.what()).rfind(file.string(), 0) != 0) std::abort(); // names the file
    }
    return 0;
}
