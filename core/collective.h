// Data-parallel training over several processes (docs/design.md §"Collectives"; README
// "Running on several machines (MPI)"). core/ knows no MPI: the trainer, the sampler and the
// TRPO update see only this interface, and dist/ implements it with MPI. Every rank holds
// the whole training state and runs the same code; a rank computes only its share of the
// work (its environment copies, its shards of the update) and the exchanges below hand every
// rank everyone's results, which each rank then combines in the same fixed order as one
// process would. The results are therefore bit for bit those of one process.
//
// Every call is collective: all ranks make the same calls in the same order.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace core {

// what the exchanges of this process cost so far (bytes it sent plus bytes it received,
// time spent inside the calls, including waiting for slower ranks)
struct CollectiveStats {
    std::int64_t calls = 0;
    std::int64_t bytes = 0;
    double seconds = 0;
};

class Collective {
public:
    virtual ~Collective() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // every rank passes a block of bytes (of any size); every rank gets all blocks in rank order
    virtual std::vector<std::vector<std::uint8_t>> allGather(const std::vector<std::uint8_t>& mine) = 0;
    // data holds Σ counts doubles; rank r has filled its counts[r] values at offset
    // Σ_{q<r} counts[q]; afterwards every rank holds all of them (counts are the same on every rank)
    virtual void allGatherInPlace(double* data, const std::vector<int>& counts) = 0;
    virtual CollectiveStats stats() const = 0;
};

// the contiguous share [begin, end) of n items that rank r of `size` ranks works on (ranks
// beyond n get none)
struct Share {
    int begin = 0, end = 0;
    int count() const { return end - begin; }
};
inline Share shareOf(int n, int rank, int size) {
    return {static_cast<int>(static_cast<std::int64_t>(n) * rank / size),
            static_cast<int>(static_cast<std::int64_t>(n) * (rank + 1) / size)};
}

// true when c spreads work over more than one process
inline bool distributed(const Collective* c) { return c && c->size() > 1; }

// whether any rank's flag is set (a collective call: every rank makes it, with its own flag
// or none), so that all ranks stop together
inline bool anyRankCancelled(Collective& c, const std::atomic<bool>* flag) {
    const bool mine = flag && flag->load(std::memory_order_relaxed);
    for (const auto& block : c.allGather({static_cast<std::uint8_t>(mine ? 1 : 0)}))
        if (!block.empty() && block[0]) return true;
    return false;
}

// packs plain values and vectors of them into bytes (same machine type on every rank)
class ByteWriter {
public:
    template <typename T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        append(&v, sizeof(T));
    }
    template <typename T>
    void putVector(const std::vector<T>& v) {
        put<std::uint64_t>(v.size());
        append(v.data(), v.size() * sizeof(T));
    }
    void putDoubles(const double* p, std::size_t n) { append(p, n * sizeof(double)); }
    std::vector<std::uint8_t> bytes;

private:
    void append(const void* p, std::size_t n) {
        if (n == 0) return;
        const std::size_t at = bytes.size();
        bytes.resize(at + n);
        std::memcpy(bytes.data() + at, p, n);
    }
};

class ByteReader {
public:
    explicit ByteReader(const std::vector<std::uint8_t>& b) : m_b(b) {}
    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        T v;
        need(sizeof(T));
        std::memcpy(&v, m_b.data() + m_at, sizeof(T));
        m_at += sizeof(T);
        return v;
    }
    template <typename T>
    std::vector<T> getVector() {
        const auto n = get<std::uint64_t>();
        need(n * sizeof(T));
        std::vector<T> v(n);
        if (n) std::memcpy(v.data(), m_b.data() + m_at, n * sizeof(T));
        m_at += n * sizeof(T);
        return v;
    }
    void getDoubles(double* p, std::size_t n) {
        need(n * sizeof(double));
        if (n) std::memcpy(p, m_b.data() + m_at, n * sizeof(double));
        m_at += n * sizeof(double);
    }
    bool atEnd() const { return m_at == m_b.size(); }

private:
    void need(std::size_t n) const {
        if (m_at + n > m_b.size()) throw std::runtime_error("a rank sent a message shorter than expected");
    }
    const std::vector<std::uint8_t>& m_b;
    std::size_t m_at = 0;
};

} // namespace core
