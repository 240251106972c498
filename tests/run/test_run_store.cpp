// The one run format (run/run_store.h): what a run directory holds, the round trip between
// the studio's saves and trpo-train's resume, the older layouts, typed events, atomic
// copies, and clear errors for damaged runs.
#include <QtTest>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/episode_record.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "support/scripted_environment.h"
#include "support/test_util.h"
#include "run/run_store.h"
#include "sim/registry.h"

using namespace core;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

TrpoConfig smallConfig() {
    TrpoConfig c = presetConfig("CartPole-v1");
    c.stepsPerIteration = 512;
    c.numEnvs = 2;
    c.valueEpochs = 2;
    c.seed = 5;
    return c;
}

// an iteration's best, median and worst episodes of `length` steps of 4-dimensional actions
core::IterationEpisodes syntheticEpisodes(int iteration, int length, core::Rng& rng) {
    core::IterationEpisodes e;
    e.iteration = iteration;
    auto record = [&](double ret) {
        core::EpisodeRecord r;
        r.seed = static_cast<std::uint64_t>(iteration) * 3 + static_cast<std::uint64_t>(ret);
        r.actionDim = 4;
        r.length = length;
        r.ret = ret;
        r.actions.resize(static_cast<size_t>(4 * length));
        for (double& a : r.actions) a = rng.normal();
        return r;
    };
    e.best = record(2);
    e.median = record(1);
    e.worst = record(0);
    return e;
}

