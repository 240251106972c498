// A small, fast, portable random number generator (xoshiro256++ seeded by SplitMix64) with
// its own uniform and normal sampling, so that a seed gives the same numbers on every
// platform and standard library (std:: distributions are implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>

namespace core {

class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        std::uint64_t z = seed;
        for (auto& s : m_s) s = splitmix64(z);
        m_hasSpare = false;
    }
    // a stream for (seed, index) that does not overlap other indices in practice
    static Rng stream(std::uint64_t seed, std::uint64_t index) {
        std::uint64_t z = seed ^ (0x9E3779B97F4A7C15ull * (index + 1));
        return Rng(splitmix64(z));
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(m_s[0] + m_s[3], 23) + m_s[0];
        const std::uint64_t t = m_s[1] << 17;
        m_s[2] ^= m_s[0];
        m_s[3] ^= m_s[1];
        m_s[1] ^= m_s[2];
        m_s[0] ^= m_s[3];
        m_s[2] ^= t;
        m_s[3] = rotl(m_s[3], 45);
        return result;
    }
    // uniform in [0, 1) with 53 random bits
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // uniform in [a, b)
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    // uniform integer in {0, ..., n-1} (n > 0), bias-free by rejection
    std::uint64_t below(std::uint64_t n) {
        const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % n);
        std::uint64_t v;
        do v = next();
        while (v >= limit);
        return v % n;
    }
    // standard normal (Marsaglia polar method)
    double normal() {
        if (m_hasSpare) {
            m_hasSpare = false;
            return m_spare;
        }
        double u, v, s;
        do {
            u = uniform() * 2.0 - 1.0;
            v = uniform() * 2.0 - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        const double f = std::sqrt(-2.0 * std::log(s) / s);
        m_spare = v * f;
        m_hasSpare = true;
        return u * f;
    }

    // full state, for checkpoints
    struct State {
        std::uint64_t s[4];
        bool hasSpare;
        double spare;
    };
    State state() const { return State{{m_s[0], m_s[1], m_s[2], m_s[3]}, m_hasSpare, m_spare}; }
    void setState(const State& st) {
        for (int i = 0; i < 4; ++i) m_s[i] = st.s[i];
        m_hasSpare = st.hasSpare;
        m_spare = st.spare;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& z) {
        std::uint64_t r = (z += 0x9E3779B97F4A7C15ull);
        r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
        r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
        return r ^ (r >> 31);
    }
    std::uint64_t m_s[4]{};
    bool m_hasSpare = false;
    double m_spare = 0.0;
};

} // namespace core
