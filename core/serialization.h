// File formats and safe file I/O.
//
// Binary container (checkpoints): 8-byte magic "TRPOSTD\0", u32 format version, u32 kind,
// u64 payload size, u64 FNV-1a checksum of the payload, then the payload (CBOR). Loaders
// check every field and say what is wrong. Writes are atomic: a temporary file in the same
// directory is written, flushed to disk, then renamed over the target, so a crash mid-save
// leaves the previous file intact.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/snapshot.h"

namespace core {

struct FileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An integer field of a file as T: a JSON integer, or a number with a whole value, within T's
// range. Throws nlohmann::json::type_error for other types and json::out_of_range beyond T,
// like get<T>(), which instead converts any floating-point number with a cast: undefined
// behaviour beyond T's range (a layer size of 5e37).
template <class T>
T jsonInteger(const nlohmann::json& v) {
    static_assert(std::is_integral_v<T>);
    using L = std::numeric_limits<T>;
    auto outOfRange = [&v]() {
        return nlohmann::json::out_of_range::create(406, "integer " + v.dump() + " is out of range", &v);
    };
    if (v.is_number_unsigned()) {
        const std::uint64_t u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(L::max())) throw outOfRange();
        return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
        const std::int64_t i = v.get<std::int64_t>();
        if (i < 0 ? (!L::is_signed || i < static_cast<std::int64_t>(L::min()))
                  : static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(L::max()))
            throw outOfRange();
        return static_cast<T>(i);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>(), hi = std::ldexp(1.0, L::digits), lo = L::is_signed ? -hi : 0.0;
        if (!(d >= lo && d < hi) || d != std::floor(d)) throw outOfRange();
        return static_cast<T>(d);
    }
    return v.get<T>(); // not a number: json's type_error
}
// obj[key] as jsonInteger<T>, or fallback when obj has no such key (json::value for integers)
template <class T>
T jsonInteger(const nlohmann::json& obj, const char* key, T fallback) {
    if (!obj.is_object()) return obj.value(key, fallback); // json's type_error
    const auto it = obj.find(key);
    return it == obj.end() ? fallback : jsonInteger<T>(*it);
}
// an array of integers, each as jsonInteger<int>
std::vector<int> jsonIntegers(const nlohmann::json& v);

// The widest network layer or observation space a policy file may describe. It only keeps
// a file's sizes plausible: the loaders allocate nothing before they have checked that the
// weights the sizes call for are in the file. (CartPolePixels-v0's 4,800 inputs are the
// widest layer the environments need today.)
constexpr int kMaxLayerWidth = 65536;

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
