#include "run/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/serialization.h"

namespace run {

namespace fs = std::filesystem;
using core::ConfigError;
using core::FileError;
using json = nlohmann::json;

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> splitOn(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t at = 0;
    while (true) {
        const size_t next = s.find(sep, at);
        out.push_back(trim(s.substr(at, next == std::string::npos ? std::string::npos : next - at)));
        if (next == std::string::npos) return out;
        at = next + 1;
    }
}

std::string safeName(std::string s) {
    for (char& c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
    return s;
}

// the value as the configuration reads it: a list setting's entries may be given with ':'
// ("hidden=32:32,64:64", "conv_layers=16x8/4:32x4/2,32x8/4:64x4/2"), since ',' separates the values
std::string configText(const core::ConfigField& f, std::string value) {
    if (f.type == "int-list" || f.key == "conv_layers") std::replace(value.begin(), value.end(), ':', ',');
    return value;
}

} // namespace

SweepAxis parseSweepAxis(const std::string& text, const core::TrpoConfig& base) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || trim(text.substr(0, eq)).empty())
        throw ConfigError("--sweep: expected KEY=V1,V2,... such as delta=0.001,0.003,0.01 (got '" + text + "')");
    SweepAxis a;
    a.key = trim(text.substr(0, eq));
    std::replace(a.key.begin(), a.key.end(), '-', '_');
    const core::ConfigField* f = core::findConfigField(a.key);
    if (!f) throw ConfigError("--sweep: unknown setting '" + a.key + "' (see trpo-train --help for the settings)");
    if (a.key == "seed") throw ConfigError("--sweep: give the seeds with --seeds (such as --seeds 1-5), not --sweep seed=");
    if (a.key == "env") throw ConfigError("--sweep: a sweep trains one environment (--env); sweep its settings");
    if (a.key == "threads")
        throw ConfigError("--sweep: threads does not change results; --threads N is the sweep's thread budget");
    a.values = splitOn(text.substr(eq + 1), ',');
    checkSettingValues("--sweep", a.key, a.values, text, base, [f](const std::string& value) { return configText(*f, value); });
    return a;
}

std::vector<std::uint64_t> parseSeeds(const std::string& text) {
    auto number = [&](const std::string& s) -> std::uint64_t {
        if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos)
            throw ConfigError("--seeds: '" + s + "' is not a seed (a whole number >= 0) in '" + text +
                              "'; give a range such as 1-5 or a list such as 1,3,7");
        return std::stoull(s);
    };
    std::vector<std::uint64_t> seeds;
    for (const std::string& part : splitOn(text, ',')) {
        const auto dash = part.find('-');
        std::uint64_t from = 0, to = 0;
        if (dash == std::string::npos) {
            from = to = number(part);
        } else {
            from = number(trim(part.substr(0, dash)));
            to = number(trim(part.substr(dash + 1)));
            if (to < from) throw ConfigError("--seeds: the range '" + part + "' runs backwards");
        }
        if (to - from >= static_cast<std::uint64_t>(kMaxSweepCells))
            throw ConfigError("--seeds: the range '" + part + "' has more than " + std::to_string(kMaxSweepCells) +
                              " seeds");
        for (std::uint64_t s = from; s <= to; ++s) {
            if (std::find(seeds.begin(), seeds.end(), s) != seeds.end())
                throw ConfigError("--seeds: seed " + std::to_string(s) + " is given twice in '" + text + "'");
            seeds.push_back(s);
            if (seeds.size() > static_cast<size_t>(kMaxSweepCells))
                throw ConfigError("--seeds: more than " + std::to_string(kMaxSweepCells) + " seeds");
        }
    }
    return seeds;
}

const char* cellStatusName(CellStatus s) {
    switch (s) {
        case CellStatus::Pending: return "pending";
        case CellStatus::Running: return "running";
        case CellStatus::Done: return "done";
        case CellStatus::Failed: return "failed";
        case CellStatus::Interrupted: return "interrupted";
    }
    return "?";
}

std::string cellDirName(const std::vector<SweepAxis>& axes, const std::vector<std::string>& values, std::uint64_t seed) {
    std::string s;
    for (size_t i = 0; i < axes.size() && i < values.size(); ++i) s += axes[i].key + "-" + values[i] + "_";
    return safeName(s + "seed-" + std::to_string(seed));
}

