// trpo-eval's policy detection: run::loadPolicy (run/evaluate.h) on a file, which tells a
// checkpoint container, a policy.json and an ONNX model apart by content. Bad input must
// throw core::FileError whose message starts with the file's path.
//
// The input is the file as it is (the seeds are one of each form: the harness does not
// repair checksums, so the detection and the loaders' first checks are what it exercises;
// fuzz_checkpoint, fuzz_policy_json and fuzz_onnx go deeper into each loader).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/run_sections.h"
#include "run/evaluate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::filesystem::path file = fuzzrun::scratchDir("eval", "eval") / "policy";
    fuzzrun::writeFile(file, std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const run::LoadedPolicy p = run::loadPolicy(file);
        if (!p.snapshot) std::abort(); // a load that succeeds gives a policy
    } catch (const core::FileError& e) {
        if (std::string_view(e.what()).rfind(file.string(), 0) != 0) std::abort(); // names the file
    }
    return 0;
}
