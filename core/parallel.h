// A fixed-partition parallel loop. The work is always cut into the same tasks whatever the
// thread count, and each task writes only its own outputs, so results are bit-identical
// with 1 or many threads; combining per-task results is left to the caller, in task order.
#pragma once

#include <algorithm>
#include <thread>
#include <vector>

namespace core {

namespace detail {
// Runs call(ctx, k) for every k in [0, tasks) on the calling thread plus threads-1 workers
// of one process-wide pool kept alive between calls (an update makes ~20 parallel calls
// of well under a millisecond each, so starting threads per call would cost more than the
// work). Whichever thread is free claims the next task, so a thread the OS preempts (say,
// for the studio's UI) does not hold the others up. Returns false without running anything when
// the pool is busy with another caller; the caller then falls back to its own threads.
bool runOnPool(int tasks, int threads, void (*call)(void*, int), void* ctx);
} // namespace detail

// runs fn(k) for every k in [0, tasks) using up to `threads` threads (the calling thread
// included); which thread runs which task is not fixed, so fn(k) must write only task k's outputs
template <typename Fn>
void parallelFor(int tasks, int threads, Fn&& fn) {
    const int t = std::clamp(threads, 1, std::max(1, tasks));
    if (t == 1) {
        for (int k = 0; k < tasks; ++k) fn(k);
        return;
    }
    using F = std::remove_reference_t<Fn>;
    auto call = [](void* ctx, int k) { (*static_cast<F*>(ctx))(k); };
    if (detail::runOnPool(tasks, t, call, const_cast<void*>(static_cast<const void*>(&fn)))) return;
    std::vector<std::thread> pool;
    pool.reserve(t - 1);
    for (int w = 1; w < t; ++w)
        pool.emplace_back([&, w] {
            for (int k = w; k < tasks; k += t) fn(k);
        });
    for (int k = 0; k < tasks; k += t) fn(k);
    for (auto& th : pool) th.join();
}

// contiguous shards of n items: shard count depends on n only (never on threads)
struct Shards {
    std::vector<int> begin, size;
    explicit Shards(int n, int itemsPerShard = 512, int maxShards = 8) {
        const int s = std::clamp(n / std::max(1, itemsPerShard), 1, maxShards);
        int at = 0;
        for (int k = 0; k < s; ++k) {
            const int len = n / s + (k < n % s ? 1 : 0);
            begin.push_back(at);
            size.push_back(len);
            at += len;
        }
    }
    int count() const { return static_cast<int>(begin.size()); }
};

} // namespace core