std::string settingLabel(const std::vector<SweepAxis>& axes, const std::vector<std::string>& values) {
    std::string s;
    for (size_t i = 0; i < axes.size() && i < values.size(); ++i)
        s += (i ? " " : "") + axes[i].key + "=" + values[i];
    return s;
}

std::vector<SweepCell> sweepGrid(const std::vector<SweepAxis>& axes, const std::vector<std::uint64_t>& seeds) {
    std::vector<std::vector<std::string>> settings{{}};
    for (const SweepAxis& a : axes) {
        std::vector<std::vector<std::string>> more;
        for (const auto& s : settings)
            for (const std::string& v : a.values) {
                more.push_back(s);
                more.back().push_back(v);
            }
        settings = std::move(more);
    }
    std::vector<SweepCell> cells;
    for (const auto& s : settings)
        for (std::uint64_t seed : seeds) {
            SweepCell c;
            c.values = s;
            c.seed = seed;
            c.dir = cellDirName(axes, s, seed);
            cells.push_back(std::move(c));
        }
    return cells;
}

size_t sweepCells(const std::vector<SweepAxis>& axes, size_t seeds) {
    size_t total = seeds;
    for (const SweepAxis& a : axes) {
        total *= a.values.size();
        if (total > static_cast<size_t>(kMaxSweepCells)) return static_cast<size_t>(kMaxSweepCells) + 1;
    }
    return total;
}

std::vector<int> cellsForRank(int cells, int rank, int size) {
    std::vector<int> mine;
    if (size < 1 || rank < 0 || rank >= size) return mine;
    for (int i = rank; i < cells; i += size) mine.push_back(i);
    return mine;
}

core::TrpoConfig cellConfig(const SweepManifest& m, const SweepCell& c) {
    core::TrpoConfig cfg = m.base;
    for (size_t i = 0; i < m.axes.size() && i < c.values.size(); ++i)
        core::setConfigValue(cfg, m.axes[i].key, configText(*core::findConfigField(m.axes[i].key), c.values[i]));
    cfg.seed = c.seed;
    cfg.threads = 1;
    return cfg;
}

// ---- the manifest --------------------------------------------------------------------------

void writeSweepManifest(const fs::path& dir, const SweepManifest& m) {
    json axes = json::array();
    for (const SweepAxis& a : m.axes) axes.push_back({{"key", a.key}, {"values", a.values}});
    json cells = json::array();
    for (const SweepCell& c : m.cells) {
        json values = json::object();
        for (size_t i = 0; i < m.axes.size() && i < c.values.size(); ++i) values[m.axes[i].key] = c.values[i];
        json cell{{"values", values}, {"seed", c.seed}, {"dir", c.dir.generic_string()}, {"status", cellStatusName(c.status)}};
        if (!c.reason.empty()) cell["reason"] = c.reason;
        cells.push_back(std::move(cell));
    }
    json budget{{"checkpoint_every", m.budget.checkpointEvery}};
    budget["steps"] = m.budget.steps == std::numeric_limits<std::int64_t>::max() ? json() : json(m.budget.steps);
    budget["iterations"] = m.budget.iterations < 0 ? json() : json(m.budget.iterations);
    budget["target_return"] = m.budget.target ? json(*m.budget.target) : json();
    const json j{{"format", kSweepManifestFormat},
                 {"version", m.formatVersion},
                 {"env", m.base.env},
                 {"base_config", json::parse(core::configToJson(m.base))},
                 {"budget", budget},
                 {"threads", m.threads},
                 {"axes", axes},
                 {"seeds", m.seeds},
                 {"cells", cells}};
    core::writeFileAtomic(dir / "sweep.json", j.dump(2) + "\n");
}

namespace {
fs::path manifestPath(const fs::path& dirOrFile) {
    std::error_code ec;
    return fs::is_directory(dirOrFile, ec) ? dirOrFile / "sweep.json" : dirOrFile;
}
} // namespace

bool looksLikeSweep(const fs::path& dirOrFile) {
    std::error_code ec;
    return fs::is_regular_file(manifestPath(dirOrFile), ec) && manifestPath(dirOrFile).filename() == "sweep.json";
}

SweepManifest readSweepManifest(const fs::path& dirOrFile) {
    const fs::path file = manifestPath(dirOrFile);
    std::string text;
    try {
        text = core::readFileText(file);
    } catch (const std::exception& e) {
        throw FileError(file.string() + ": cannot read it (" + e.what() + ")");
    }
    return parseSweepManifest(text, file.string());
}

