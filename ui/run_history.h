// RunHistory: the one owner of the current run's iteration history. Every iteration the UI
// hears of and every hyperparameter change (config event) is held here once; the plots, the
// status bar and the exports read it and follow its signals instead of keeping copies.
//
// Memory stays bounded over a long session: the last kRecordsInMemory full records are held
// in memory, older ones are moved to a temporary file (one JSON line each, exact) and read
// back on demand (a hover, an export, a save). Iteration numbers and environment steps of
// every iteration stay in memory (12 bytes each). Nothing is dropped.
//
// Each iteration's best, median and worst episode (core::IterationEpisodes: reset seed and
// actions, for a replay) follow the same rule: those of the last kRecordsInMemory iterations
// stay in memory as long as their actions take at most kEpisodeBytesInMemory (a BipedalWalker
// iteration's three episodes hold up to 150 kB), older ones move to a second temporary file,
// as raw bytes (exact, and cheap enough to write every iteration at the max pace).
#pragma once

#include <QObject>
#include <QString>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ui/metatypes.h"

class QTemporaryFile;

namespace ui {

class RunHistory : public QObject {
    Q_OBJECT
public:
    explicit RunHistory(QObject* parent = nullptr);
    ~RunHistory() override;

    // full records held in memory; older ones are read back from the spill file
    static constexpr std::size_t kRecordsInMemory = 1000;

    // every record, in order (a copy: older records are read back from the spill file)
    std::vector<core::IterationStats> iterations() const;
    // the record at index i (0-based, in order); index < size()
    core::IterationStats record(std::size_t i) const;
    // the record at index i if it is held in memory, else null (then use record(i))
    const core::IterationStats* inMemory(std::size_t i) const;
    // the latest record; the history is not empty
    const core::IterationStats& last() const { return m_recent.back(); }
    // iteration numbers and environment steps of every record, in order
    const std::vector<int>& iterationNumbers() const { return m_numbers; }
    const std::vector<std::int64_t>& envStepsColumn() const { return m_steps; }
    // changes whenever the records are replaced (clear, load), not when one is appended:
    // readers that cache values per record start over when it changes
    std::uint64_t generation() const { return m_generation; }
    // records held in memory (for the soak test and the tests)
    std::size_t recordsInMemory() const { return m_recent.size(); }

    // ---- episodes kept for replay -------------------------------------------------------
    static constexpr std::size_t kEpisodeBytesInMemory = std::size_t{1} << 20;
    // an iteration's episodes (the worker's, or an opened run's); nothing for an empty one
    void appendEpisodes(const core::IterationEpisodes& e);
    // the episodes of an iteration, read back from the spill file when they were moved
    // there; nullopt when none were kept (no episode finished in it, or a run saved before
    // episodes were recorded) or they could not be read back
    std::optional<core::IterationEpisodes> episodes(int iteration) const;
    bool hasEpisodes(int iteration) const;
    // every iteration's episodes in order (for a save; a copy)
    std::vector<core::IterationEpisodes> allEpisodes() const;
    std::size_t episodesInMemory() const { return m_recentEpisodes.size(); }
    std::size_t episodeBytesInMemory() const { return m_episodeBytes; }
    // the byte bound (kEpisodeBytesInMemory; tests set a smaller one)
    void setEpisodeByteBound(std::size_t bytes) { m_episodeByteBound = bytes; }

    const std::vector<core::ConfigEvent>& configEvents() const { return m_events; }
    int size() const { return static_cast<int>(m_numbers.size()); }
    bool isEmpty() const { return m_numbers.empty(); }
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
              std::vector<std::pair<int, int>> rolledBack = {}, std::vector<core::IterationEpisodes> episodes = {});

signals:
    void iterationAppended(const core::IterationStats& s);
    void episodesAppended(int iteration);
    void configEventsAppended(const std::vector<core::ConfigEvent>& events);
    void rolledBackChanged(int first, int last);
    void reset();
    void loaded();

private:
    void resetRecords();
    void push(const core::IterationStats& s);
    void spillOldest(); // moves records beyond kRecordsInMemory to the spill file
    void spillOldestEpisodes(); // the same for the episodes (and kEpisodeBytesInMemory)

    std::vector<int> m_numbers;
    std::vector<std::int64_t> m_steps;
    std::deque<core::IterationStats> m_recent; // records m_spilled .. size()-1
    std::size_t m_spilled = 0;                 // records in the spill file
    std::unique_ptr<QTemporaryFile> m_spill;   // null until needed, or when it could not be made
    std::vector<std::int64_t> m_spillOffsets;  // where each spilled record's line starts
    bool m_spillFailed = false;                // then every record stays in memory
    std::uint64_t m_generation = 0;
    std::deque<core::IterationEpisodes> m_recentEpisodes;   // in iteration order
    std::size_t m_episodeBytes = 0;                         // their actions' bytes
    std::size_t m_episodeByteBound = kEpisodeBytesInMemory;
    std::map<int, std::int64_t> m_episodeOffsets;           // iteration -> line in m_episodeSpill
    std::unique_ptr<QTemporaryFile> m_episodeSpill;
    bool m_episodeSpillFailed = false;
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
