#include "core/parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace core::detail {

namespace {

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
            m_pending = stride - 1;
            ++m_generation;
        }
        m_wake.notify_all();
        for (int k = 0; k < tasks; k += stride) call(ctx, k);
        {
            std::unique_lock<std::mutex> lk(m_mu);
            m_done.wait(lk, [this] { return m_pending == 0; });
        }
        m_busy.store(false, std::memory_order_release);
        return true;
    }

private:
    void work(int w) {
        std::uint64_t seen = 0;
        std::unique_lock<std::mutex> lk(m_mu);
        for (;;) {
            m_wake.wait(lk, [&] { return m_stop || m_generation != seen; });
            if (m_stop) return;
            seen = m_generation;
            if (w >= m_stride) continue; // this call needs fewer threads
            auto* call = m_call;
            void* ctx = m_ctx;
            const int tasks = m_tasks, stride = m_stride;
            lk.unlock();
            for (int k = w; k < tasks; k += stride) call(ctx, k);
            lk.lock();
            if (--m_pending == 0) m_done.notify_one();
        }
    }

    std::atomic<bool> m_busy{false};
    std::mutex m_mu;
    std::condition_variable m_wake, m_done;
    bool m_stop = false;
    std::uint64_t m_generation = 0;
    void (*m_call)(void*, int) = nullptr;
    void* m_ctx = nullptr;
    int m_tasks = 0, m_stride = 1, m_pending = 0;
    std::vector<std::thread> m_threads;
};

} // namespace

bool runOnPool(int tasks, int threads, void (*call)(void*, int), void* ctx) {
    static Pool pool;
    return pool.run(tasks, threads, call, ctx);
}

} // namespace core::detail