SweepManifest parseSweepManifest(const std::string& text, const std::string& file) {
    const std::string where = file + ": ";
    SweepManifest m;
    try {
        const json j = json::parse(text);
        if (!j.is_object()) throw FileError(where + "not a JSON object");
        if (j.value("format", std::string()) != kSweepManifestFormat)
            throw FileError(where + "not a sweep manifest (format is not \"" + kSweepManifestFormat + "\")");
        m.formatVersion = core::jsonInteger<int>(j.at("version"));
        if (m.formatVersion < 1 || m.formatVersion > kSweepFormatVersion)
            throw FileError(where + "format version " + std::to_string(m.formatVersion) + " (this program reads 1 to " +
                            std::to_string(kSweepFormatVersion) + ")");
        try {
            core::applyConfigJson(m.base, j.at("base_config").dump());
            m.base.validate();
        } catch (const ConfigError& e) {
            throw FileError(where + "base_config: " + e.what());
        }
        const json& b = j.at("budget");
        m.budget.checkpointEvery = core::jsonInteger<int>(b.at("checkpoint_every"));
        if (!b.at("steps").is_null()) m.budget.steps = core::jsonInteger<std::int64_t>(b.at("steps"));
        if (!b.at("iterations").is_null()) m.budget.iterations = core::jsonInteger<int>(b.at("iterations"));
        if (!b.at("target_return").is_null()) m.budget.target = b.at("target_return").get<double>();
        if (m.budget.checkpointEvery < 0 || m.budget.steps < 1 || m.budget.iterations < -1 ||
            (m.budget.target && !std::isfinite(*m.budget.target)))
            throw FileError(where + "budget: a value out of range");
        m.threads = core::jsonInteger<int>(j.at("threads"));
        if (m.threads < 1 || m.threads > 64) throw FileError(where + "threads must be 1 to 64");
        for (const json& a : j.at("axes")) {
            SweepAxis axis;
            axis.key = a.at("key").get<std::string>();
            std::string values;
            for (const json& v : a.at("values")) {
                axis.values.push_back(v.get<std::string>());
                values += (values.empty() ? "" : ",") + axis.values.back();
            }
            try {
                const SweepAxis check = parseSweepAxis(axis.key + "=" + values, m.base);
                if (check.values != axis.values) throw ConfigError("a value with ',' or spaces");
            } catch (const ConfigError& e) {
                throw FileError(where + "axes: " + e.what());
            }
            for (const SweepAxis& other : m.axes)
                if (other.key == axis.key) throw FileError(where + "axes: " + axis.key + " is swept twice");
            m.axes.push_back(std::move(axis));
        }
        for (const json& s : j.at("seeds")) m.seeds.push_back(core::jsonInteger<std::uint64_t>(s));
        {
            std::string seeds;
            for (std::uint64_t s : m.seeds) {
                if (!seeds.empty()) seeds += ',';
                seeds += std::to_string(s);
            }
            try {
                if (parseSeeds(seeds) != m.seeds) throw ConfigError("not as written");
            } catch (const ConfigError& e) {
                throw FileError(where + "seeds: " + e.what());
            }
        }
        if (sweepCells(m.axes, m.seeds.size()) > static_cast<size_t>(kMaxSweepCells))
            throw FileError(where + "more than " + std::to_string(kMaxSweepCells) + " cells");
        m.cells = sweepGrid(m.axes, m.seeds);
        const json& cells = j.at("cells");
        if (!cells.is_array() || cells.size() != m.cells.size())
            throw FileError(where + "cells: expected " + std::to_string(m.cells.size()) +
                            " cells (the product of the axes and the seeds)");
        for (size_t i = 0; i < m.cells.size(); ++i) {
            const json& c = cells[i];
            SweepCell& cell = m.cells[i];
            std::string name = "cells[";
            name += std::to_string(i);
            name += "]: ";
            for (size_t a = 0; a < m.axes.size(); ++a)
                if (c.at("values").at(m.axes[a].key).get<std::string>() != cell.values[a])
                    throw FileError(where + name + m.axes[a].key + " is not the grid's " + cell.values[a]);
            if (c.at("values").size() != m.axes.size()) throw FileError(where + name + "values of other settings");
            if (core::jsonInteger<std::uint64_t>(c.at("seed")) != cell.seed)
                throw FileError(where + name + "seed is not the grid's " + std::to_string(cell.seed));
            if (c.at("dir").get<std::string>() != cell.dir.generic_string())
                throw FileError(where + name + "dir is not " + cell.dir.generic_string());
            const std::string status = c.at("status").get<std::string>();
            bool known = false;
            for (CellStatus s : {CellStatus::Pending, CellStatus::Running, CellStatus::Done, CellStatus::Failed,
                                 CellStatus::Interrupted})
                if (status == cellStatusName(s)) {
                    cell.status = s;
                    known = true;
                }
            if (!known) throw FileError(where + name + "unknown status '" + status + "'");
            cell.reason = c.value("reason", std::string());
        }
    } catch (const json::exception& e) {
        throw FileError(where + "malformed sweep manifest (" + e.what() + ")");
    }
    return m;
}

