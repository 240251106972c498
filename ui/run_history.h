// RunHistory: the one owner of the current run's iteration history. Every iteration the UI
// hears of and every hyperparameter change (config event) is held here once; the plots, the
// status bar and the exports read it and follow its signals instead of keeping copies.
#pragma once

#include <QObject>
#include <QString>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ui/metatypes.h"

namespace ui {

class RunHistory : public QObject {
    Q_OBJECT
public:
    explicit RunHistory(QObject* parent = nullptr);

    const std::vector<core::IterationStats>& iterations() const { return m_iterations; }
    const std::vector<core::ConfigEvent>& configEvents() const { return m_events; }
    int size() const { return static_cast<int>(m_iterations.size()); }
    bool isEmpty() const { return m_iterations.empty(); }
    // the last iteration's number and environment steps (a loaded run's, before any)
    int iteration() const { return m_iteration; }
    std::int64_t envSteps() const { return m_envSteps; }
    // environment steps taken before `iteration` began (0 for the first)
    std::int64_t envStepsBefore(int iteration) const;
    // the run's configuration when it was reset or opened (its env and its δ then)
    const core::TrpoConfig& config() const { return m_config; }
    // the saved run it was opened from; empty for a run started here
    QString source() const { return m_source; }

    // Iterations a rollback undid (core::Trainer::rollBack): they stay in the history and the
    // plots draw them greyed. Ranges of iteration numbers, both ends included.
    void markRolledBack(int first, int last);
    bool isRolledBack(int iteration) const;
    const std::vector<std::pair<int, int>>& rolledBack() const { return m_rolledBack; }

    // Where a hyperparameter change came from, when not from the hyperparameter panel: the
    // next config event for key with value `to` gets `note` (say "what-if"), and the plots'
    // markers show it. An expectation no event meets is dropped with the run.
    void expectChange(const std::string& key, const std::string& to, const QString& note);
    // the note of an event of this run ("" when it has none)
    QString eventNote(const core::ConfigEvent& e) const;

    // a new run with cfg: everything goes; reset() follows
    void clear(const core::TrpoConfig& cfg);
    void append(const core::IterationStats& s);
    void appendConfigEvents(const std::vector<core::ConfigEvent>& events);
    // an opened run's history, taken over whole; loaded() follows
    void load(std::vector<core::IterationStats> iterations, std::vector<core::ConfigEvent> events,
              const core::TrpoConfig& cfg, int iteration, std::int64_t envSteps, const QString& source,
              std::vector<std::pair<int, int>> rolledBack = {});

signals:
    void iterationAppended(const core::IterationStats& s);
    void configEventsAppended(const std::vector<core::ConfigEvent>& events);
    void rolledBackChanged(int first, int last);
    void reset();
    void loaded();

private:
    std::vector<core::IterationStats> m_iterations;
    std::vector<core::ConfigEvent> m_events;
    std::vector<QString> m_eventNotes; // one per event
    struct Expected {
        std::string key, to;
        QString note;
    };
    std::vector<Expected> m_expected;
    std::vector<std::pair<int, int>> m_rolledBack;
    core::TrpoConfig m_config;
    QString m_source;
    int m_iteration = 0;
    std::int64_t m_envSteps = 0;
};

} // namespace ui
