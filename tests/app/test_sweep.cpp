// Sweeps (README "Sweeps"): the grid and the rank assignment; trpo-train --sweep as a user runs
// it, every cell bit for bit the run trpo-train makes alone with its value and seed (timing
// columns aside), its manifest and summary; a cell whose environment throws is failed with its
// reason while the others finish; an interrupted sweep resumed with --resume equals one that
// never stopped; bad --sweep/--seeds/--out input exits 2 naming the flag.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <stdexcept>

#include "core/presets.h"
#include "run/sweep.h"
#include "sim/registry.h"

#include "support/train_cli_util.h"

namespace {
using Result = testutil::TrainResult;
Result train(const QStringList& args) { return testutil::runTrain(args); }
QStringList rows(const QString& dir) { return testutil::progressRowsWithoutTiming(dir); }

QJsonObject readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

const QStringList kSmall{"--env", "CartPole-v1", "--steps-per-iteration", "512", "--checkpoint-every", "0", "--quiet"};

// a sweep manifest of CartPole made in the process (the same one trpo-train would write)
run::SweepManifest smallManifest(const std::string& deltas, const std::string& seeds, int iterations) {
    run::SweepManifest m;
    m.base = core::presetConfig("CartPole-v1");
    m.base.stepsPerIteration = 512;
    m.threads = 2;
    m.budget.iterations = iterations;
    m.budget.checkpointEvery = 0;
    m.axes.push_back(run::parseSweepAxis("delta=" + deltas, m.base));
    m.seeds = run::parseSeeds(seeds);
    m.cells = run::sweepGrid(m.axes, m.seeds);
    return m;
}
} // namespace

class TestSweep : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    QString path(const QString& name) const { return m_tmp.path() + "/" + name; }