// a run of smallConfig trained `iterations` iterations in dir, checkpointed at the end; with
// episodesRng, each iteration also keeps synthetic episodes of episodeLength steps
void writeSmallRun(const fs::path& dir, int iterations, core::Rng* episodesRng = nullptr, int episodeLength = 0) {
    const TrpoConfig c = smallConfig();
    Trainer t(c, sim::environmentFactory(c.env));
    run::RunStore store = run::RunStore::create(dir, c, "trpo-train");
    for (int i = 0; i < iterations; ++i) {
        store.appendIteration(t.iterate());
        if (episodesRng) store.appendEpisodes(syntheticEpisodes(t.iteration(), episodeLength, *episodesRng));
    }
    store.saveCheckpoint(t);
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("trpo-run-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

void writeText(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << s;
}

int lines(const fs::path& p) {
    const std::string t = readFileText(p);
    return static_cast<int>(std::count(t.begin(), t.end(), '\n'));
}

// the studio's way of saving: its worker hands the state over as bytes
void saveAsTheStudioDoes(const fs::path& dir, Trainer& t, const std::vector<IterationStats>& history) {
    run::RunStore store = run::RunStore::create(dir, t.config(), "trpo-studio");
    for (const IterationStats& s : history) store.appendIteration(s);
    store.saveCheckpointBytes(t.saveState(), t.config(), t.iteration(), t.envSteps());
    store.writePolicyJson(*t.snapshot(), run::policyMetadataOf(t));
}

void expectFileError(const std::function<void()>& f, const std::vector<std::string>& needles) {
    try {
        f();
        QFAIL("damaged input was accepted");
    } catch (const FileError& e) {
        for (const std::string& n : needles) QVERIFY2(std::string(e.what()).find(n) != std::string::npos, e.what());
    }
}

} // namespace

class TestRunStore : public QObject {
    Q_OBJECT
private slots:
    void aRunHoldsEveryFile() {
        TempDir tmp;
        const fs::path dir = tmp.path / "run";
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        run::RunStore store = run::RunStore::create(dir, c, "trpo-train");
        for (int i = 0; i < 3; ++i) store.appendIteration(t.iterate());
        store.saveCheckpoint(t);
        store.writePolicyFiles(t, run::policyMetadataOf(t));
        for (const char* f : {"manifest.json", "config.json", "progress.csv", "history.jsonl", "events.jsonl",
                              "checkpoints/latest.ckpt", "policy.json", "policy.onnx"})
            QVERIFY2(fs::exists(dir / f), f);
        QCOMPARE(lines(dir / "progress.csv"), 4);
        QCOMPARE(lines(dir / "history.jsonl"), 3);
        const json m = json::parse(readFileText(dir / "manifest.json"));
        QCOMPARE(m.at("version").get<int>(), run::kFormatVersion);
        QCOMPARE(m.at("checkpoint_iteration").get<int>(), 3);
        QCOMPARE(m.at("env").get<std::string>(), c.env);
        QVERIFY(m.at("holds").at("policy_onnx").get<bool>());
        // a second create() refuses to overwrite the run, and a non-empty folder
        QVERIFY_THROWS_EXCEPTION(FileError, run::RunStore::create(dir, c, "trpo-train"));
        fs::create_directories(tmp.path / "other");
        writeText(tmp.path / "other" / "notes.txt", "mine");
        expectFileError([&] { run::RunStore::create(tmp.path / "other", c, "trpo-train"); }, {"not empty"});
    }

    // every field of every iteration comes back, line-search trials and CG residuals included
    void historyComesBackWhole() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        run::RunStore store = run::RunStore::create(tmp.path / "r", c, "trpo-train");
        std::vector<IterationStats> written;
        for (int i = 0; i < 4; ++i) {
            written.push_back(t.iterate());
            store.appendIteration(written.back());
        }
        store.saveCheckpoint(t);
        const run::RunContents back = run::readRun(tmp.path / "r");
        QCOMPARE(back.layout, std::string("run format 2"));
        QCOMPARE(back.history.size(), written.size());
        for (size_t i = 0; i < written.size(); ++i)
            QCOMPARE(statsToJson(back.history[i]).dump(), statsToJson(written[i]).dump());
        QVERIFY(!back.history[0].trials.empty());
        QVERIFY(back.history[0].cgResiduals.size() > 1);
        QCOMPARE(std::string(run::eventType(back.events.front())), std::string("started"));
    }

    // the studio saves, trpo-train resumes and adds 20 iterations, the studio opens the
    // run: every iteration is there, and it continues exactly like a run never stopped
    void studioThenTrainThenStudio() {
        TempDir tmp;
        const fs::path dir = tmp.path / "saved.trporun";
        const TrpoConfig c = smallConfig();
        Trainer reference(c, sim::environmentFactory(c.env));
        std::vector<std::string> expected;
        for (int i = 0; i < 5 + 20 + 3; ++i) expected.push_back(testutil::statsWithoutTiming(reference.iterate()));

        // the studio: 5 iterations, saved
        Trainer studio(c, sim::environmentFactory(c.env));
        std::vector<IterationStats> history;
        for (int i = 0; i < 5; ++i) history.push_back(studio.iterate());
        saveAsTheStudioDoes(dir, studio, history);

        // trpo-train --resume: the same calls app/trpo_train.cpp makes
        {
            run::RunStore store = run::RunStore::open(dir, "trpo-train");
            Trainer t(store.readConfig(), sim::environmentFactory(c.env));
            store.loadCheckpoint(t);
            store.appendEvent({t.iteration(), run::Resumed{"trpo-train"}});
            for (int i = 0; i < 20; ++i) store.appendIteration(t.iterate());
            store.saveCheckpoint(t);
            store.writePolicyFiles(t, run::policyMetadataOf(t));
        }

        // the studio opens it: all 25 iterations, and the next 3 equal the uninterrupted run's
        const run::RunContents opened = run::readRun(dir);
        QCOMPARE(static_cast<int>(opened.history.size()), 25);
        for (int i = 0; i < 25; ++i) QCOMPARE(testutil::statsWithoutTiming(opened.history[i]), expected[i]);
        QCOMPARE(opened.manifest.checkpointIteration, 25);
        Trainer continued(opened.config, sim::environmentFactory(c.env));
        continued.loadState(opened.checkpoint);
        for (int i = 0; i < 3; ++i) QCOMPARE(testutil::statsWithoutTiming(continued.iterate()), expected[25 + i]);
        bool resumed = false;
        for (const run::Event& e : opened.events) resumed |= std::holds_alternative<run::Resumed>(e.what);
        QVERIFY(resumed);
    }

    // A long run's episodes.jsonl (here 40 iterations of 3 episodes of 6,400 four-dimensional
    // actions, about 60 MB of text) is read one line at a time: reading the run raises the
    // process's peak memory by about the parsed episodes (25 MB), not by the file's text and
    // every line parsed at once (more than twice the file). RunStore::open leaves the file
    // as it is when nothing was cut.
    void openingALongRunReadsEpisodesLineByLine() {
        TempDir tmp;
        const fs::path dir = tmp.path / "long";
        const int iterations = 40;
        core::Rng rng(7);
        writeSmallRun(dir, iterations, &rng, 6400);
        const fs::path episodes = dir / "episodes.jsonl";
        const double fileMb = static_cast<double>(fs::file_size(episodes)) / (1024.0 * 1024.0);
        run::RunContents r;
        const double grewMb = testutil::peakRssGrowthMb([&] { r = run::readRun(dir); });
        qInfo("episodes.jsonl %.0f MB; reading the run raised the peak memory by %.0f MB", fileMb, grewMb);
        QCOMPARE(static_cast<int>(r.episodes.size()), iterations);
        QCOMPARE(r.episodes.back().iteration, iterations);
        QCOMPARE(static_cast<int>(r.episodes.back().worst->actions.size()), 4 * 6400);
        QVERIFY(!r.episodesToRewrite);
        // AddressSanitizer keeps freed memory in quarantine, which a line-by-line read fills too
        if (!testutil::kSanitized) QVERIFY2(grewMb < 0.75 * fileMb, qPrintable(QString::number(grewMb)));

        const auto written = fs::last_write_time(episodes);
        (void)run::RunStore::open(dir, "trpo-train");
        QCOMPARE(fs::last_write_time(episodes), written);
        QCOMPARE(static_cast<int>(run::readRun(dir).episodes.size()), iterations);
    }

    // A write cut short leaves a last line without its newline. The reader ignores a torn one;
    // RunStore::open rewrites such a file before anything is appended, so the next line does
    // not join it (events.jsonl here ends in a whole event without a newline, episodes.jsonl in
    // half a record).
    void unterminatedLastLinesAreRepairedBeforeAppending() {
        TempDir tmp;
        const fs::path dir = tmp.path / "torn";
        const TrpoConfig c = smallConfig();
        core::Rng rng(3);
        writeSmallRun(dir, 3, &rng, 5);
        {
            std::ofstream ev(dir / "events.jsonl", std::ios::app | std::ios::binary);
            ev << run::eventToJson({3, run::Stopped{"interrupted"}}).dump(); // no newline
            std::ofstream ep(dir / "episodes.jsonl", std::ios::app | std::ios::binary);
            ep << "{\"iteration\":4,\"best\":{\"se"; // torn
        }
        const run::RunContents before = run::readRun(dir);
        QCOMPARE(static_cast<int>(before.episodes.size()), 3);
        QVERIFY(before.eventsToRewrite);
        QVERIFY(before.episodesToRewrite);
        QVERIFY(std::holds_alternative<run::Stopped>(before.events.back().what));
        {
            run::RunStore store = run::RunStore::open(dir, "trpo-train");
            Trainer t(store.readConfig(), sim::environmentFactory(c.env));
            store.loadCheckpoint(t);
            store.recordResume(t, "trpo-train", {});
            store.appendIteration(t.iterate());
            store.appendEpisodes(syntheticEpisodes(t.iteration(), 5, rng));
            store.saveCheckpoint(t);
        }
        const run::RunContents after = run::readRun(dir);
        QCOMPARE(static_cast<int>(after.episodes.size()), 4);
        QCOMPARE(after.episodes.back().iteration, 4);
        QVERIFY(!after.eventsToRewrite);
        QVERIFY(!after.episodesToRewrite);
        int stopped = 0, resumed = 0;
        for (const run::Event& e : after.events) {
            stopped += std::holds_alternative<run::Stopped>(e.what);
            resumed += std::holds_alternative<run::Resumed>(e.what);
        }
        QCOMPARE(stopped, 1);
        QCOMPARE(resumed, 1);
    }

    // what a resumption with a changed hot setting leaves in the run: the Resumed event at
    // the checkpoint's iteration, then the change, and the new value in config.json
    void recordResumeWritesTheResumptionAndItsChanges() {
        TempDir tmp;
        const fs::path dir = tmp.path / "r";
        const TrpoConfig c = smallConfig();
        writeSmallRun(dir, 2);
        run::RunStore store = run::RunStore::open(dir, "trpo-train");
        TrpoConfig changed = store.readConfig();
        Trainer t(changed, sim::environmentFactory(c.env));
        store.loadCheckpoint(t);
        changed.delta = c.delta * 3;
        store.recordResume(t, "trpo-train", t.applyHotConfig(changed));

        const run::RunContents opened = run::readRun(dir);
        QCOMPARE(opened.config.delta, c.delta * 3);
        std::vector<const run::Event*> after; // the resumption and the changes, in order
        for (const run::Event& e : opened.events)
            if (std::holds_alternative<run::Resumed>(e.what) || std::holds_alternative<run::Hyperparameter>(e.what))
                after.push_back(&e);
        QCOMPARE(static_cast<int>(after.size()), 2);
        const auto* resumed = std::get_if<run::Resumed>(&after[0]->what);
        QVERIFY(resumed);
        QCOMPARE(resumed->source, std::string("trpo-train"));
        QCOMPARE(after[0]->iteration, 2);
        const auto* h = std::get_if<run::Hyperparameter>(&after[1]->what);
        QVERIFY(h);
        QCOMPARE(h->key, std::string("delta"));
        QCOMPARE(after[1]->iteration, 3);
    }

    // a run that stopped between two checkpoints continues from the checkpoint: the rows
    // after it go, in every file
    void resumeCutsTheHistoryBackToTheCheckpoint() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        run::RunStore store = run::RunStore::create(tmp.path / "r", c, "trpo-train");
        for (int i = 0; i < 3; ++i) store.appendIteration(t.iterate());
        store.saveCheckpoint(t);
        store.appendIteration(t.iterate()); // past the checkpoint
        QCOMPARE(run::readRun(tmp.path / "r").history.size(), size_t(3));
        run::RunStore again = run::RunStore::open(tmp.path / "r", "trpo-train");
        Trainer u(again.readConfig(), sim::environmentFactory(c.env));
        again.loadCheckpoint(u);
        QCOMPARE(u.iteration(), 3);
        QCOMPARE(lines(tmp.path / "r" / "progress.csv"), 4);
        QCOMPARE(lines(tmp.path / "r" / "history.jsonl"), 3);
    }

    // the layouts written before this format still open, and resuming brings them to it
    void olderLayoutsStillOpen() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        std::vector<IterationStats> history;
        for (int i = 0; i < 3; ++i) history.push_back(t.iterate());

        // trpo-train before history.jsonl: config.json, progress.csv, events.jsonl, checkpoint
        const fs::path oldTrain = tmp.path / "old-train";
        fs::create_directories(oldTrain / "checkpoints");
        writeText(oldTrain / "config.json", configToJson(c));
        std::string csv = csvHeader() + "\n";
        for (const IterationStats& s : history) csv += csvRow(s) + "\n";
        writeText(oldTrain / "progress.csv", csv);
        writeText(oldTrain / "events.jsonl", R"({"iteration":0,"type":"started","env":"CartPole-v1","seed":5})" "\n");
        writeFileAtomic(oldTrain / "checkpoints" / "latest.ckpt", t.saveState());
        const run::RunContents a = run::readRun(oldTrain);
        QCOMPARE(a.layout, std::string("trpo-train run (progress.csv only)"));
        QCOMPARE(a.history.size(), size_t(3));
        QCOMPARE(csvRow(a.history[1]), csvRow(history[1]));

        // the studio's saved run, format 1: history.json with the older field names
        const fs::path oldStudio = tmp.path / "old.trporun";
        fs::create_directories(oldStudio / "checkpoints");
        writeText(oldStudio / "config.json", configToJson(c));
        writeText(oldStudio / "progress.csv", csv);
        json its = json::array();
        for (const IterationStats& s : history) {
            json j = statsToJson(s);
            j["xfx"] = j["xFx"];
            j.erase("xFx");
            j["outcome"] = j["line_search_reason"];
            j.erase("line_search_reason");
            j["trials"] = j["line_search_trials"];
            j.erase("line_search_trials");
            its.push_back(j);
        }
        writeText(oldStudio / "history.json",
                  json{{"format", "trpo-studio-history"}, {"version", 1}, {"env", c.env}, {"iteration", 3},
                       {"env_steps", t.envSteps()}, {"saved_at_ms", 1234}, {"iterations", its}, {"config_events", json::array()}}
                      .dump());
        writeFileAtomic(oldStudio / "checkpoints" / "latest.ckpt", t.saveState());
        const run::RunContents b = run::readRun(oldStudio);
        QCOMPARE(b.layout, std::string("studio run format 1"));
        QCOMPARE(b.history.size(), size_t(3));
        QCOMPARE(statsToJson(b.history[2]).dump(), statsToJson(history[2]).dump());
        QCOMPARE(b.manifest.savedAtMs, std::int64_t{1234});
        // resuming upgrades it in place
        run::RunStore store = run::RunStore::open(oldStudio, "trpo-train");
        QVERIFY(fs::exists(oldStudio / "manifest.json"));
        QVERIFY(fs::exists(oldStudio / "history.jsonl"));
        QVERIFY(!fs::exists(oldStudio / "history.json"));
        QCOMPARE(run::readRun(oldStudio).history.size(), size_t(3));
    }

    void eventsAreTyped() {
        const std::vector<run::Event> all = {
            {0, run::Started{"CartPole-v1", 7, "trpo-train"}}, {4, run::Hyperparameter{"delta", "0.01", "0.02"}},
            {5, run::LineSearchFailed{"kl_exceeded"}},          {9, run::Stopped{"budget reached"}},
            {9, run::Resumed{"trpo-train"}},                    {9, run::Opened{"/tmp/x"}},
            {12, run::RolledBack{10, "return_collapse", "Iteration 12: the mean return fell from 480 to 12"}}};
        for (const run::Event& e : all) {
            const run::Event back = run::eventFromJson(json::parse(run::eventToJson(e).dump()));
            QCOMPARE(back.iteration, e.iteration);
            QCOMPARE(back.what.index(), e.what.index());
            QCOMPARE(run::eventToJson(back).dump(), run::eventToJson(e).dump());
        }
        QCOMPARE(run::eventToJson(all[1]).at("type").get<std::string>(), std::string("hyperparameter"));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, run::eventFromJson(json{{"iteration", 1}, {"type", "party"}}));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, run::eventFromJson(json{{"type", "stopped"}}));
    }

    // trust_region.jsonl: one probe per probed iteration, read back whole, cut at the
    // checkpoint like the history
    void probesAreKeptWithTheRun() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        t.setProbeEvery(2);
        run::RunStore store = run::RunStore::create(tmp.path / "r", c, "trpo-train");
        std::vector<core::TrustRegionProbe> written;
        for (int i = 0; i < 5; ++i) {
            store.appendIteration(t.iterate());
            if (t.iteration() % 2 == 0) {
                written.push_back(*t.probeLastIteration());
                store.appendProbe(written.back());
            }
            if (t.iteration() == 4) store.saveCheckpoint(t);
        }
        store.appendProbe(*t.probeLastIteration()); // iteration 5, past the checkpoint
        const run::RunContents r = run::readRun(tmp.path / "r");
        QCOMPARE(r.probes.size(), size_t(2));
        for (size_t i = 0; i < 2; ++i) {
            QCOMPARE(r.probes[i].iteration, written[i].iteration);
            QCOMPARE(core::probeToJson(r.probes[i]).dump(), core::probeToJson(written[i]).dump());
        }
        run::RunStore::open(tmp.path / "r", "trpo-train");
        QCOMPARE(lines(tmp.path / "r" / "trust_region.jsonl"), 2);
        // a damaged probe names its file and record
        {
            std::ofstream(tmp.path / "r" / "trust_region.jsonl", std::ios::app) << "{\"iteration\": 9}\n";
        }
        try {
            run::readRun(tmp.path / "r");
            QFAIL("a damaged probe was accepted");
        } catch (const core::FileError& e) {
            QVERIFY2(std::string(e.what()).find("trust_region.jsonl: record 3") != std::string::npos, e.what());
        }
    }

    // episodes.jsonl: each iteration's best, median and worst episode come back exactly, cut
    // at the checkpoint like the history; a run without the file opens with none; a damaged
    // line names the file and the line
    void episodesAreKeptWithTheRun() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        run::RunStore store = run::RunStore::create(tmp.path / "r", c, "trpo-train");
        std::vector<core::IterationEpisodes> written;
        for (int i = 0; i < 4; ++i) {
            store.appendIteration(t.iterate());
            store.appendEpisodes(t.sampledEpisodes());
            if (!t.sampledEpisodes().empty()) written.push_back(t.sampledEpisodes());
            if (t.iteration() == 3) store.saveCheckpoint(t);
        }
        QVERIFY(written.size() >= 3);
        const run::RunContents r = run::readRun(tmp.path / "r");
        std::erase_if(written, [](const core::IterationEpisodes& e) { return e.iteration > 3; });
        QCOMPARE(r.episodes.size(), written.size());
        for (size_t i = 0; i < written.size(); ++i) QVERIFY(r.episodes[i] == written[i]);
        // resuming rewrites the file up to the checkpoint
        run::RunStore::open(tmp.path / "r", "trpo-train");
        QCOMPARE(lines(tmp.path / "r" / "episodes.jsonl"), static_cast<int>(written.size()));
        // an older run has no episodes.jsonl and opens all the same
        fs::remove(tmp.path / "r" / "episodes.jsonl");
        QVERIFY(run::readRun(tmp.path / "r").episodes.empty());
        // a damaged line names its file and line
        writeText(tmp.path / "r" / "episodes.jsonl",
                  core::episodesToJson(written[0]).dump() + "\n{\"iteration\": 2, \"best\": {\"seed\": 1}}\n");
        expectFileError([&] { run::readRun(tmp.path / "r"); }, {"episodes.jsonl: line 2", "the best episode has no"});
    }

    // trpo-train's guardrail: each diverged iteration is rolled back and recorded; after
    // max_rollbacks in a row the run says stop (trpo-train then exits with code 3)
    void guardRollsBackAndStops() {
        TempDir tmp;
        TrpoConfig c = smallConfig();
        c.maxRollbacks = 3;
        // NaN from step 700 of each copy's life on: every batch after the first is broken
        const EnvFactory nan = [inner = sim::environmentFactory(c.env)] {
            return std::make_unique<testutil::ScriptedEnvironment>(
                inner(),
                [](long step) { return step >= 300 ? std::optional<double>(std::nan("")) : std::nullopt; },
                nullptr);
        };
        Trainer t(c, nan);
        run::RunStore store = run::RunStore::create(tmp.path / "r", c, "trpo-train");
        int inARow = 0;
        std::vector<run::GuardOutcome> outcomes;
        for (int i = 0; i < 4; ++i) {
            const IterationStats s = t.iterate();
            store.appendIteration(s);
            outcomes.push_back(run::guardIteration(t, store, s, inARow));
            if (outcomes.back().stop) break;
        }
        QCOMPARE(outcomes.size(), size_t(4));
        QVERIFY(!outcomes[0].rolledBack);
        for (int i = 1; i < 4; ++i) {
            QVERIFY(outcomes[i].rolledBack);
            QCOMPARE(outcomes[i].restoredIteration, 1);
            QVERIFY(outcomes[i].explanation.find("NaN or inf") != std::string::npos);
        }
        QVERIFY(outcomes[3].stop && !outcomes[2].stop);
        QCOMPARE(inARow, 3);
        QVERIFY(t.state().critic.allFinite() && t.state().obsStats.mean.allFinite());
        const run::RunContents r = run::readRun(tmp.path / "r");
        int rolledBack = 0;
        for (const run::Event& e : r.events)
            if (const auto* rb = std::get_if<run::RolledBack>(&e.what)) {
                ++rolledBack;
                QCOMPARE(rb->divergence, std::string("non_finite_environment"));
            }
        QCOMPARE(rolledBack, 3);
        QCOMPARE(r.rolledBackIterations(), (std::vector<int>{2, 3, 4}));
    }

    // "Save run as" is an atomic copy
    void copiesAreAtomicAndRefuseStrangers() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        run::RunStore store = run::RunStore::create(tmp.path / "live", c, "trpo-studio");
        for (int i = 0; i < 2; ++i) store.appendIteration(t.iterate());
        store.saveCheckpoint(t);
        run::copyRun(tmp.path / "live", tmp.path / "copy.trporun");
        QCOMPARE(readFileText(tmp.path / "copy.trporun" / "history.jsonl"), readFileText(tmp.path / "live" / "history.jsonl"));
        QVERIFY(!fs::exists(tmp.path / "copy.trporun.saving"));
        QVERIFY(!fs::exists(tmp.path / "copy.trporun.old"));
        // a later copy replaces the earlier one
        store.appendIteration(t.iterate());
        store.saveCheckpoint(t);
        run::copyRun(tmp.path / "live", tmp.path / "copy.trporun");
        QCOMPARE(run::readRun(tmp.path / "copy.trporun").history.size(), size_t(3));
        // never over something that is not a run
        fs::create_directories(tmp.path / "photos");
        writeText(tmp.path / "photos" / "cat.jpg", "meow");
        expectFileError([&] { run::copyRun(tmp.path / "live", tmp.path / "photos"); }, {"photos", "does not hold a run"});
        QCOMPARE(readFileText(tmp.path / "photos" / "cat.jpg"), std::string("meow"));
        // an interrupted copy: the previous version (.old) still opens
        fs::rename(tmp.path / "copy.trporun", tmp.path / "copy.trporun.old");
        QCOMPARE(run::readRun(tmp.path / "copy.trporun").history.size(), size_t(3));
    }

    void damagedRunsGiveClearMessages() {
        TempDir tmp;
        const TrpoConfig c = smallConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        const fs::path dir = tmp.path / "r";
        run::RunStore store = run::RunStore::create(dir, c, "trpo-train");
        for (int i = 0; i < 3; ++i) store.appendIteration(t.iterate());
        store.saveCheckpoint(t);
        const std::string manifest = readFileText(dir / "manifest.json");
        const std::string history = readFileText(dir / "history.jsonl");
        const std::vector<std::uint8_t> ckpt = readFileBytes(dir / "checkpoints" / "latest.ckpt");
        auto restore = [&] {
            writeText(dir / "manifest.json", manifest);
            writeText(dir / "history.jsonl", history);
            writeFileAtomic(dir / "checkpoints" / "latest.ckpt", ckpt);
        };

        expectFileError([&] { run::readRun(tmp.path / "nowhere"); }, {"nowhere", "no such run directory"});
        fs::create_directories(tmp.path / "empty");
        expectFileError([&] { run::readRun(tmp.path / "empty"); }, {"not a run directory"});

        writeText(dir / "manifest.json", "");
        expectFileError([&] { run::readRun(dir); }, {"manifest.json"});
        json newer = json::parse(manifest);
        newer["version"] = 99;
        writeText(dir / "manifest.json", newer.dump());
        expectFileError([&] { run::readRun(dir); }, {"manifest.json", "newer"});
        restore();

        // a bad line in the middle names its number; a last line cut short by a crash is dropped
        std::string broken = history;
        broken.insert(history.find('\n') + 1, "{\"iteration\": oops}\n");
        writeText(dir / "history.jsonl", broken);
        expectFileError([&] { run::readRun(dir); }, {"history.jsonl", "line 2"});
        restore();
        store.appendIteration(t.iterate());
        const std::string four = readFileText(dir / "history.jsonl");
        writeText(dir / "history.jsonl", four.substr(0, four.size() - 40));
        QCOMPARE(run::readRun(dir).history.size(), size_t(3));
        restore();

        std::vector<std::uint8_t> flipped = ckpt;
        flipped[flipped.size() / 2] ^= 0x10;
        writeFileAtomic(dir / "checkpoints" / "latest.ckpt", flipped);
        expectFileError([&] { run::readRun(dir); }, {"latest.ckpt", "checksum"});
        restore();

        fs::remove(dir / "checkpoints" / "latest.ckpt");
        expectFileError([&] { run::readRun(dir); }, {"latest.ckpt", "missing"});
        restore();

        writeText(dir / "events.jsonl", "{\"iteration\":0,\"type\":\"party\"}\n");
        expectFileError([&] { run::readRun(dir); }, {"events.jsonl", "party"});
    }
};

QTEST_APPLESS_MAIN(TestRunStore)
#include "test_run_store.moc"
