// Helpers shared by the core tests: finite differences and small random problems.
#pragma once

#include <sys/resource.h>

#include <Eigen/Dense>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/stats.h"

// GCC defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang answers __has_feature
#if defined(__SANITIZE_ADDRESS__)
#define TRPO_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define TRPO_TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRPO_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define TRPO_TEST_TSAN 1
#endif
#endif

namespace testutil {

// built with AddressSanitizer or ThreadSanitizer: every shard of work runs several times
// slower, so timing tests print their figure and check only a loose bound
#if defined(TRPO_TEST_ASAN) || defined(TRPO_TEST_TSAN)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
// built with ThreadSanitizer, which slows the learning tests' long runs the most (5 to 15
// times) and single-threaded timing checks too: the first check only threading, which
// shorter runs exercise just as well, and the timing checks are skipped
#if defined(TRPO_TEST_TSAN)
constexpr bool kThreadSanitized = true;
#else
constexpr bool kThreadSanitized = false;
#endif
// the README's prompt stop: Pause, Reset and closing within 200 ms (2 s under a sanitizer)
constexpr double kStopBoundMs = kSanitized ? 2000.0 : 200.0;

using Eigen::MatrixXd;
using Eigen::VectorXd;

// how much f raised the process's peak resident memory, in MB (0 when the peak was already
// higher): a loader given a few bytes must not allocate and touch a large buffer
inline double peakRssGrowthMb(const std::function<void()>& f) {
    auto peakKb = [] {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_maxrss);
    };
    const double before = peakKb();
    f();
    return (peakKb() - before) / 1024.0;
}

// the same doubles, bit for bit (NaN payloads and signed zeros included)
inline bool sameBits(const VectorXd& a, const VectorXd& b) {
    return a.size() == b.size() &&
           std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())) == 0;
}

inline VectorXd randomVector(int n, core::Rng& rng, double scale = 1.0) {
    VectorXd v(n);
    for (int i = 0; i < n; ++i) v(i) = scale * rng.normal();
    return v;
}
inline MatrixXd randomMatrix(int r, int c, core::Rng& rng, double scale = 1.0) {
    MatrixXd m(r, c);
    for (int j = 0; j < c; ++j)
        for (int i = 0; i < r; ++i) m(i, j) = scale * rng.normal();
    return m;
}

// central-difference gradient of f at x
inline VectorXd numericGradient(const std::function<double(const VectorXd&)>& f, const VectorXd& x, double h = 1e-6) {
    VectorXd g(x.size());
    VectorXd xp = x;
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        const double xi = x(i);
        xp(i) = xi + h;
        const double fp = f(xp);
        xp(i) = xi - h;
        const double fm = f(xp);
        xp(i) = xi;
        g(i) = (fp - fm) / (2 * h);
    }
    return g;
}

inline double relError(const VectorXd& a, const VectorXd& b) {
    const double d = (a - b).norm();
    const double s = std::max(a.norm(), b.norm());
    return s == 0 ? d : d / s;
}

inline std::string sourceDir() { return TRPO_TEST_SOURCE_DIR; }

// an iteration's statistics without the measured fields (wall time, phase seconds, steps/s):
// what two runs that should be bit-identical must agree on
inline std::string statsWithoutTiming(const core::IterationStats& s) { return core::statsToJson(s, false).dump(); }
// the trainer's next `iterations` iterations, each as statsWithoutTiming (a template, so that
// this header needs no core/trainer.h)
template <typename Trainer>
std::vector<std::string> iterateRows(Trainer& t, int iterations) {
    std::vector<std::string> rows;
    for (int i = 0; i < iterations; ++i) rows.push_back(statsWithoutTiming(t.iterate()));
    return rows;
}

} // namespace testutil
