#include "core/parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace core::detail {

namespace {

// How long a thread polls before it sleeps: a worker expects the next call within
// microseconds during an update (CG, critic minibatches), and sleeping and waking again
// costs ~10 us each time. Short enough not to steal a core between iterations.
constexpr auto kSpin = std::chrono::microseconds(50);

template <typename Pred>
bool spinUntil(Pred done) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; ++i) {
        if (done()) return true;
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
    }
}

class Pool {
public:
    Pool() {
        const int n = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
        for (int w = 1; w <= n; ++w) m_threads.emplace_back([this, w] { work(w); });
    }
    ~Pool() {
        {
            std::lock_guard<std::mutex> lk(m_mu);
            m_stop = true;
        }
        m_wake.notify_all();
        for (auto& t : m_threads) t.join();
    }

    bool run(int tasks, int threads, void (*call)(void*, int), void* ctx) {
        bool idle = false;
        if (!m_busy.compare_exchange_strong(idle, true, std::memory_order_acquire)) return false;
        const int stride = std::min(threads, static_cast<int>(m_threads.size()) + 1);
        {
            std::lock_guard<std::mutex> lk(m_mu);
            m_call = call;
            m_ctx = ctx;
            m_tasks = tasks;
            m_stride = stride;
            m_pending.store(stride - 1, std::memory_order_relaxed);
            m_next.store(0, std::memory_order_relaxed);
            m_generation.fetch_add(1, std::memory_order_release);
        }
        m_wake.notify_all();
        for (int k; (k = m_next.fetch_add(1, std::memory_order_relaxed)) < tasks;) call(ctx, k);
        if (!spinUntil([this] { return m_pending.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lk(m_mu);
            m_done.wait(lk, [this] { return m_pending.load(std::memory_order_acquire) == 0; });
        }
        m_busy.store(false, std::memory_order_release);
        return true;
    }

private:
    void work(int w) {
        std::uint64_t seen = 0;
        for (;;) {
            auto fresh = [&] { return m_generation.load(std::memory_order_acquire) != seen; };
            if (!spinUntil(fresh)) {
                std::unique_lock<std::mutex> lk(m_mu);
                m_wake.wait(lk, [&] { return m_stop || fresh(); });
                if (m_stop) return;
            }
            void (*call)(void*, int);
            void* ctx;
            int tasks, stride;
            {
                std::lock_guard<std::mutex> lk(m_mu); // the job's fields were written under it
                seen = m_generation.load(std::memory_order_relaxed);
                call = m_call;
                ctx = m_ctx;
                tasks = m_tasks;
                stride = m_stride;
            }
            if (w >= stride) continue; // this call needs fewer threads
            for (int k; (k = m_next.fetch_add(1, std::memory_order_relaxed)) < tasks;) call(ctx, k);
            if (m_pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lk(m_mu);
                m_done.notify_one();
            }
        }
    }

    std::atomic<bool> m_busy{false};
    std::atomic<std::uint64_t> m_generation{0};
    std::atomic<int> m_pending{0};
    std::atomic<int> m_next{0}; // next unclaimed task: whoever is free takes it
    std::mutex m_mu;
    std::condition_variable m_wake, m_done;
    bool m_stop = false;
    void (*m_call)(void*, int) = nullptr;
    void* m_ctx = nullptr;
    int m_tasks = 0, m_stride = 1;
    std::vector<std::thread> m_threads;
};

} // namespace

bool runOnPool(int tasks, int threads, void (*call)(void*, int), void* ctx) {
    static Pool pool;
    return pool.run(tasks, threads, call, ctx);
}

} // namespace core::detail
