// HandOff: the values that cross between the UI thread and a worker thread, as closures in a
// first-in first-out queue guarded by a std::mutex. The sending thread pushes a closure that
// holds its values (copies made on the sender, under the lock) and then wakes the receiving
// thread with a queued signal that carries no arguments; the receiver pops and runs the
// closures in order, on its own thread. Every value is thus published and read under one
// std::mutex, an order that ThreadSanitizer sees (a queued signal's copied arguments are
// ordered only by Qt's internal lock). See README, "ThreadSanitizer".
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace ui {

template <typename... Args>
class HandOff {
public:
    using Item = std::function<void(Args...)>;

    HandOff() = default;
    HandOff(const HandOff&) = delete;
    HandOff& operator=(const HandOff&) = delete;
    // The closures still queued are dropped under the lock: the sender's last push is
    // ordered before the owner's destruction by the join of the sender's thread
    // (QThread::wait), but that join goes through Qt's futex-based QMutex, which
    // ThreadSanitizer does not see (README, "ThreadSanitizer"); taking the lock the push
    // released makes the order visible to it.
    ~HandOff() { clear(); }

    void push(Item item) {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_items.push_back(std::move(item));
    }

    // runs the queued closures, oldest first, one at a time (the lock is not held while one
    // runs); a closure pushed meanwhile, or while one of them runs, is run in its turn. A
    // nested drain (a closure that drains again) keeps the order.
    void drain(Args... args) {
        for (;;) {
            Item item;
            {
                const std::lock_guard<std::mutex> lock(m_mutex);
                if (m_items.empty()) return;
                item = std::move(m_items.front());
                m_items.pop_front();
            }
            item(args...);
        }
    }

    // drops what is queued (the receiver is going away)
    void clear() {
        std::deque<Item> dropped;
        {
            const std::lock_guard<std::mutex> lock(m_mutex);
            dropped.swap(m_items);
        }
    }

private:
    std::mutex m_mutex;
    std::deque<Item> m_items;
};

} // namespace ui
