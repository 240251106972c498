#include "ui/run_history.h"

#include <QDir>
#include <QTemporaryFile>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/stats.h"

namespace ui {

RunHistory::RunHistory(QObject* parent) : QObject(parent) { registerMetaTypes(); }

RunHistory::~RunHistory() = default;

std::vector<core::IterationStats> RunHistory::iterations() const {
    std::vector<core::IterationStats> all;
    all.reserve(m_numbers.size());
    for (std::size_t i = 0; i < m_spilled; ++i) all.push_back(record(i));
    all.insert(all.end(), m_recent.begin(), m_recent.end());
    return all;
}

const core::IterationStats* RunHistory::inMemory(std::size_t i) const {
    return i >= m_spilled && i - m_spilled < m_recent.size() ? &m_recent[i - m_spilled] : nullptr;
}

core::IterationStats RunHistory::record(std::size_t i) const {
    if (const core::IterationStats* s = inMemory(i)) return *s;
    if (i >= m_spilled || !m_spill) throw std::out_of_range("RunHistory::record: no record " + std::to_string(i));
    QByteArray line;
    if (m_spill->seek(m_spillOffsets[i])) line = m_spill->readLine();
    try {
        return core::statsFromJson(nlohmann::json::parse(line.toStdString()));
    } catch (const std::exception& e) {
        throw std::runtime_error(QObject::tr("iteration %1's record could not be read back from %2: %3")
                                     .arg(m_numbers[i])
                                     .arg(m_spill->fileName(), QString::fromStdString(e.what()))
                                     .toStdString());
    }
}

std::int64_t RunHistory::envStepsBefore(int iteration) const {
    // iterations are numbered from 1 and stored in order; a loaded run may not start at 1
    auto it = std::lower_bound(m_numbers.begin(), m_numbers.end(), iteration);
    return it == m_numbers.begin() ? 0 : m_steps[static_cast<std::size_t>(std::prev(it) - m_numbers.begin())];
}

void RunHistory::resetRecords() {
    m_numbers.clear();
    m_steps.clear();
    m_recent.clear();
    m_spilled = 0;
    m_spillOffsets.clear();
    m_spillFailed = false;
    if (m_spill) m_spill->resize(0);
    m_recentEpisodes.clear();
    m_episodeBytes = 0;
    m_episodeOffsets.clear();
    m_episodeSpillFailed = false;
    if (m_episodeSpill) m_episodeSpill->resize(0);
    ++m_generation;
}

void RunHistory::push(const core::IterationStats& s) {
    m_numbers.push_back(s.iteration);
    m_steps.push_back(s.envSteps);
    m_recent.push_back(s);
    spillOldest();
}

void RunHistory::spillOldest() {
    if (m_recent.size() <= kRecordsInMemory || m_spillFailed) return;
    if (!m_spill) {
        auto f = std::make_unique<QTemporaryFile>(QDir::temp().filePath("trpo-studio-history-XXXXXX.jsonl"));
        if (!f->open()) {
            // no temporary file: the records stay in memory (nothing is lost)
            m_spillFailed = true;
            return;
        }
        m_spill = std::move(f);
    }
    while (m_recent.size() > kRecordsInMemory) {
        const std::string line = core::statsToJson(m_recent.front()).dump() + "\n";
        const qint64 at = m_spill->size();
        if (!m_spill->seek(at) || m_spill->write(line.data(), static_cast<qint64>(line.size())) != static_cast<qint64>(line.size())) {
            // the disk is full: stop spilling; what was written stays readable
            m_spill->resize(at);
            m_spillFailed = true;
            return;
        }
        m_spillOffsets.push_back(at);
        m_recent.pop_front();
        ++m_spilled;
    }
}

void RunHistory::clear(const core::TrpoConfig& cfg) {
    resetRecords();
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
    push(s);
    m_iteration = s.iteration;
    m_envSteps = s.envSteps;
    emit iterationAppended(m_recent.back());
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
                      std::vector<std::pair<int, int>> rolledBack, std::vector<core::IterationEpisodes> episodes) {
    resetRecords();
    m_numbers.reserve(iterations.size());
    m_steps.reserve(iterations.size());
    for (const core::IterationStats& s : iterations) push(s);
    iterations.clear();
    for (core::IterationEpisodes& e : episodes)
        if (!e.empty()) {
            m_episodeBytes += e.actionBytes();
            m_recentEpisodes.push_back(std::move(e));
            spillOldestEpisodes();
        }
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

namespace ui {

namespace {

// The episode spill file is this process's own scratch space (a temporary file, never read
// by anything else), so its records are raw bytes rather than JSON: at the max pace a record
// is written every iteration, and formatting thousands of actions as text took a fifth of the
// UI thread's time. A record: which of best/median/worst are present (one byte), then for each
// present one its seed, action size, length, return, action count and the actions.
QByteArray spilledEpisodes(const core::IterationEpisodes& e) {
    QByteArray out;
    auto put = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    const std::uint8_t present = (e.best ? 1 : 0) | (e.median ? 2 : 0) | (e.worst ? 4 : 0);
    put(present);
    for (const auto* r : {&e.best, &e.median, &e.worst}) {
        if (!*r) continue;
        const core::EpisodeRecord& x = **r;
        put(x.seed);
        put(x.actionDim);
        put(x.length);
        put(x.ret);
        const std::uint64_t count = x.actions.size();
        put(count);
        out.append(reinterpret_cast<const char*>(x.actions.data()), static_cast<qsizetype>(count * sizeof(double)));
    }
    return out;
}

// reads back the record spilledEpisodes() wrote at the file's position; nullopt when the file
// ends early (it was truncated underneath us)
std::optional<core::IterationEpisodes> unspilledEpisodes(QIODevice& f, int iteration) {
    auto get = [&f](auto& v) { return f.read(reinterpret_cast<char*>(&v), sizeof v) == static_cast<qint64>(sizeof v); };
    core::IterationEpisodes e;
    e.iteration = iteration;
    std::uint8_t present = 0;
    if (!get(present)) return std::nullopt;
    int bit = 1;
    for (auto* r : {&e.best, &e.median, &e.worst}) {
        const bool here = (present & bit) != 0;
        bit <<= 1;
        if (!here) continue;
        core::EpisodeRecord x;
        std::uint64_t count = 0;
        if (!get(x.seed) || !get(x.actionDim) || !get(x.length) || !get(x.ret) || !get(count)) return std::nullopt;
        if (count > static_cast<std::uint64_t>(f.size())) return std::nullopt;
        x.actions.resize(count);
        const qint64 bytes = static_cast<qint64>(count * sizeof(double));
        if (f.read(reinterpret_cast<char*>(x.actions.data()), bytes) != bytes) return std::nullopt;
        *r = std::move(x);
    }
    return e;
}

} // namespace

void RunHistory::appendEpisodes(const core::IterationEpisodes& e) {
    if (e.empty()) return;
    m_episodeBytes += e.actionBytes();
    m_recentEpisodes.push_back(e);
    spillOldestEpisodes();
    emit episodesAppended(e.iteration);
}

void RunHistory::spillOldestEpisodes() {
    auto tooMany = [this] {
        // the newest iteration's episodes always stay, whatever their size
        return m_recentEpisodes.size() > 1 &&
               (m_recentEpisodes.size() > kRecordsInMemory || m_episodeBytes > m_episodeByteBound);
    };
    if (!tooMany() || m_episodeSpillFailed) return;
    if (!m_episodeSpill) {
        auto f = std::make_unique<QTemporaryFile>(QDir::temp().filePath("trpo-studio-episodes-XXXXXX.bin"));
        if (!f->open()) {
            // no temporary file: the episodes stay in memory (nothing is lost)
            m_episodeSpillFailed = true;
            return;
        }
        m_episodeSpill = std::move(f);
    }
    while (tooMany()) {
        const core::IterationEpisodes& e = m_recentEpisodes.front();
        const QByteArray bytes = spilledEpisodes(e);
        const qint64 at = m_episodeSpill->size();
        if (!m_episodeSpill->seek(at) || m_episodeSpill->write(bytes) != bytes.size()) {
            m_episodeSpill->resize(at);
            m_episodeSpillFailed = true;
            return;
        }
        m_episodeOffsets[e.iteration] = at;
        m_episodeBytes -= e.actionBytes();
        m_recentEpisodes.pop_front();
    }
}

std::optional<core::IterationEpisodes> RunHistory::episodes(int iteration) const {
    // the latest record of an iteration wins (the deque is in iteration order)
    for (auto it = m_recentEpisodes.rbegin(); it != m_recentEpisodes.rend(); ++it)
        if (it->iteration == iteration) return *it;
    const auto at = m_episodeOffsets.find(iteration);
    if (at == m_episodeOffsets.end() || !m_episodeSpill || !m_episodeSpill->seek(at->second)) return std::nullopt;
    return unspilledEpisodes(*m_episodeSpill, at->first);
}

bool RunHistory::hasEpisodes(int iteration) const {
    if (m_episodeOffsets.count(iteration)) return true;
    return std::any_of(m_recentEpisodes.begin(), m_recentEpisodes.end(),
                       [iteration](const core::IterationEpisodes& e) { return e.iteration == iteration; });
}

std::vector<core::IterationEpisodes> RunHistory::allEpisodes() const {
    std::vector<core::IterationEpisodes> out;
    out.reserve(m_episodeOffsets.size() + m_recentEpisodes.size());
    for (const auto& [iteration, offset] : m_episodeOffsets)
        if (std::optional<core::IterationEpisodes> e = episodes(iteration)) out.push_back(std::move(*e));
    out.insert(out.end(), m_recentEpisodes.begin(), m_recentEpisodes.end());
    return out;
}

} // namespace ui
