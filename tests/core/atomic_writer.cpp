// Child process for test_atomic_write: rewrites one file atomically, forever, each version
// a complete, self-checking record (8 MiB of one byte value after a 16-byte header).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/serialization.h"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    std::vector<std::uint8_t> data(16 + (8u << 20));
    for (std::uint64_t k = 1;; ++k) {
        std::memcpy(data.data(), "TRPOATOM", 8);
        std::memcpy(data.data() + 8, &k, 8);
        std::memset(data.data() + 16, static_cast<int>(k & 0xff), data.size() - 16);
        core::writeFileAtomic(argv[1], data);
        std::printf("%llu\n", static_cast<unsigned long long>(k));
        std::fflush(stdout);
    }
}