// ---- running -------------------------------------------------------------------------------

namespace {

struct Outcome {
    CellStatus status;
    std::string reason;
};

// one cell to its end, as trpo-train trains a run alone (or resumes it)
Outcome runCell(const fs::path& sweepDir, const SweepManifest& m, const SweepCell& cell, CellStatus before,
                const SweepOptions& o, const std::function<void(const core::IterationStats&, const std::string&)>& report) {
    try {
        const fs::path d = sweepDir / cell.dir;
        const core::TrpoConfig cfg = cellConfig(m, cell);
        const core::EnvFactory factory = o.factory ? o.factory(cfg) : core::EnvFactory();
        if (!factory) throw std::runtime_error("no environment factory for " + cfg.env);
        std::optional<core::Trainer> trainer;
        trainer.emplace(cfg, factory);
        std::error_code ec;
        if (before == CellStatus::Failed && fs::exists(d, ec)) {
            fs::path old = d;
            old += ".failed";
            fs::remove_all(old, ec);
            fs::rename(d, old, ec);
            if (ec) throw FileError(d.string() + ": cannot move the failed attempt aside (" + ec.message() + ")");
        }
        std::optional<RunStore> store;
        if ((before == CellStatus::Running || before == CellStatus::Interrupted) && looksLikeRun(d)) {
            try {
                store.emplace(RunStore::open(d, "trpo-train"));
                store->loadCheckpoint(*trainer);
                store->appendEvent({trainer->iteration(), Resumed{"trpo-train --resume (sweep)"}});
            } catch (const FileError&) {
                store.reset(); // no checkpoint to go on from: the cell starts over
                trainer.emplace(cfg, factory);
            }
        }
        if (!store) {
            // what a cell that started left behind (no checkpoint to go on from) is the sweep's
            // own; anything at a pending cell's place is not, and RunStore::create refuses it
            if (before != CellStatus::Pending) fs::remove_all(d, ec);
            store.emplace(RunStore::create(d, cfg, "trpo-train"));
        }
        Budget budget = m.budget;
        if (budget.iterations >= 0) budget.iterations = std::max(0, m.budget.iterations - trainer->iteration());
        RunSet set;
        set.add(settingLabel(m.axes, cell.values) + " seed=" + std::to_string(cell.seed), std::move(*trainer),
                std::move(store));
        set.train(budget, 1, o.cancel,
                  [&](int, const core::IterationStats& s, const std::string& note) { report(s, note); });
        const RunSet::Member& done = set.member(0);
        if (done.why == "interrupted") return {CellStatus::Interrupted, done.why};
        if (done.why == "diverged")
            return {CellStatus::Failed, "diverged: " + std::to_string(done.trainer.config().maxRollbacks) +
                                            " rollbacks in a row (max_rollbacks); the last good state is in " +
                                            cell.dir.generic_string()};
        return {CellStatus::Done, done.why};
    } catch (const std::exception& e) {
        return {CellStatus::Failed, e.what()};
    }
}

} // namespace

