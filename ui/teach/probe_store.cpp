#include "ui/teach/probe_store.h"

namespace ui {

void ProbeStore::add(const ProbePtr& p) {
    if (!p) return;
    m_probes[p->iteration] = p;
    m_dropped.erase(p->iteration);
    while (m_probes.size() > m_capacity) {
        m_dropped.insert(m_probes.begin()->first);
        m_probes.erase(m_probes.begin());
    }
}

ProbePtr ProbeStore::find(int iteration) const {
    auto it = m_probes.find(iteration);
    return it == m_probes.end() ? nullptr : it->second;
}

ProbePtr ProbeStore::latest() const { return m_probes.empty() ? nullptr : m_probes.rbegin()->second; }

void ProbeStore::clear() {
    m_probes.clear();
    m_dropped.clear();
}

} // namespace ui
