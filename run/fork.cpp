#include "run/fork.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <nlohmann/json.hpp>
#include <thread>

namespace run {

namespace fs = std::filesystem;
using core::ConfigError;
using core::FileError;
using json = nlohmann::json;

namespace {

const core::ConfigField* findField(const std::string& key) {
    for (const core::ConfigField& f : core::configFields())
        if (f.key == key) return &f;
    return nullptr;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// the progress.csv cells of a row without the measured (timing) columns, which a re-trained
// iteration cannot reproduce
std::vector<std::string> reproducibleCells(const core::IterationStats& s, std::vector<std::string>* columns = nullptr) {
    static const std::vector<std::string> header = core::splitCsvLine(core::csvHeader());
    const std::vector<std::string> cells = core::splitCsvLine(core::csvRow(s));
    std::vector<std::string> out;
    for (size_t i = 0; i < cells.size() && i < header.size(); ++i) {
        const std::string& c = header[i];
        if (c == "wall_seconds" || c.rfind("seconds_", 0) == 0 || c == "steps_per_second") continue;
        out.push_back(cells[i]);
        if (columns) columns->push_back(c);
    }
    return out;
}

// a new algorithm on a state: the learned state carries over, the policy optimiser
// (Adam's moments, the KL β) of the previous algorithm does not
void switchAlgorithm(core::TrainerState& st, const std::string& to, std::vector<core::ConfigEvent>* changes) {
    const std::string from = core::configValue(st.config, "algo");
    core::setConfigValue(st.config, "algo", to);
    const std::string now = core::configValue(st.config, "algo");
    if (now == from) return;
    st.policyOptimizer.resize(0);
    const core::ConfigEvent e{st.iteration + 1, "algo", from, now};
    st.events.push_back(e);
    if (changes) changes->push_back(e);
}

core::Trainer trainerFor(const core::TrainerState& st, const core::EnvFactory& factory, int threads) {
    core::TrpoConfig cfg = st.config;
    cfg.threads = std::max(1, threads);
    core::Trainer t(cfg, factory);
    t.setState(st);
    return t;
}

} // namespace

bool varyable(const std::string& key) {
    if (key == "algo") return true;
    const core::ConfigField* f = findField(key);
    return f && f->hot;
}

VarySpec parseVary(const std::string& text, const core::TrpoConfig& base) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || trim(text.substr(0, eq)).empty())
        throw ConfigError("--vary: expected KEY=V1,V2,... such as delta=0.003,0.01,0.03 (got '" + text + "')");
    VarySpec v;
    v.key = trim(text.substr(0, eq));
    std::replace(v.key.begin(), v.key.end(), '-', '_');
    if (!findField(v.key))
        throw ConfigError("--vary: unknown setting '" + v.key + "' (a fork varies a hot setting such as delta, or algo)");
    if (!varyable(v.key))
        throw ConfigError("--vary: " + v.key +
                          " is a cold setting; a fork varies a hot setting (delta, gamma, lambda, ...) or algo");
    std::string rest = text.substr(eq + 1);
    size_t at = 0;
    while (true) {
        const size_t comma = rest.find(',', at);
        v.values.push_back(trim(rest.substr(at, comma == std::string::npos ? std::string::npos : comma - at)));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    const int n = static_cast<int>(v.values.size());
    if (n < kMinVariants || n > kMaxVariants)
        throw ConfigError("--vary: " + std::to_string(n) + (n == 1 ? " value" : " values") + " given for " + v.key +
                          "; a fork has " + std::to_string(kMinVariants) + " to " + std::to_string(kMaxVariants));
    checkSettingValues("--vary", v.key, v.values, text, base);
    return v;
}

void checkSettingValues(const std::string& flag, const std::string& key, const std::vector<std::string>& values,
                        const std::string& text, const core::TrpoConfig& base,
                        const std::function<std::string(const std::string&)>& toConfig) {
    std::vector<std::string> canonical;
    for (const std::string& value : values) {
        if (value.empty()) throw ConfigError(flag + ": an empty value in '" + text + "'");
        core::TrpoConfig c = base;
        try {
            core::setConfigValue(c, key, toConfig ? toConfig(value) : value);
            c.validate();
        } catch (const ConfigError& e) {
            throw ConfigError(flag + ": " + key + "=" + value + ": " + e.what());
        }
        const std::string canon = core::configValue(c, key);
        if (std::find(canonical.begin(), canonical.end(), canon) != canonical.end())
            throw ConfigError(flag + ": " + key + "=" + value + " is given twice");
        canonical.push_back(canon);
    }
}

std::string variantDirName(const std::string& key, const std::string& value) {
    std::string s = key + "-" + value;
    for (char& c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
    return s;
}

// ---- the fork manifest -------------------------------------------------------------------

void writeForkManifest(const fs::path& dir, const ForkManifest& m) {
    json variants = json::array();
    for (const ForkVariant& v : m.variants) variants.push_back({{"value", v.value}, {"dir", v.dir.generic_string()}});
    const json j{{"format", kForkManifestFormat},
                 {"version", m.formatVersion},
                 {"parent", m.parent.string()},
                 {"env", m.env},
                 {"fork_iteration", m.forkIteration},
                 {"key", m.key},
                 {"variants", variants}};
    core::writeFileAtomic(dir / "fork.json", j.dump(2) + "\n");
}

bool looksLikeFork(const fs::path& dirOrFile) {
    std::error_code ec;
    const fs::path file = fs::is_directory(dirOrFile, ec) ? dirOrFile / "fork.json" : dirOrFile;
    return file.filename() == "fork.json" && fs::is_regular_file(file, ec);
}

ForkManifest readForkManifest(const fs::path& dirOrFile) {
    std::error_code ec;
    const fs::path file = fs::is_directory(dirOrFile, ec) ? dirOrFile / "fork.json" : dirOrFile;
    const std::string where = file.string() + ": ";
    std::string text;
    try {
        text = core::readFileText(file);
    } catch (const std::exception& e) {
        throw FileError(e.what());
    }
    ForkManifest m;
    try {
        const json j = json::parse(text);
        if (!j.is_object() || j.value("format", std::string()) != kForkManifestFormat)
            throw FileError(where + "not a fork manifest (no \"format\": \"" + kForkManifestFormat + "\")");
        m.formatVersion = core::jsonInteger<int>(j.at("version"));
        if (m.formatVersion < 1 || m.formatVersion > kForkFormatVersion)
            throw FileError(where + "fork format version " + std::to_string(m.formatVersion) +
                            " is not supported (this program reads version " + std::to_string(kForkFormatVersion) + ")");
        m.parent = j.at("parent").get<std::string>();
        m.env = j.value("env", std::string());
        m.forkIteration = core::jsonInteger<int>(j.at("fork_iteration"));
        if (m.forkIteration < 0) throw FileError(where + "fork_iteration is negative");
        m.key = j.at("key").get<std::string>();
        const json& vs = j.at("variants");
        if (!vs.is_array() || vs.size() < kMinVariants || vs.size() > kMaxVariants)
            throw FileError(where + "\"variants\" must list " + std::to_string(kMinVariants) + " to " +
                            std::to_string(kMaxVariants) + " variants");
        for (const json& v : vs) {
            ForkVariant fv;
            fv.value = v.at("value").get<std::string>();
            const fs::path rel = v.at("dir").get<std::string>();
            if (rel.empty() || rel.is_absolute() || std::find(rel.begin(), rel.end(), fs::path("..")) != rel.end())
                throw FileError(where + "variant directory '" + rel.string() + "' must be a folder inside the fork's");
            fv.dir = file.parent_path() / rel;
            m.variants.push_back(fv);
        }
    } catch (const json::exception& e) {
        throw FileError(where + "malformed fork manifest (" + e.what() + ")");
    }
    return m;
}

// ---- the state at an iteration -----------------------------------------------------------

core::TrpoConfig startConfig(const RunContents& run) {
    core::TrpoConfig c = run.config;
    const std::vector<core::ConfigEvent> events = run.configEvents();
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        try {
            core::setConfigValue(c, it->key, it->from);
        } catch (const ConfigError& e) {
            throw FileError((run.dir / "events.jsonl").string() + ": a change of " + it->key + " from '" + it->from +
                            "': " + e.what());
        }
    }
    return c;
}

core::TrainerState stateAt(const RunContents& run, int at, const core::EnvFactory& factory, int threads,
                           core::CancelFlag cancel) {
    const int have = static_cast<int>(run.history.size());
    if (at < 0 || at > have)
        throw ConfigError("--at " + std::to_string(at) + ": the run " + run.dir.string() + " has iterations 0 to " +
                          std::to_string(have));
    const std::vector<core::ConfigEvent> changes = run.configEvents();

    // the checkpoint was taken there: the state as it is, without the changes made after it
    if (!run.checkpoint.empty() && run.manifest.checkpointIteration == at) {
        core::TrpoConfig cfg = run.config;
        cfg.threads = std::max(1, threads);
        core::Trainer t(cfg, factory);
        t.loadState(run.checkpoint);
        core::TrainerState st = t.state();
        for (auto it = st.events.rbegin(); it != st.events.rend(); ++it)
            if (it->iteration > at) core::setConfigValue(st.config, it->key, it->from);
        std::erase_if(st.events, [at](const core::ConfigEvent& e) { return e.iteration > at; });
        st.config.threads = run.config.threads;
        return st;
    }

    // otherwise train the run again from its start, with its changes and rollbacks
    core::TrpoConfig cfg = startConfig(run);
    cfg.threads = std::max(1, threads);
    std::optional<core::Trainer> t;
    t.emplace(cfg, factory);
    size_t next = 0;
    std::vector<std::string> columns;
    for (int k = 1; k <= at; ++k) {
        for (; next < changes.size() && changes[next].iteration <= k; ++next) {
            const core::ConfigEvent& e = changes[next];
            if (e.key == "algo") {
                core::TrainerState st = t->state();
                switchAlgorithm(st, e.to, nullptr);
                t.emplace(trainerFor(st, factory, threads));
            } else {
                core::TrpoConfig changed = t->config();
                core::setConfigValue(changed, e.key, e.to);
                t->applyHotConfig(changed);
            }
        }
        const core::IterationStats s = t->iterate(cancel);
        columns.clear();
        const std::vector<std::string> mine = reproducibleCells(s, &columns);
        const std::vector<std::string> theirs = reproducibleCells(run.history[static_cast<size_t>(k - 1)]);
        for (size_t c = 0; c < mine.size(); ++c)
            if (c >= theirs.size() || mine[c] != theirs[c])
                throw std::runtime_error(
                    (run.dir / "progress.csv").string() + ": iteration " + std::to_string(k) +
                    " trained again from the run's start differs in " + columns[c] + " (the run has " +
                    (c < theirs.size() ? theirs[c] : std::string("nothing")) + ", trained again " + mine[c] +
                    "), so the state at iteration " + std::to_string(at) +
                    " cannot be rebuilt; fork at the checkpoint's iteration " +
                    std::to_string(run.manifest.checkpointIteration) + " instead");
        for (const Event& e : run.events)
            if (const auto* r = std::get_if<RolledBack>(&e.what); r && e.iteration == k) {
                const std::optional<int> restored = t->rollBack();
                if (restored.value_or(-1) != r->restoredIteration)
                    throw std::runtime_error((run.dir / "events.jsonl").string() + ": the rollback after iteration " +
                                             std::to_string(k) + " restored iteration " +
                                             std::to_string(r->restoredIteration) + ", trained again it restores " +
                                             (restored ? std::to_string(*restored) : std::string("nothing")));
            }
    }
    core::TrainerState st = t->state();
    st.config.threads = run.config.threads;
    // the parent's clock, not the re-training's: the variants' wall_seconds go on from it
    st.wallSeconds = at > 0 ? run.history[static_cast<size_t>(at - 1)].wallSeconds : 0.0;
    return st;
}

namespace {
// a hot change from the next iteration, recorded as --resume records one
void applyHotChange(VariantTrainer& v, const std::string& key, const std::string& value) {
    core::TrpoConfig changed = v.trainer.config();
    core::setConfigValue(changed, key, value);
    v.changes = v.trainer.applyHotConfig(changed);
}
} // namespace

VariantTrainer makeVariant(const core::TrainerState& forkState, const std::string& key, const std::string& value,
                           const core::EnvFactory& factory, int threads) {
    if (key == "algo") {
        core::TrainerState st = forkState;
        std::vector<core::ConfigEvent> changes;
        switchAlgorithm(st, value, &changes);
        return {trainerFor(st, factory, threads), changes};
    }
    VariantTrainer v{trainerFor(forkState, factory, threads), {}};
    applyHotChange(v, key, value);
    return v;
}

VariantRun createVariantRun(const fs::path& dir, const RunContents& parent, int at, const core::TrainerState& forkState,
                            const std::string& key, const std::string& value, const core::EnvFactory& factory,
                            int threads, const std::string& writer) {
    RunStore store = RunStore::create(dir, startConfig(parent), writer);
    // the parent's rows and what happened around them, up to the fork iteration (a
    // line_search_failed event comes with its row)
    for (int k = 1; k <= at; ++k) {
        for (const Event& e : parent.events)
            if (e.iteration == k && std::holds_alternative<Hyperparameter>(e.what)) store.appendEvent(e);
        store.appendIteration(parent.history[static_cast<size_t>(k - 1)]);
        for (const Event& e : parent.events)
            if (e.iteration == k && (std::holds_alternative<RolledBack>(e.what) || std::holds_alternative<Forked>(e.what)))
                store.appendEvent(e);
    }
    store.appendEvent({at, Forked{fs::absolute(parent.dir).lexically_normal().string(), key, value}});
    // the checkpoint is the fork state; a new algorithm is already in place in it (it decides
    // which trainer loads it), a hot change comes after it, as --resume applies one
    if (key == "algo") {
        VariantTrainer v = makeVariant(forkState, key, value, factory, threads);
        store.saveCheckpoint(v.trainer);
        for (const core::ConfigEvent& e : v.changes) store.appendEvent(hyperparameterEvent(e));
        return {std::move(store), std::move(v)};
    }
    VariantTrainer v{trainerFor(forkState, factory, threads), {}};
    store.saveCheckpoint(v.trainer);
    applyHotChange(v, key, value);
    for (const core::ConfigEvent& e : v.changes) store.appendEvent(hyperparameterEvent(e));
    store.writeConfig(v.trainer.config()); // as --resume does with a hot flag
    return {std::move(store), std::move(v)};
}

ForkManifest createFork(const fs::path& outDir, const RunContents& parent, int at, const core::TrainerState& forkState,
                        const VarySpec& vary, const core::EnvFactory& factory, const std::string& writer, RunSet& set) {
    std::error_code ec;
    if (fs::exists(outDir / "fork.json", ec))
        throw FileError(outDir.string() + ": already holds a fork; choose another folder");
    fs::create_directories(outDir, ec);
    if (ec) throw FileError(outDir.string() + ": cannot create (" + ec.message() + ")");
    ForkManifest manifest;
    manifest.parent = fs::absolute(parent.dir).lexically_normal();
    manifest.env = parent.config.env;
    manifest.forkIteration = at;
    manifest.key = vary.key;
    std::vector<std::string> used;
    for (size_t i = 0; i < vary.values.size(); ++i) {
        std::string name = variantDirName(vary.key, vary.values[i]);
        if (std::find(used.begin(), used.end(), name) != used.end()) name += '-' + std::to_string(i + 1);
        used.push_back(name);
        VariantRun v = createVariantRun(outDir / name, parent, at, forkState, vary.key, vary.values[i], factory, 1, writer);
        set.add(vary.key + "=" + vary.values[i], std::move(v.variant.trainer), std::move(v.store));
        manifest.variants.push_back({vary.values[i], name});
    }
    writeForkManifest(outDir, manifest);
    return manifest;
}

ForkManifest resumeFork(const fs::path& dir, const std::function<core::EnvFactory(const std::string&)>& factoryFor,
                        const std::string& writer, RunSet& set) {
    ForkManifest manifest = readForkManifest(dir);
    const core::EnvFactory factory = factoryFor(manifest.env);
    // every variant opened and loaded before any gets its resumed event: a variant that cannot
    // go on stops the continuation before anything trains
    std::vector<std::pair<RunStore, core::Trainer>> variants;
    for (const ForkVariant& v : manifest.variants) {
        RunStore store = RunStore::open(v.dir, writer);
        core::TrpoConfig cfg = store.readConfig();
        cfg.threads = 1;
        core::Trainer t(cfg, factory);
        store.loadCheckpoint(t);
        variants.emplace_back(std::move(store), std::move(t));
    }
    for (size_t i = 0; i < variants.size(); ++i) {
        auto& [store, trainer] = variants[i];
        store.recordResume(trainer, writer, {});
        set.add(manifest.key + "=" + manifest.variants[i].value, std::move(trainer), std::move(store));
    }
    return manifest;
}

// ---- the comparison ------------------------------------------------------------------------

VariantSummary summarize(const std::string& label, const std::vector<core::IterationStats>& history, int forkIteration,
                         std::optional<double> solvedReturn) {
    VariantSummary v;
    v.label = label;
    double klSum = 0;
    int klCount = 0;
    double wallAtFork = 0;
    for (const core::IterationStats& s : history) {
        if (solvedReturn && !v.stepsToSolved && s.recentReturnMean && *s.recentReturnMean >= *solvedReturn)
            v.stepsToSolved = s.envSteps;
        if (s.iteration <= forkIteration) {
            wallAtFork = s.wallSeconds;
            continue;
        }
        ++v.iterations;
        v.finalReturn = s.recentReturnMean;
        if (s.recentReturnMean && (!v.bestReturn || *s.recentReturnMean > *v.bestReturn))
            v.bestReturn = s.recentReturnMean;
        if (s.accepted) {
            klSum += s.klMean;
            ++klCount;
        } else {
            ++v.rejections;
        }
        v.seconds = s.wallSeconds - wallAtFork;
    }
    if (klCount > 0) v.meanKl = klSum / klCount;
    return v;
}

std::string comparisonTable(const std::vector<VariantSummary>& rows, std::optional<double> solvedReturn) {
    auto num = [](std::optional<double> x, const char* fmt) {
        if (!x) return std::string("-");
        char b[32];
        std::snprintf(b, sizeof b, fmt, *x);
        return std::string(b);
    };
    std::string out;
    char line[256];
    const std::string solved = solvedReturn ? "steps to " + num(solvedReturn, "%g") : std::string("steps to solved");
    std::snprintf(line, sizeof line, "%-22s %6s %10s %10s %16s %10s %10s %8s\n", "variant", "iters", "final ret",
                  "best ret", solved.c_str(), "mean KL", "rejected", "seconds");
    out += line;
    for (const VariantSummary& v : rows) {
        std::snprintf(line, sizeof line, "%-22s %6d %10s %10s %16s %10s %10d %8.2f\n", v.label.c_str(), v.iterations,
                      num(v.finalReturn, "%.1f").c_str(), num(v.bestReturn, "%.1f").c_str(),
                      v.stepsToSolved ? std::to_string(*v.stepsToSolved).c_str() : "-",
                      num(v.meanKl, "%.3g").c_str(), v.rejections, v.seconds);
        out += line;
    }
    return out;
}

// ---- side by side -------------------------------------------------------------------------

void RunSet::add(std::string label, core::Trainer trainer, std::optional<RunStore> store) {
    Member m{std::move(label), std::move(trainer), std::move(store), 0, 0, false, {}};
    m.startIteration = m.trainer.iteration();
    m_members.push_back(std::move(m));
}

void RunSet::train(const Budget& budget, int threads, core::CancelFlag cancel, const OnIteration& onIteration,
                   const BeforeIteration& beforeIteration) {
    const int n = size();
    if (n == 0) return;
    std::mutex mu;
    std::condition_variable freed;
    std::vector<char> busy(static_cast<size_t>(n), 0);
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    std::mutex reportMu;

    for (Member& m : m_members) {
        m.startIteration = m.trainer.iteration();
        m.rollbacksInARow = 0;
        m.done = false;
        m.why.clear();
    }
    // the end of a member: its checkpoint, policy files and a stopped event
    auto finish = [&](Member& m, const char* why) {
        m.why = why;
        if (m.store) {
            m.store->saveCheckpoint(m.trainer);
            m.store->writePolicyFiles(m.trainer, policyMetadataOf(m.trainer));
            m.store->appendEvent({m.trainer.iteration(), Stopped{why}});
        }
    };
    // one iteration of member i, or its end; returns whether it is done
    auto step = [&](int i) -> bool {
        Member& m = m_members[static_cast<size_t>(i)];
        if (core::cancelled(cancel) || failed) {
            finish(m, "interrupted");
            return true;
        }
        if (m.trainer.envSteps() >= budget.steps ||
            (budget.iterations >= 0 && m.trainer.iteration() - m.startIteration >= budget.iterations)) {
            finish(m, "budget reached");
            return true;
        }
        if (beforeIteration) {
            beforeIteration(i);
            if (core::cancelled(cancel) || failed) {
                finish(m, "interrupted");
                return true;
            }
        }
        core::IterationStats s;
        try {
            s = m.trainer.iterate(cancel);
        } catch (const core::Interrupted&) {
            finish(m, "interrupted");
            return true;
        }
        std::string note;
        bool stop = false;
        if (m.store) {
            m.store->appendIteration(s);
            const GuardOutcome g = guardIteration(m.trainer, *m.store, s, m.rollbacksInARow);
            if (g.rolledBack)
                note = g.explanation + " Rolled back to the state after iteration " +
                       std::to_string(g.restoredIteration) + ".";
            stop = g.stop;
        } else if (s.divergence != core::Divergence::None) {
            const std::string why = core::explainDivergence(s, m.trainer.guardMemory(), m.trainer.config());
            const std::optional<int> restored = m.trainer.rollBack();
            note = why + " Rolled back to the state after iteration " +
                   std::to_string(restored.value_or(s.iteration - 1)) + ".";
            stop = ++m.rollbacksInARow >= m.trainer.config().maxRollbacks;
        } else {
            m.rollbacksInARow = 0;
        }
        if (onIteration) {
            std::lock_guard lock(reportMu);
            onIteration(i, s, note);
        }
        if (stop) {
            finish(m, "diverged");
            return true;
        }
        if (m.store && budget.checkpointEvery > 0 && s.iteration % budget.checkpointEvery == 0)
            m.store->saveCheckpoint(m.trainer);
        if (budget.target && s.recentReturnMean && *s.recentReturnMean >= *budget.target &&
            static_cast<int>(m.trainer.recentReturns().size()) >= core::Trainer::kRecentEpisodes) {
            finish(m, "target return reached");
            return true;
        }
        return false;
    };
    auto behind = [&](int i) {
        const Member& m = m_members[static_cast<size_t>(i)];
        return m.trainer.iteration() - m.startIteration;
    };
    // each worker takes the free member furthest behind (fewest iterations since the start,
    // then the lowest index), runs one iteration of it and gives it back
    auto worker = [&] {
        std::unique_lock lock(mu);
        while (true) {
            int pick = -1, remaining = 0;
            for (int i = 0; i < n; ++i) {
                if (m_members[static_cast<size_t>(i)].done) continue;
                ++remaining;
                if (busy[static_cast<size_t>(i)]) continue;
                if (pick < 0 || behind(i) < behind(pick)) pick = i;
            }
            if (remaining == 0) return;
            if (pick < 0) {
                freed.wait(lock);
                continue;
            }
            busy[static_cast<size_t>(pick)] = 1;
            lock.unlock();
            bool done = true;
            try {
                done = step(pick);
            } catch (...) {
                std::lock_guard errLock(reportMu);
                if (!error) error = std::current_exception();
                failed = true;
            }
            lock.lock();
            busy[static_cast<size_t>(pick)] = 0;
            m_members[static_cast<size_t>(pick)].done = done;
            freed.notify_all();
        }
    };
    const int t = std::clamp(threads, 1, n);
    std::vector<std::thread> pool;
    for (int w = 1; w < t; ++w) pool.emplace_back(worker);
    worker();
    for (std::thread& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

} // namespace run