namespace {

// rank 0 writes the manifest; every rank learns whether that failed, and then throws its message
void writeManifestOnRank0(core::Collective& c, const fs::path& dir, const SweepManifest& m) {
    std::string error;
    if (c.rank() == 0) {
        try {
            writeSweepManifest(dir, m);
        } catch (const std::exception& e) {
            error = e.what();
            if (error.empty()) error = "cannot write " + (dir / "sweep.json").string();
        }
    }
    const std::vector<std::uint8_t> b = c.allGather(std::vector<std::uint8_t>(error.begin(), error.end()))[0];
    if (!b.empty()) throw FileError(std::string(b.begin(), b.end()));
}

// the distributed sweep of SweepOptions::collective, round by round
void runSweepOnRanks(const fs::path& dir, SweepManifest& m, const SweepOptions& o) {
    core::Collective& c = *o.collective;
    const int n = static_cast<int>(m.cells.size());
    std::vector<int> queue;
    for (int i : cellsForRank(n, c.rank(), c.size()))
        if (m.cells[static_cast<size_t>(i)].status != CellStatus::Done) queue.push_back(i);
    const size_t perRound = static_cast<size_t>(std::max(1, m.threads));
    size_t next = 0;
    while (true) {
        // the round starts: the cells each rank takes, and whether any rank was asked to stop
        std::vector<std::int32_t> mine;
        const bool stop = core::cancelled(o.cancel);
        if (!stop)
            while (mine.size() < perRound && next < queue.size()) mine.push_back(queue[next++]);
        core::ByteWriter w;
        w.put<std::uint8_t>(stop ? 1 : 0);
        w.putVector(mine);
        bool anyStop = false;
        std::vector<std::int32_t> round; // every rank's cells, in rank order
        for (const std::vector<std::uint8_t>& block : c.allGather(w.bytes)) {
            core::ByteReader r(block);
            anyStop = r.get<std::uint8_t>() != 0 || anyStop;
            for (const std::int32_t ci : r.getVector<std::int32_t>()) {
                if (ci < 0 || ci >= n) throw std::runtime_error("a rank named a sweep cell that does not exist");
                round.push_back(ci);
            }
        }
        if (anyStop || round.empty()) return;
        std::vector<CellStatus> before(m.cells.size(), CellStatus::Pending);
        for (const std::int32_t ci : round) {
            SweepCell& cell = m.cells[static_cast<size_t>(ci)];
            before[static_cast<size_t>(ci)] = cell.status;
            cell.status = CellStatus::Running;
            cell.reason.clear();
        }
        writeManifestOnRank0(c, dir, m);

        // this rank's cells, one thread each
        std::vector<Outcome> outcomes(mine.size());
        std::mutex reportMu;
        auto work = [&](size_t k) {
            const int ci = mine[k];
            outcomes[k] = runCell(dir, m, m.cells[static_cast<size_t>(ci)], before[static_cast<size_t>(ci)], o,
                                  [&](const core::IterationStats& s, const std::string& note) {
                                      if (!o.onIteration) return;
                                      std::lock_guard lock(reportMu);
                                      o.onIteration(ci, s, note);
                                  });
        };
        std::vector<std::thread> pool;
        for (size_t k = 1; k < mine.size(); ++k) pool.emplace_back(work, k);
        if (!mine.empty()) work(0);
        for (std::thread& th : pool) th.join();

        // the round ends: how every rank's cells ended reaches every rank
        core::ByteWriter ends;
        ends.put<std::uint64_t>(mine.size());
        for (size_t k = 0; k < mine.size(); ++k) {
            ends.put<std::int32_t>(mine[k]);
            ends.put<std::int32_t>(static_cast<std::int32_t>(outcomes[k].status));
            ends.putVector(std::vector<char>(outcomes[k].reason.begin(), outcomes[k].reason.end()));
        }
        std::vector<std::int32_t> ended;
        for (const std::vector<std::uint8_t>& block : c.allGather(ends.bytes)) {
            core::ByteReader r(block);
            const auto count = r.get<std::uint64_t>();
            for (std::uint64_t k = 0; k < count; ++k) {
                const std::int32_t ci = r.get<std::int32_t>();
                const auto status = static_cast<CellStatus>(r.get<std::int32_t>());
                const std::vector<char> reason = r.getVector<char>();
                if (ci < 0 || ci >= n) throw std::runtime_error("a rank named a sweep cell that does not exist");
                m.cells[static_cast<size_t>(ci)].status = status;
                m.cells[static_cast<size_t>(ci)].reason.assign(reason.begin(), reason.end());
                ended.push_back(ci);
            }
        }
        writeManifestOnRank0(c, dir, m);
        if (o.onCellEnd)
            for (const std::int32_t ci : ended) o.onCellEnd(ci);
    }
}

} // namespace

