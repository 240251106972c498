// File formats and safe file I/O.
//
// Binary container (checkpoints): 8-byte magic "TRPOSTD\0", u32 format version, u32 kind,
// u64 payload size, u64 FNV-1a checksum of the payload, then the payload (CBOR). Loaders
// check every field and say what is wrong. Writes are atomic: a temporary file in the same
// directory is written, flushed to disk, then renamed over the target, so a crash mid-save
// leaves the previous file intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/snapshot.h"

namespace core {

struct FileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class ContainerKind : std::uint32_t { Checkpoint = 1 };
constexpr std::uint32_t kContainerVersion = 1;

std::uint64_t fnv1a64(const std::uint8_t* data, std::size_t n);
std::vector<std::uint8_t> encodeContainer(ContainerKind kind, const std::vector<std::uint8_t>& payload);
// throws std::runtime_error: empty, bad magic, wrong version or kind, truncated, checksum
std::vector<std::uint8_t> decodeContainer(ContainerKind kind, const std::vector<std::uint8_t>& bytes);

// whole-file helpers; errors name the file
std::vector<std::uint8_t> readFileBytes(const std::filesystem::path& p);
std::string readFileText(const std::filesystem::path& p);
void writeFileAtomic(const std::filesystem::path& p, const std::string& data);
void writeFileAtomic(const std::filesystem::path& p, const std::vector<std::uint8_t>& data);

// a space as JSON: {"type":"discrete","n":N} or {"type":"box","low":[...],"high":[...]}
// with infinite bounds as "inf"/"-inf"; spaceFromJson validates and throws std::runtime_error
nlohmann::json spaceToJson(const Space& s);
Space spaceFromJson(const nlohmann::json& j);

// policy.json: readable weights (W as rows of out x in), log-std, normaliser, spaces and
// metadata. Loading validates every shape and value and throws std::runtime_error.
struct PolicyMetadata {
    std::uint64_t seed = 0;
    std::vector<std::pair<int, double>> deltaHistory; // (first iteration, δ)
    std::string extraJson = "{}";                     // any further key/values (object)
};
std::string policyToJson(const PolicySnapshot& s, const PolicyMetadata& meta);
SnapshotPtr policyFromJson(const std::string& text);

} // namespace core