private slots:
    void gridAndAssignment() {
        const core::TrpoConfig base = core::presetConfig("CartPole-v1");
        QCOMPARE(run::parseSeeds("1-5"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
        QCOMPARE(run::parseSeeds("1,3,7"), (std::vector<std::uint64_t>{1, 3, 7}));
        QCOMPARE(run::parseSeeds("0-1, 9"), (std::vector<std::uint64_t>{0, 1, 9}));
        for (const char* bad : {"", "1-", "a", "5-1", "1,1", "-3", "1.5"})
            QVERIFY_THROWS_EXCEPTION(core::ConfigError, run::parseSeeds(bad));

        const run::SweepAxis d = run::parseSweepAxis("delta=0.001,0.01", base);
        const run::SweepAxis h = run::parseSweepAxis("hidden=16:16,32", base); // cold, a list
        QCOMPARE(h.key, std::string("hidden"));
        QVERIFY_THROWS_EXCEPTION(core::ConfigError, run::parseSweepAxis("delta=0.01,0.010", base));
        QVERIFY_THROWS_EXCEPTION(core::ConfigError, run::parseSweepAxis("seed=1,2", base));

        // the product: the first axis outermost, the seeds innermost
        const std::vector<run::SweepCell> g = run::sweepGrid({d, h}, {1, 2});
        QCOMPARE(g.size(), size_t(8));
        QCOMPARE(g[0].dir.string(), std::string("delta-0.001_hidden-16_16_seed-1"));
        QCOMPARE(g[1].seed, std::uint64_t(2));
        QCOMPARE(g[2].values, (std::vector<std::string>{"0.001", "32"}));
        QCOMPARE(g[4].values, (std::vector<std::string>{"0.01", "16:16"}));
        run::SweepManifest m;
        m.base = base;
        m.axes = {d, h};
        QCOMPARE(run::cellConfig(m, g[0]).hidden, (std::vector<int>{16, 16}));
        QCOMPARE(run::cellConfig(m, g[7]).seed, std::uint64_t(2));
        // the conv layers joined with ':' as well ("16x8/4:32x4/2" is the setting 16x8/4,32x4/2)
        const run::SweepAxis cl = run::parseSweepAxis("conv_layers=16x8/4:32x4/2,8x3", base);
        QCOMPARE(cl.values, (std::vector<std::string>{"16x8/4:32x4/2", "8x3"}));
        run::SweepManifest mc;
        mc.base = base;
        mc.axes = {cl};
        const std::vector<run::SweepCell> gc = run::sweepGrid({cl}, {1});
        QCOMPARE(run::cellConfig(mc, gc[0]).convLayers, (std::vector<core::ConvLayerSpec>{{16, 8, 4}, {32, 4, 2}}));
        QCOMPARE(run::cellConfig(mc, gc[1]).convLayers, (std::vector<core::ConvLayerSpec>{{8, 3, 1}}));

        // round robin: every cell exactly once over the ranks, in the grid's order
        QCOMPARE(run::cellsForRank(7, 0, 1), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
        QCOMPARE(run::cellsForRank(7, 0, 3), (std::vector<int>{0, 3, 6}));
        QCOMPARE(run::cellsForRank(7, 2, 3), (std::vector<int>{2, 5}));
        QCOMPARE(run::cellsForRank(2, 3, 4), std::vector<int>{});
        std::vector<int> seen(20, 0);
        for (int r = 0; r < 6; ++r)
            for (int c : run::cellsForRank(20, r, 6)) ++seen[static_cast<size_t>(c)];
        QCOMPARE(seen, std::vector<int>(20, 1));

        const run::Band b = run::bandOf({{}, {}}, [](const core::IterationStats& s) { return s.recentReturnMean; });
        QVERIFY(b.iteration.empty());
        const std::optional<run::Spread> sp = run::spreadOf({4, 1, 3, 10});
        QCOMPARE(sp->median, 3.5);
        QCOMPARE(sp->min, 1.0);
        QCOMPARE(sp->max, 10.0);
    }

    // 2 δ × 2 seeds: each cell is the lone run with its δ and seed; manifest and summary
    void sweepEqualsLoneRuns() {
        const QString dir = path("sweep");
        Result r = train(kSmall + QStringList{"--sweep", "delta=0.005,0.02", "--seeds", "4-5", "--iterations", "3",
                                            "--threads", "2", "--out", dir});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("final return"), qPrintable(r.out));
        const QJsonObject m = readJson(dir + "/sweep.json");
        QCOMPARE(m["format"].toString(), QString("trpo-studio-sweep"));
        QCOMPARE(m["version"].toInt(), 1);
        const QJsonArray cells = m["cells"].toArray();
        QCOMPARE(cells.size(), 4);
        for (const QString delta : {"0.005", "0.02"})
            for (const QString seed : {"4", "5"}) {
                const QString name = "delta-" + delta + "_seed-" + seed;
                const QJsonObject cell = cells[(delta == "0.02" ? 2 : 0) + (seed == "5" ? 1 : 0)].toObject();
                QCOMPARE(cell["dir"].toString(), name);
                QCOMPARE(cell["status"].toString(), QString("done"));
                QCOMPARE(cell["values"].toObject()["delta"].toString(), delta);
                const QString alone = path("alone-" + name);
                r = train(kSmall + QStringList{"--delta", delta, "--seed", seed, "--iterations", "3", "--out", alone});
                QVERIFY2(r.code == 0, qPrintable(r.err));
                const QStringList mine = rows(dir + "/" + name), theirs = rows(alone);
                QCOMPARE(mine.size(), 3);
                QCOMPARE(mine, theirs);
                QVERIFY(QFile::exists(dir + "/" + name + "/policy.json"));
            }
        // the summary: one line per δ over its two seeds
        QFile csv(dir + "/summary.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines[1].startsWith("\"delta=0.005\",2,2,0,"));
        const QJsonArray settings = readJson(dir + "/summary.json")["settings"].toArray();
        QCOMPARE(settings.size(), 2);
        const QJsonObject fr = settings[1].toObject()["final_return"].toObject();
        QVERIFY(fr["min"].toDouble() <= fr["median"].toDouble() && fr["median"].toDouble() <= fr["max"].toDouble());
        // the median of the two seeds' final returns, read back from their runs
        const run::RunContents a = run::readRun((dir + "/delta-0.02_seed-4").toStdString());
        const run::RunContents b = run::readRun((dir + "/delta-0.02_seed-5").toStdString());
        QCOMPARE(fr["median"].toDouble(), 0.5 * (*a.history.back().recentReturnMean + *b.history.back().recentReturnMean));

        // the directory is a sweep now: a second sweep into it is refused, resuming it is a no-op
        r = train(kSmall + QStringList{"--sweep", "delta=0.01,0.02", "--iterations", "1", "--out", dir});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--out") && r.err.contains("already holds a sweep"), qPrintable(r.err));
        r = train({"--resume", dir, "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(rows(dir + "/delta-0.005_seed-4").size(), 3);
    }

    // a cell whose environment throws fails with its reason; the others complete
    void failingCell() {
        const std::filesystem::path dir = path("failing").toStdString();
        std::filesystem::create_directories(dir);
        run::SweepManifest m = smallManifest("0.005,0.02", "1-2", 2);
        run::writeSweepManifest(dir, m);
        run::SweepOptions o;
        o.factory = [](const core::TrpoConfig& cfg) -> core::EnvFactory {
            if (cfg.delta == 0.02 && cfg.seed == 1)
                return [] () -> std::unique_ptr<core::Environment> { throw std::runtime_error("the simulator crashed"); };
            return sim::environmentFactory(cfg.env);
        };
        int ended = 0;
        o.onCellEnd = [&](int) { ++ended; };
        run::runSweep(dir, m, o);
        QCOMPARE(ended, 4);
        const run::SweepManifest back = run::readSweepManifest(dir);
        for (size_t i = 0; i < back.cells.size(); ++i) {
            const bool bad = i == 2;
            QCOMPARE(back.cells[i].status, bad ? run::CellStatus::Failed : run::CellStatus::Done);
            if (bad) QVERIFY2(back.cells[i].reason.find("the simulator crashed") != std::string::npos, back.cells[i].reason.c_str());
        }
        const std::vector<run::SettingSummary> s = run::summarizeSweep(dir, back, 475.0);
        QCOMPARE(s.size(), size_t(2));
        QCOMPARE(s[1].failed, 1);
        QCOMPARE(s[1].done, 1);
        QCOMPARE(s[0].done, 2);
        QVERIFY(s[0].rejections.has_value());
        QVERIFY(run::sweepTable(s, 475.0).find("delta=0.02") != std::string::npos);
    }

    // through trpo-train: a cell that cannot write its directory (something else is in its
    // place) fails with its reason, the other is done, the exit code is 3; the file is kept
    void failingCellExitCode() {
        const std::filesystem::path dir = path("blocked").toStdString();
        std::filesystem::create_directories(dir);
        run::SweepManifest m = smallManifest("0.005,0.02", "3", 1);
        run::writeSweepManifest(dir, m);
        QFile block(QString::fromStdString((dir / m.cells[1].dir).string()));
        QVERIFY(block.open(QIODevice::WriteOnly));
        block.write("not a run\n");
        block.close();
        const Result r = train({"--resume", QString::fromStdString(dir.string()), "--quiet"});
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("delta-0.02_seed-3") && r.err.contains("not a directory"), qPrintable(r.err));
        QVERIFY2(r.err.contains("1 of 2 cells failed"), qPrintable(r.err));
        const run::SweepManifest back = run::readSweepManifest(dir);
        QCOMPARE(back.cells[0].status, run::CellStatus::Done);
        QCOMPARE(back.cells[1].status, run::CellStatus::Failed);
        QVERIFY(back.cells[1].reason.find("not a directory") != std::string::npos);
        QVERIFY(block.open(QIODevice::ReadOnly));
        QCOMPARE(block.readAll(), QByteArray("not a run\n"));
    }

    // stopped mid-cell: the cell in progress is interrupted, the rest pending; --resume
    // finishes them and every cell equals the run made alone
    void resumeInterrupted() {
        const std::filesystem::path dir = path("resumed").toStdString();
        std::filesystem::create_directories(dir);
        run::SweepManifest m = smallManifest("0.005,0.02", "7", 4);
        m.threads = 1;
        m.budget.checkpointEvery = 1;
        run::writeSweepManifest(dir, m);
        std::atomic<bool> stop{false};
        run::SweepOptions o;
        o.cancel = &stop;
        o.factory = [](const core::TrpoConfig& cfg) { return sim::environmentFactory(cfg.env); };
        o.onIteration = [&](int c, const core::IterationStats& s, const std::string&) {
            if (c == 0 && s.iteration == 2) stop = true;
        };
        run::runSweep(dir, m, o);
        run::SweepManifest back = run::readSweepManifest(dir);
        QCOMPARE(back.cells[0].status, run::CellStatus::Interrupted);
        QCOMPARE(back.cells[1].status, run::CellStatus::Pending);
        QCOMPARE(rows(QString::fromStdString((dir / back.cells[0].dir).string())).size(), 2);

        const Result r = train({"--resume", QString::fromStdString(dir.string()), "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        back = run::readSweepManifest(dir);
        for (const run::SweepCell& c : back.cells) {
            QCOMPARE(c.status, run::CellStatus::Done);
            const QString alone = path("alone-" + QString::fromStdString(c.dir.string()));
            const Result a = train(kSmall + QStringList{"--delta", QString::fromStdString(c.values[0]), "--seed", "7",
                                                      "--iterations", "4", "--out", alone});
            QVERIFY2(a.code == 0, qPrintable(a.err));
            QCOMPARE(rows(QString::fromStdString((dir / c.dir).string())), rows(alone));
        }
        QVERIFY(std::filesystem::exists(dir / "summary.json"));
    }

    // the fuzz target's seed inputs load; damaged manifests are refused naming the file
    void manifestChecks() {
        const QString corpus = QStringLiteral(TRPO_TEST_SOURCE_DIR) + "/fuzz/corpus/sweep/";
        const QStringList files = QDir(corpus).entryList(QDir::Files);
        QVERIFY(files.size() >= 3);
        for (const QString& f : files) {
            QFile in(corpus + f);
            QVERIFY(in.open(QIODevice::ReadOnly));
            const run::SweepManifest m = run::parseSweepManifest(in.readAll().toStdString(), f.toStdString());
            QCOMPARE(m.cells.size(), run::sweepGrid(m.axes, m.seeds).size());
        }
        QFile in(corpus + "mixed-statuses.json");
        QVERIFY(in.open(QIODevice::ReadOnly));
        const std::string good = in.readAll().toStdString();
        const run::SweepManifest m = run::parseSweepManifest(good, "x/sweep.json");
        QCOMPARE(m.cells[1].status, run::CellStatus::Failed);
        QCOMPARE(m.cells[1].reason, std::string("the simulator crashed"));
        auto refused = [&](const std::string& from, const std::string& to, const char* says) {
            std::string bad = good;
            const size_t at = bad.find(from);
            QVERIFY2(at != std::string::npos, from.c_str());
            bad.replace(at, from.size(), to);
            try {
                run::parseSweepManifest(bad, "x/sweep.json");
                QFAIL(("accepted: " + to).c_str());
            } catch (const core::FileError& e) {
                const std::string what = e.what();
                QVERIFY2(what.rfind("x/sweep.json: ", 0) == 0 && what.find(says) != std::string::npos, e.what());
            }
        };
        refused("\"trpo-studio-sweep\"", "\"trpo-studio-fork\"", "not a sweep manifest");
        refused("\"version\": 1", "\"version\": 9", "format version 9");
        refused("\"delta-0.01_seed-2\"", "\"../elsewhere\"", "dir is not delta-0.01_seed-2");
        refused("\"failed\"", "\"exploded\"", "unknown status");
        refused("\"0.03\"\n", "\"-1\"\n", "axes: --sweep: delta=-1");
        refused("\"seeds\": [", "\"seeds\": [1, ", "seeds:");
        refused("\"cells\": [", "\"cells\": 3, \"x\": [", "cells");
    }

    void badInput_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown key") << QStringList{"--sweep", "deltaa=1,2"} << "--sweep: unknown setting 'deltaa'";
        QTest::newRow("bad value") << QStringList{"--sweep", "delta=0.01,-1"} << "--sweep: delta=-1";
        QTest::newRow("no =") << QStringList{"--sweep", "delta"} << "--sweep: expected KEY=V1,V2";
        QTest::newRow("twice") << QStringList{"--sweep", "delta=1", "--sweep", "delta=2"} << "delta is swept twice";
        QTest::newRow("seeds") << QStringList{"--sweep", "delta=0.01", "--seeds", "1-x"} << "--seeds: 'x'";
        QTest::newRow("seed and seeds") << QStringList{"--seeds", "1-2", "--seed", "3"} << "--seed and --seeds";
        QTest::newRow("combination") << QStringList{"--sweep", "num_envs=2,8", "--sweep", "steps_per_iteration=8,64"}
                                     << "--sweep: the cell num_envs-8_steps_per_iteration-8_seed-";
        QTest::newRow("video") << QStringList{"--seeds", "1-2", "--record-video", "1"} << "--record-video cannot";
    }
    void badInput() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Result r = train(kSmall + args + QStringList{"--iterations", "1", "--out", path("never")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(!QFile::exists(path("never")));
    }
    void outNotASweep() {
        QDir().mkpath(path("occupied"));
        QFile f(path("occupied/notes.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("mine\n");
        f.close();
        Result r = train(kSmall + QStringList{"--seeds", "1-2", "--iterations", "1", "--out", path("occupied")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--out") && r.err.contains("is not a sweep"), qPrintable(r.err));
        // a damaged manifest is refused naming the file
        QDir().mkpath(path("damaged"));
        QFile d(path("damaged/sweep.json"));
        QVERIFY(d.open(QIODevice::WriteOnly));
        d.write("{\"format\": \"trpo-studio-sweep\", \"version\": 1}");
        d.close();
        r = train({"--resume", path("damaged")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("sweep.json"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "test_sweep.moc"
