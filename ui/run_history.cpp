#include "ui/run_history.h"

#include <algorithm>

namespace ui {

RunHistory::RunHistory(QObject* parent) : QObject(parent) { registerMetaTypes(); }

std::int64_t RunHistory::envStepsBefore(int iteration) const {
    // iterations are numbered from 1 and stored in order; a loaded run may not start at 1
    auto it = std::lower_bound(m_iterations.begin(), m_iterations.end(), iteration,
                               [](const core::IterationStats& s, int i) { return s.iteration < i; });
    return it == m_iterations.begin() ? 0 : std::prev(it)->envSteps;
}

void RunHistory::clear(const core::TrpoConfig& cfg) {
    m_iterations.clear();
    m_events.clear();
    m_config = cfg;
    m_source.clear();
    m_iteration = 0;
    m_envSteps = 0;
    emit reset();
}

void RunHistory::append(const core::IterationStats& s) {
    m_iterations.push_back(s);
    m_iteration = s.iteration;
    m_envSteps = s.envSteps;
    emit iterationAppended(m_iterations.back());
}

void RunHistory::appendConfigEvents(const std::vector<core::ConfigEvent>& events) {
    if (events.empty()) return;
    m_events.insert(m_events.end(), events.begin(), events.end());
    emit configEventsAppended(events);
}

void RunHistory::load(std::vector<core::IterationStats> iterations, std::vector<core::ConfigEvent> events,
                      const core::TrpoConfig& cfg, int iteration, std::int64_t envSteps, const QString& source) {
    m_iterations = std::move(iterations);
    m_events = std::move(events);
    m_config = cfg;
    m_source = source;
    m_iteration = iteration;
    m_envSteps = envSteps;
    emit loaded();
}

} // namespace ui
