// policy.onnx: exporter::policyFromOnnx (export/onnx_export.h), the in-memory half of
// readPolicyOnnx. Bad input must throw std::runtime_error.
//
// An input whose first byte is odd is used as it is; otherwise the rest is a model whose
// content checksum the harness recomputes (exporter::resealPolicyOnnx), so mutated weights
// and metadata get past the checksum to the checks behind it.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "export/onnx_export.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) == 0) bytes = exporter::resealPolicyOnnx(bytes);
    try {
        core::PolicyMetadata meta;
        exporter::policyFromOnnx(bytes, &meta);
    } catch (const std::runtime_error&) {
    }
    return 0;
}
