#include "ui/plot_display.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ui {

void buildDisplay(const std::vector<double>& xs, std::vector<double> y, double smoothing, bool dropNaN, int maxPoints,
                  QVector<QCPGraphData>& out) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    out.clear();
    const size_t n = std::min(xs.size(), y.size());
    y.resize(n);
    if (smoothing > 0) {
        // debiased exponential moving average (TensorBoard's smoothing)
        double ema = 0, wk = 1;
        for (double& v : y) {
            if (!std::isfinite(v)) continue;
            ema = smoothing * ema + (1 - smoothing) * v;
            wk *= smoothing;
            v = ema / (1 - wk);
        }
    }
    if (n <= static_cast<size_t>(maxPoints)) {
        out.reserve(static_cast<int>(n));
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(y[i]) && dropNaN) continue;
            out.push_back({xs[i], std::isfinite(y[i]) ? y[i] : kNaN});
        }
        return;
    }
    // min/max decimation: two points per bucket keep the envelope of the full data
    const size_t buckets = static_cast<size_t>(maxPoints) / 2;
    const size_t per = (n + buckets - 1) / buckets;
    out.reserve(static_cast<int>(2 * buckets + 2));
    for (size_t start = 0; start < n; start += per) {
        const size_t end = std::min(n, start + per);
        size_t lo = n, hi = n;
        for (size_t i = start; i < end; ++i) {
            if (!std::isfinite(y[i])) continue;
            if (lo == n || y[i] < y[lo]) lo = i;
            if (hi == n || y[i] > y[hi]) hi = i;
        }
        if (lo == n) {
            if (!dropNaN) out.push_back({xs[start], kNaN});
            continue;
        }
        const size_t a = std::min(lo, hi), b = std::max(lo, hi);
        out.push_back({xs[a], y[a]});
        if (b != a) out.push_back({xs[b], y[b]});
    }
}

} // namespace ui
