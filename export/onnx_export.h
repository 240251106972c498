// ONNX export of trained policies (and import of the files this exporter wrote).
//
// The model takes `obs` (float32, [batch, obsDim], dynamic batch) and runs, inside the graph,
// the observation normaliser (Sub mean, Div sqrt(var + 1e-8), Clip ±clip; only when it was
// enabled), then the policy MLP as Gemm (+ Tanh/Relu) per layer (a CNN policy: Reshape, Conv
// + Relu per layer and Flatten in front; a GRU policy: one GRU step from a second input `h_in`
// [1, batch, H], whose next state is a further output `h_out`). Outputs:
//   continuous: `action_mean` [batch, actDim] and `action` = clip(action_mean, low, high)
//   discrete:   `logits` [batch, n] and `probabilities` = softmax(logits, axis 1)
// Opset 17 (ai.onnx), IR version 8, float32 throughout. The spaces, log-std, normaliser,
// layer sizes and run metadata are stored in metadata_props (see onnx_export.cpp), so
// readPolicyOnnx() can rebuild a PolicySnapshot from a file this exporter wrote. The network
// weights come back as the float32 values the file holds (the log-std and the normaliser
// exactly, from the JSON metadata).
#pragma once

#include <filesystem>
#include <string>

#include "core/serialization.h"
#include "core/snapshot.h"

namespace exporter {

constexpr int kOnnxOpset = 17;
constexpr int kOnnxIrVersion = 8;
constexpr const char* kOnnxProducer = "TRPO Studio";

// the serialized ModelProto; validated with onnx::checker::check_model.
// Throws core::FileError naming the problem (inconsistent snapshot or a failed check).
std::string policyToOnnx(const core::PolicySnapshot& s, const core::PolicyMetadata& meta);

// policyToOnnx() written atomically (core::writeFileAtomic). Throws core::FileError.
void writePolicyOnnx(const core::PolicySnapshot& s, const core::PolicyMetadata& meta, const std::filesystem::path& p);

// Rebuilds the snapshot from bytes / a file written by this exporter. Throws
// std::runtime_error naming the problem for empty, truncated, corrupt or foreign models.
// When meta is given, it receives the seed, δ history and the extra metadata.
core::SnapshotPtr policyFromOnnx(const std::string& bytes, core::PolicyMetadata* meta = nullptr);
core::SnapshotPtr readPolicyOnnx(const std::filesystem::path& p, core::PolicyMetadata* meta = nullptr);

// The model bytes with their content checksum recomputed, so that altered weights or metadata
// reach the checks behind the checksum (the fuzz target, fuzz/fuzz_onnx.cpp). Bytes that are
// not a model, or whose checksum cannot be computed, come back unchanged.
std::string resealPolicyOnnx(const std::string& bytes);

} // namespace exporter