void runSweep(const fs::path& dir, SweepManifest& m, const SweepOptions& o) {
    if (core::distributed(o.collective)) return runSweepOnRanks(dir, m, o);
    std::vector<int> queue;
    for (int i : cellsForRank(static_cast<int>(m.cells.size()), o.rank, o.size))
        if (m.cells[static_cast<size_t>(i)].status != CellStatus::Done) queue.push_back(i);
    std::mutex mu, reportMu;
    size_t next = 0;
    std::exception_ptr error;
    auto worker = [&] {
        while (true) {
            int ci = -1;
            CellStatus before = CellStatus::Pending;
            {
                std::lock_guard lock(mu);
                if (error || core::cancelled(o.cancel) || next >= queue.size()) return;
                ci = queue[next++];
                SweepCell& c = m.cells[static_cast<size_t>(ci)];
                before = c.status;
                c.status = CellStatus::Running;
                c.reason.clear();
                try {
                    writeSweepManifest(dir, m);
                } catch (...) {
                    error = std::current_exception();
                    return;
                }
            }
            SweepCell cell;
            {
                std::lock_guard lock(mu);
                cell = m.cells[static_cast<size_t>(ci)];
            }
            const Outcome out = runCell(dir, m, cell, before, o, [&](const core::IterationStats& s, const std::string& note) {
                if (!o.onIteration) return;
                std::lock_guard lock(reportMu);
                o.onIteration(ci, s, note);
            });
            std::lock_guard lock(mu);
            SweepCell& c = m.cells[static_cast<size_t>(ci)];
            c.status = out.status;
            c.reason = out.reason;
            try {
                writeSweepManifest(dir, m);
            } catch (...) {
                if (!error) error = std::current_exception();
            }
            if (o.onCellEnd) {
                std::lock_guard rlock(reportMu);
                o.onCellEnd(ci);
            }
        }
    };
    const int t = std::clamp(m.threads, 1, std::max(1, static_cast<int>(queue.size())));
    std::vector<std::thread> pool;
    for (int w = 1; w < t; ++w) pool.emplace_back(worker);
    worker();
    for (std::thread& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

// ---- the summary -------------------------------------------------------------------------

std::optional<Spread> spreadOf(std::vector<double> xs) {
    if (xs.empty()) return std::nullopt;
    std::sort(xs.begin(), xs.end());
    const size_t n = xs.size();
    Spread s;
    s.median = n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
    s.min = xs.front();
    s.max = xs.back();
    return s;
}

std::vector<SettingSummary> summarizeSweep(const fs::path& dir, const SweepManifest& m, std::optional<double> solvedReturn) {
    std::vector<SettingSummary> rows;
    std::map<std::vector<std::string>, size_t> index;
    std::vector<std::vector<double>> finals, steps, rejections;
    for (const SweepCell& c : m.cells) {
        auto [it, added] = index.try_emplace(c.values, rows.size());
        if (added) {
            SettingSummary s;
            s.label = settingLabel(m.axes, c.values);
            s.values = c.values;
            rows.push_back(s);
            finals.emplace_back();
            steps.emplace_back();
            rejections.emplace_back();
        }
        const size_t r = it->second;
        SettingSummary& s = rows[r];
        ++s.seeds;
        if (c.status == CellStatus::Failed) ++s.failed;
        if (c.status != CellStatus::Done) continue;
        VariantSummary v;
        try {
            v = summarize(s.label, readRun(dir / c.dir).history, 0, solvedReturn);
        } catch (const FileError&) {
            ++s.failed;
            continue;
        }
        ++s.done;
        if (v.finalReturn) finals[r].push_back(*v.finalReturn);
        if (v.stepsToSolved) steps[r].push_back(static_cast<double>(*v.stepsToSolved));
        rejections[r].push_back(v.rejections);
    }
    for (size_t r = 0; r < rows.size(); ++r) {
        rows[r].finalReturn = spreadOf(finals[r]);
        rows[r].reached = static_cast<int>(steps[r].size());
        rows[r].stepsToSolved = spreadOf(steps[r]);
        rows[r].rejections = spreadOf(rejections[r]);
    }
    return rows;
}

namespace {
std::string fmt(double x, const char* f) {
    char b[48];
    std::snprintf(b, sizeof b, f, x);
    return b;
}
std::string spreadText(const std::optional<Spread>& s, const char* f) {
    if (!s) return "-";
    return fmt(s->median, f) + " [" + fmt(s->min, f) + ", " + fmt(s->max, f) + "]";
}
json spreadJson(const std::optional<Spread>& s) {
    if (!s) return json();
    return {{"median", s->median}, {"min", s->min}, {"max", s->max}};
}
std::string csvCell(const std::optional<Spread>& s, double Spread::*field) {
    return s ? fmt((*s).*field, "%.10g") : std::string();
}
} // namespace

std::string sweepTable(const std::vector<SettingSummary>& rows, std::optional<double> solvedReturn) {
    size_t width = 7;
    for (const SettingSummary& r : rows) width = std::max(width, r.label.size());
    const std::string solved = solvedReturn ? "steps to " + fmt(*solvedReturn, "%g") : std::string("steps to solved");
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %5s %6s  %-26s  %-30s %7s  %s\n", static_cast<int>(width), "setting", "done",
                  "failed", "final return", solved.c_str(), "reached", "rejections");
    std::string out = line;
    for (const SettingSummary& r : rows) {
        std::snprintf(line, sizeof line, "%-*s %2d/%-2d %6d  %-26s  %-30s %3d/%-3d  %s\n", static_cast<int>(width),
                      r.label.c_str(), r.done, r.seeds, r.failed, spreadText(r.finalReturn, "%.1f").c_str(),
                      spreadText(r.stepsToSolved, "%.0f").c_str(), r.reached, r.done,
                      spreadText(r.rejections, "%.0f").c_str());
        out += line;
    }
    out += "median [min, max] over the seeds that finished; steps to the threshold over those that reached it\n";
    return out;
}

void writeSweepSummary(const fs::path& dir, const std::vector<SettingSummary>& rows, std::optional<double> solvedReturn) {
    std::string csv = "setting,seeds,done,failed,final_return_median,final_return_min,final_return_max,reached,"
                      "steps_to_solved_median,steps_to_solved_min,steps_to_solved_max,rejections_median,"
                      "rejections_min,rejections_max\n";
    json settings = json::array();
    for (const SettingSummary& r : rows) {
        csv += "\"" + r.label + "\"," + std::to_string(r.seeds) + "," + std::to_string(r.done) + "," +
               std::to_string(r.failed) + "," + csvCell(r.finalReturn, &Spread::median) + "," +
               csvCell(r.finalReturn, &Spread::min) + "," + csvCell(r.finalReturn, &Spread::max) + "," +
               std::to_string(r.reached) + "," + csvCell(r.stepsToSolved, &Spread::median) + "," +
               csvCell(r.stepsToSolved, &Spread::min) + "," + csvCell(r.stepsToSolved, &Spread::max) + "," +
               csvCell(r.rejections, &Spread::median) + "," + csvCell(r.rejections, &Spread::min) + "," +
               csvCell(r.rejections, &Spread::max) + "\n";
        settings.push_back({{"setting", r.label},
                            {"values", r.values},
                            {"seeds", r.seeds},
                            {"done", r.done},
                            {"failed", r.failed},
                            {"final_return", spreadJson(r.finalReturn)},
                            {"reached", r.reached},
                            {"steps_to_solved", spreadJson(r.stepsToSolved)},
                            {"rejections", spreadJson(r.rejections)}});
    }
    const json j{{"format", "trpo-studio-sweep-summary"},
                 {"version", 1},
                 {"spread", "median, min and max over the seeds that finished"},
                 {"solved_return", solvedReturn ? json(*solvedReturn) : json()},
                 {"settings", settings}};
    core::writeFileAtomic(dir / "summary.csv", csv);
    core::writeFileAtomic(dir / "summary.json", j.dump(2) + "\n");
}

Band bandOf(const std::vector<std::vector<core::IterationStats>>& histories,
            const std::function<std::optional<double>(const core::IterationStats&)>& value) {
    std::map<int, std::vector<double>> at;
    for (const auto& h : histories)
        for (const core::IterationStats& s : h)
            if (const std::optional<double> v = value(s); v && std::isfinite(*v)) at[s.iteration].push_back(*v);
    Band b;
    for (auto& [k, xs] : at) {
        const std::optional<Spread> s = spreadOf(xs);
        b.iteration.push_back(k);
        b.median.push_back(s->median);
        b.min.push_back(s->min);
        b.max.push_back(s->max);
    }
    return b;
}

} // namespace run
