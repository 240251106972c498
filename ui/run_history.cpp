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
    m_eventNotes.clear();
    m_expected.clear();
    m_rolledBack.clear();
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
    for (const core::ConfigEvent& e : events) {
        m_events.push_back(e);
        QString note;
        auto it = std::find_if(m_expected.begin(), m_expected.end(),
                               [&](const Expected& x) { return x.key == e.key && x.to == e.to; });
        if (it != m_expected.end()) {
            note = it->note;
            m_expected.erase(it);
        }
        m_eventNotes.push_back(note);
    }
    emit configEventsAppended(events);
}

void RunHistory::load(std::vector<core::IterationStats> iterations, std::vector<core::ConfigEvent> events,
                      const core::TrpoConfig& cfg, int iteration, std::int64_t envSteps, const QString& source,
                      std::vector<std::pair<int, int>> rolledBack) {
    m_iterations = std::move(iterations);
    m_events = std::move(events);
    m_eventNotes.assign(m_events.size(), QString());
    m_expected.clear();
    m_rolledBack = std::move(rolledBack);
    m_config = cfg;
    m_source = source;
    m_iteration = iteration;
    m_envSteps = envSteps;
    emit loaded();
}

void RunHistory::markRolledBack(int first, int last) {
    if (last < first) return;
    m_rolledBack.emplace_back(first, last);
    emit rolledBackChanged(first, last);
}

bool RunHistory::isRolledBack(int iteration) const {
    return std::any_of(m_rolledBack.begin(), m_rolledBack.end(),
                       [iteration](const std::pair<int, int>& r) { return iteration >= r.first && iteration <= r.second; });
}

void RunHistory::expectChange(const std::string& key, const std::string& to, const QString& note) {
    m_expected.push_back({key, to, note});
}

QString RunHistory::eventNote(const core::ConfigEvent& e) const {
    for (size_t i = m_events.size(); i-- > 0;)
        if (m_events[i] == e) return i < m_eventNotes.size() ? m_eventNotes[i] : QString();
    return {};
}

} // namespace ui
