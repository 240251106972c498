// ProbeStore: the trust-region probes the UI has received, by iteration, so that a click on
// an earlier iteration can show its probe. Bounded: it keeps the newest `capacity` probes and
// remembers which iterations it had to drop, so the inspector can say so instead of claiming
// they were never inspected. Lives on the UI thread; the probes themselves are immutable.
#pragma once

#include <cstddef>
#include <map>
#include <set>

#include "ui/metatypes.h"

namespace ui {

class ProbeStore {
public:
    explicit ProbeStore(std::size_t capacity = 2000) : m_capacity(capacity < 1 ? 1 : capacity) {}

    // keeps p (a probe of the same iteration is replaced); drops the oldest beyond capacity
    void add(const ProbePtr& p);
    // the probe of iteration, or null
    ProbePtr find(int iteration) const;
    // the newest probe, or null
    ProbePtr latest() const;
    // iteration had a probe here that was dropped for room
    bool wasDropped(int iteration) const { return m_dropped.count(iteration) > 0; }
    void clear();

    std::size_t size() const { return m_probes.size(); }
    std::size_t capacity() const { return m_capacity; }

private:
    std::size_t m_capacity;
    std::map<int, ProbePtr> m_probes;
    std::set<int> m_dropped;
};

} // namespace ui
