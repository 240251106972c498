// trpo-train: the engine headless. Parses and validates everything before any work starts;
// bad input gets a message naming the problem and exit code 2.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QGuiApplication>
#include <atomic>
#include <csignal>
#include <cstring>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/presets.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "dist/collective_mpi.h"
#include "export/onnx_export.h"
#include "run/fork.h"
#include "run/run_store.h"
#include "run/sweep.h"
#include "sim/registry.h"
#include "video/clip_recorder.h"

namespace {

std::atomic<bool> g_stop{false};
// a data-parallel run's rank 0: what to do once mpirun ends the job (it sends SIGTERM to the
// ranks left when one dies, and on Ctrl+C); written from the signal handler, once
char g_endNote[1024] = "";
std::atomic<bool> g_endNoted{false};
void onSignal(int) {
    g_stop = true;
    if (g_endNote[0] && !g_endNoted.exchange(true)) {
        const ssize_t ignored = ::write(2, g_endNote, std::strlen(g_endNote));
        (void)ignored;
    }
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "trpo-train: %s\n", msg.c_str());
    return 2;
}

std::string flagName(const std::string& key) {
    std::string s = key;
    for (char& c : s)
        if (c == '_') c = '-';
    return s;
}

double parseNumber(const QString& text, const char* flag) {
    bool ok = false;
    const double v = text.toDouble(&ok);
    if (!ok) throw core::ConfigError(std::string("--") + flag + ": '" + text.toStdString() + "' is not a number");
    return v;
}

// trpo-train --fork RUN --at ITER --vary KEY=V1,V2,...: 2-6 variants of RUN's state at
// ITER train side by side on the thread budget (run/fork.h, README "Forks")
int runFork(const QCommandLineParser& p, const run::Budget& budget, bool quiet) {
    std::filesystem::path outDir;
    run::RunSet set;
    run::ForkManifest manifest;
    int threads = 0;
    try {
        for (const char* other : {"resume", "config", "inspect-every", "record-video", "sweep", "seeds"})
            if (p.isSet(other)) throw core::ConfigError(std::string("--") + other + " cannot be combined with --fork");
        for (const core::ConfigField& f : core::configFields())
            if (f.key != "threads" && p.isSet(QString::fromStdString(flagName(f.key))))
                throw core::ConfigError("--" + flagName(f.key) +
                                        ": a fork takes its settings from the run; vary one with --vary " + f.key +
                                        "=V1,V2,...");
        if (!p.isSet("at")) throw core::ConfigError("--fork needs --at ITER (the iteration to fork from)");
        if (!p.isSet("vary")) throw core::ConfigError("--fork needs --vary KEY=V1,V2,... (2 to 6 values)");
        const double atValue = parseNumber(p.value("at"), "at");
        if (!(atValue >= 0 && atValue <= 1e9) || atValue != std::floor(atValue))
            throw core::ConfigError("--at must be a whole number >= 0");
        const int at = static_cast<int>(atValue);
        const std::filesystem::path parentDir = p.value("fork").toStdString();
        if (!std::filesystem::is_directory(parentDir))
            throw core::FileError(parentDir.string() + ": no such run directory");
        const run::RunContents parent = run::readRun(parentDir);
        const int have = static_cast<int>(parent.history.size());
        if (at > have)
            throw core::ConfigError("--at " + std::to_string(at) + ": the run " + parentDir.string() +
                                    " has iterations 0 to " + std::to_string(have));
        const run::VarySpec vary = run::parseVary(p.value("vary").toStdString(), parent.config);
        threads = parent.config.threads;
        if (p.isSet("threads")) {
            core::TrpoConfig probe;
            try {
                core::setConfigValue(probe, "threads", p.value("threads").toStdString());
            } catch (const core::ConfigError& e) {
                throw core::ConfigError(std::string("--threads: ") + e.what());
            }
            threads = probe.threads;
        }
        outDir = p.isSet("out") ? std::filesystem::path(p.value("out").toStdString())
                                : std::filesystem::path(std::filesystem::absolute(parentDir).lexically_normal().string() +
                                                        "-fork" + std::to_string(at) + "-" + vary.key);
        std::error_code ec;
        if (std::filesystem::exists(outDir, ec) &&
            !(std::filesystem::is_directory(outDir, ec) && std::filesystem::is_empty(outDir, ec)))
            throw core::FileError(outDir.string() + ": exists and is not empty; choose another --out");

        // the state at the fork iteration (trained again from the run's start unless the
        // checkpoint was taken there), on the whole thread budget
        const core::EnvFactory factory = sim::environmentFactory(parent.config.env);
        if (!quiet)
            std::printf("trpo-train: fork of %s at iteration %d, %s = %s%s\n", parentDir.string().c_str(), at,
                        vary.key.c_str(), p.value("vary").section('=', 1).toStdString().c_str(),
                        parent.manifest.checkpointIteration == at && !parent.checkpoint.empty()
                            ? " (from the checkpoint)"
                            : " (training the run again up to it)");
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
        core::TrainerState forkState;
        try {
            forkState = run::stateAt(parent, at, factory, threads, &g_stop);
        } catch (const core::Interrupted&) {
            std::fprintf(stderr, "trpo-train: interrupted before the fork was made; nothing written\n");
            return 130;
        } catch (const core::ConfigError&) {
            throw;
        } catch (const core::FileError&) {
            throw;
        } catch (const std::runtime_error& e) {
            throw core::FileError(e.what());
        }

        // one run directory per variant, then the manifest
        manifest = run::createFork(outDir, parent, at, forkState, vary, factory, "trpo-train", set);
    } catch (const core::ConfigError& e) {
        return fail(e.what());
    } catch (const core::FileError& e) {
        return fail(e.what());
    }

    // ---- side by side ----
    try {
        if (!quiet)
            std::printf("trpo-train: %d variants on %d threads -> %s\n", set.size(), threads, outDir.string().c_str());
        std::fflush(stdout);
        set.train(budget, threads, &g_stop, [&](int m, const core::IterationStats& s, const std::string& note) {
            if (!quiet) std::printf("[%s] %s\n", set.member(m).label.c_str(), core::progressLine(s).c_str());
            if (!note.empty()) std::fprintf(stderr, "trpo-train: [%s] %s\n", set.member(m).label.c_str(), note.c_str());
            std::fflush(stdout);
        });
        bool diverged = false;
        for (int m = 0; m < set.size(); ++m) {
            run::RunSet::Member& v = set.member(m);
            const auto r = v.trainer.recentReturnMean();
            std::printf("trpo-train: [%s] %s after %d iterations, %lld steps; mean return of the last %zu episodes: %s\n",
                        v.label.c_str(), v.why.c_str(), v.trainer.iteration(),
                        static_cast<long long>(v.trainer.envSteps()), v.trainer.recentReturns().size(),
                        r ? std::to_string(*r).c_str() : "-");
            diverged = diverged || v.why == "diverged";
        }
        // the comparison, from the files just written
        const std::optional<double> solved = sim::makeEnvironment(manifest.env)->spec().rewardThreshold;
        std::vector<run::VariantSummary> rows;
        for (int m = 0; m < set.size(); ++m)
            rows.push_back(run::summarize(set.member(m).label,
                                          run::readRun(outDir / manifest.variants[static_cast<size_t>(m)].dir).history,
                                          manifest.forkIteration, solved));
        std::printf("\n%s", run::comparisonTable(rows, solved).c_str());
        return diverged ? 3 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trpo-train: error: %s\n", e.what());
        return 1;
    }
}

// trpo-train --sweep KEY=V1,V2,... [--sweep KEY2=...] --seeds 1-5, or --resume of a sweep
// directory: the grid as independent runs, a manifest and a summary (run/sweep.h, README
// "Sweeps"). Exit code 0 when every cell is done, 3 when some failed, 130 when interrupted.
// Under mpirun (world) the ranks take the cells in turn (run::SweepOptions::collective);
// rank 0 alone writes sweep.json and the summary and reports the cells.
int runSweepCli(const std::filesystem::path& dir, run::SweepManifest& m, bool quiet, core::Collective* world) {
    const bool rank0 = !world || world->rank() == 0;
    const std::optional<double> solved = sim::makeEnvironment(m.base.env)->spec().rewardThreshold;
    int already = 0;
    for (const run::SweepCell& c : m.cells) already += c.status == run::CellStatus::Done;
    if (!quiet) {
        if (core::distributed(world))
            std::printf("trpo-train: sweep of %zu cells (%d done) on %d MPI ranks x %d threads -> %s\n", m.cells.size(),
                        already, world->size(), m.threads, dir.string().c_str());
        else
            std::printf("trpo-train: sweep of %zu cells (%d done) on %d threads -> %s\n", m.cells.size(), already,
                        m.threads, dir.string().c_str());
    }
    std::fflush(stdout);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    run::SweepOptions o;
    o.collective = world;
    o.cancel = &g_stop;
    o.factory = [](const core::TrpoConfig& cfg) { return sim::environmentFactory(cfg.env); };
    o.onIteration = [&](int c, const core::IterationStats& s, const std::string& note) {
        const run::SweepCell& cell = m.cells[static_cast<size_t>(c)];
        if (!quiet) std::printf("[%s] %s\n", cell.dir.string().c_str(), core::progressLine(s).c_str());
        if (!note.empty()) std::fprintf(stderr, "trpo-train: [%s] %s\n", cell.dir.string().c_str(), note.c_str());
        std::fflush(stdout);
    };
    o.onCellEnd = [&](int c) {
        if (!rank0) return; // rank 0 hears how every rank's cells ended
        const run::SweepCell& cell = m.cells[static_cast<size_t>(c)];
        std::FILE* to = cell.status == run::CellStatus::Failed ? stderr : stdout;
        std::fprintf(to, "trpo-train: cell %s: %s (%s)\n", cell.dir.string().c_str(), run::cellStatusName(cell.status),
                     cell.reason.c_str());
        std::fflush(to);
    };
    try {
        run::runSweep(dir, m, o); // every rank's manifest now holds every cell's status
        if (rank0) {
            const std::vector<run::SettingSummary> rows = run::summarizeSweep(dir, m, solved);
            run::writeSweepSummary(dir, rows, solved);
            std::printf("\n%s", run::sweepTable(rows, solved).c_str());
        }
    } catch (const std::exception& e) {
        // a failed manifest write is agreed by every rank: rank 0 says it
        if (rank0) std::fprintf(stderr, "trpo-train: error: %s\n", e.what());
        return 1;
    }
    int failed = 0, open = 0;
    for (const run::SweepCell& c : m.cells) {
        failed += c.status == run::CellStatus::Failed;
        open += c.status != run::CellStatus::Done && c.status != run::CellStatus::Failed;
    }
    if (!rank0) return open > 0 ? 130 : failed > 0 ? 3 : 0;
    for (const run::SweepCell& c : m.cells)
        if (c.status == run::CellStatus::Failed)
            std::fprintf(stderr, "trpo-train: cell %s failed: %s\n", c.dir.string().c_str(), c.reason.c_str());
    if (open > 0) {
        std::fprintf(stderr, "trpo-train: interrupted with %d cells not done; continue with --resume %s\n", open,
                     dir.string().c_str());
        return 130;
    }
    if (failed > 0) {
        std::fprintf(stderr, "trpo-train: %d of %zu cells failed (the others are done)\n", failed, m.cells.size());
        return 3;
    }
    return 0;
}

// ---- data-parallel runs (README "Running on several machines (MPI)") ---------------------
// Under mpirun every rank parses the same flags and trains the same run; rank 0 alone prints
// and writes the run directory. Decisions a rank could take alone (a bad setting, a file it
// cannot read, Ctrl+C) are agreed on first, so no rank waits forever in an exchange.

// every rank's error message (empty: none) reaches every rank; returns the first one, from
// the lowest rank, prefixed with that rank when it is not rank 0
std::optional<std::string> agreeOnError(core::Collective* world, const std::string& mine) {
    if (!core::distributed(world)) return mine.empty() ? std::nullopt : std::optional<std::string>(mine);
    const auto blocks = world->allGather(std::vector<std::uint8_t>(mine.begin(), mine.end()));
    for (size_t r = 0; r < blocks.size(); ++r)
        if (!blocks[r].empty())
            return (r == 0 ? std::string() : "rank " + std::to_string(r) + ": ") +
                   std::string(blocks[r].begin(), blocks[r].end());
    return std::nullopt;
}

// rank 0's bytes, on every rank
std::vector<std::uint8_t> fromRank0(core::Collective* world, const std::vector<std::uint8_t>& mine) {
    if (!core::distributed(world)) return mine;
    return world->allGather(world->rank() == 0 ? mine : std::vector<std::uint8_t>{})[0];
}

// A test hook for the fault tests (README "Running on several machines (MPI)"):
// TRPO_TEST_KILL_RANK=R:K kills rank R with SIGKILL as iteration K starts, as a crashed
// node would end it.
void maybeKillForTest(core::Collective* world, int nextIteration) {
    const char* v = std::getenv("TRPO_TEST_KILL_RANK");
    if (!v || !world) return;
    int rank = -1, iteration = -1;
    if (std::sscanf(v, "%d:%d", &rank, &iteration) == 2 && rank == world->rank() && iteration == nextIteration) {
        std::fprintf(stderr, "trpo-train: rank %d: killed at iteration %d (TRPO_TEST_KILL_RANK)\n", rank, iteration);
        std::fflush(stderr);
        std::raise(SIGKILL);
    }
}

// what the exchanges cost, over all ranks: printed by rank 0 at the end of a data-parallel run
void printMpiStats(core::Collective& world, int iterations, double wallSeconds, std::int64_t steps) {
    const core::CollectiveStats mine = world.stats();
    core::ByteWriter w;
    w.put(mine);
    const auto blocks = world.allGather(w.bytes);
    if (world.rank() != 0 || iterations <= 0) return;
    std::string perRank;
    double bytes = 0;
    std::int64_t calls = 0;
    for (size_t r = 0; r < blocks.size(); ++r) {
        core::ByteReader rd(blocks[r]);
        const auto st = rd.get<core::CollectiveStats>();
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%zu: %.1f ms", r ? ", " : "", r, 1e3 * st.seconds / iterations);
        perRank += buf;
        bytes = std::max(bytes, static_cast<double>(st.bytes));
        calls = std::max(calls, st.calls);
    }
    std::printf("trpo-train: MPI: %d ranks, %.0f steps/s; per iteration %lld exchanges, %.3f MB sent+received by the "
                "busiest rank; time in MPI calls per iteration (rank %s)\n",
                world.size(), wallSeconds > 0 ? static_cast<double>(steps) / wallSeconds : 0.0,
                static_cast<long long>(calls / iterations), bytes / iterations / 1e6, perRank.c_str());
}

// "rank R: " in a data-parallel run's messages
std::string rankPrefix(const core::Collective* world) {
    return core::distributed(world) ? "rank " + std::to_string(world->rank()) + ": " : std::string();
}
// a rank that fails mid-run ends the whole job (the others may be waiting for it in an
// exchange); the run directory keeps its last checkpoint
int endJob(const core::Collective* world, int code) {
    if (core::distributed(world)) dist::abortJob(code);
    return code;
}

// --record-video paints frames with text, which needs a QGuiApplication (on the offscreen
// platform when there is no display); every other run stays a QCoreApplication
bool wantsVideo(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--record-video", 14) == 0) return true;
    return false;
}
std::unique_ptr<QCoreApplication> makeApplication(int& argc, char** argv) {
    if (!wantsVideo(argc, argv)) return std::make_unique<QCoreApplication>(argc, argv);
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    return std::make_unique<QGuiApplication>(argc, argv);
}

// a text progress bar on stderr, redrawn in place
void drawProgress(double f) {
    const int width = 30, filled = static_cast<int>(f * width + 0.5);
    std::fprintf(stderr, "\rtrpo-train: recording [%s%s] %3d%%", std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), ' ').c_str(), static_cast<int>(f * 100 + 0.5));
    std::fflush(stderr);
}

} // namespace

int main(int argc, char** argv) {
    // under mpirun: MPI starts first; the ranks other than 0 print nothing on stdout
    std::shared_ptr<core::Collective> worldPtr;
    try {
        worldPtr = dist::start(argc, argv);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    core::Collective* const world = worldPtr.get();
    const bool rank0 = !world || world->rank() == 0;
    const bool parallel = core::distributed(world);
    if (!rank0 && !std::freopen("/dev/null", "w", stdout)) return fail("cannot silence stdout");
    const std::unique_ptr<QCoreApplication> appPtr = makeApplication(argc, argv);
    QCoreApplication& app = *appPtr;
    QCoreApplication::setApplicationName("trpo-train");
    QCoreApplication::setApplicationVersion(TRPO_VERSION);

    QCommandLineParser p;
    p.setApplicationDescription(
        "Train a TRPO policy headless. Settings are layered: built-in defaults, then the environment's preset\n"
        "(resources/presets/<env>.json), then --config FILE, then the flags below. Writes a run directory with\n"
        "config.json, progress.csv, events.jsonl, checkpoints/ and policy.json.");
    p.addHelpOption();
    p.addVersionOption();
    p.addOption({"list-envs", "List the environment ids and exit."});
    p.addOption({"steps", "Budget of environment steps (default 1e6).", "N"});
    p.addOption({"iterations", "Budget of iterations.", "N"});
    p.addOption({"target-return", "Stop once the mean return of the last 20 finished episodes reaches R.", "R"});
    p.addOption({"out", "Run directory to write (default runs/<env>-seed<seed>).", "DIR"});
    p.addOption({"config", "JSON configuration file (the studio's config.json works too).", "FILE"});
    p.addOption({"resume", "Continue the run in DIR from its latest checkpoint; for a sweep (DIR holds sweep.json), "
                           "finish its cells that are not done.", "DIR"});
    p.addOption({"fork", "Fork the run in DIR at --at ITER into variants of --vary; each variant is a run directory "
                         "under --out (default DIR-fork<ITER>-<KEY>) beside a fork.json manifest.", "DIR"});
    p.addOption({"at", "With --fork: the iteration the variants start from (0 = the run's start).", "ITER"});
    p.addOption({"vary", "With --fork: the setting and its 2-6 values, KEY=V1,V2,... (a hot setting or algo).",
                 "KEY=VALUES"});
    p.addOption({"sweep", "Train a grid as independent runs: the setting and its values, KEY=V1,V2,... (any setting "
                          "but env, seed and threads; a list setting's entries joined with ':'). Several --sweep make "
                          "the product of their values. Writes a run directory per cell and sweep.json under --out "
                          "(default runs/<env>-sweep); --threads N is the thread budget of the whole sweep (of each rank "
                          "under mpirun, where the ranks take the cells in turn).",
                 "KEY=VALUES"});
    p.addOption({"seeds", "The seeds of a sweep (each setting is trained with each): a range 1-5, a list 1,3,7, or "
                          "both (default: --seed).", "SEEDS"});
    p.addOption({"checkpoint-every", "Save a checkpoint every N iterations (default 10; 0 = only at the end).", "N"});
    p.addOption({"quiet", "Print only the final summary."});
    p.addOption({"record-video", "After training, record the final policy's first N episodes (deterministic, seeded "
                                 "as trpo-eval --seed <run seed>) into final_policy.mp4 or .gif in the run directory.",
                 "N"});
    p.addOption({"video-format", "Format of --record-video: mp4 (default) or gif.", "FORMAT"});
    p.addOption({"inspect-every", "Write the trust-region probe of every N-th iteration to trust_region.jsonl in the run "
                                  "directory (default 0: none).", "N"});
    for (const core::ConfigField& f : core::configFields()) {
        char range[80] = "";
        if (f.type == "double" || f.type == "int") std::snprintf(range, sizeof range, " [%g .. %g]", f.min, f.max);
        p.addOption({QString::fromStdString(flagName(f.key)),
                     QString::fromStdString(f.help + std::string(range) + (f.hot ? "" : " (cold)")), "VALUE"});
    }
    if (!p.parse(app.arguments())) {
        // the same flags on every rank: each finds the same problem; rank 0 says it
        return rank0 ? fail(p.errorText().toStdString() + " (see --help)") : 2;
    }
    if (p.isSet("help")) {
        std::fputs(p.helpText().toStdString().c_str(), stdout);
        return 0;
    }
    if (p.isSet("version")) {
        std::printf("trpo-train %s\n", TRPO_VERSION);
        return 0;
    }
    if (!p.positionalArguments().isEmpty())
        return fail("unexpected argument '" + p.positionalArguments().first().toStdString() + "' (see --help)");
    if (p.isSet("list-envs")) {
        for (const sim::EnvInfo& e : sim::registry()) std::printf("%-28s %s\n", e.id.c_str(), e.description.c_str());
        return 0;
    }

    // ---- settings ----------------------------------------------------------------------
    core::TrpoConfig cfg;
    std::int64_t budgetSteps = 1000000;
    int budgetIterations = -1;
    std::optional<double> target;
    int checkpointEvery = 10;
    int inspectEvery = 0;
    int recordEpisodes = 0;
    video::ClipFormat videoFormat = video::ClipFormat::Mp4;
    std::filesystem::path outDir;
    const bool resume = p.isSet("resume");
    std::optional<run::SweepManifest> sweepManifest;
    std::filesystem::path sweepDir;
    std::string settingsError;
    try {
        if (p.isSet("steps")) {
            const double v = parseNumber(p.value("steps"), "steps");
            if (!(v >= 1 && v <= 1e12)) throw core::ConfigError("--steps must be between 1 and 1e12");
            budgetSteps = static_cast<std::int64_t>(v);
        }
        if (p.isSet("iterations")) {
            const double v = parseNumber(p.value("iterations"), "iterations");
            if (!(v >= 1 && v <= 1e9) || v != std::floor(v))
                throw core::ConfigError("--iterations must be a whole number between 1 and 1e9");
            budgetIterations = static_cast<int>(v);
            if (!p.isSet("steps")) budgetSteps = std::numeric_limits<std::int64_t>::max();
        }
        if (p.isSet("target-return")) {
            target = parseNumber(p.value("target-return"), "target-return");
            if (!std::isfinite(*target)) throw core::ConfigError("--target-return must be finite");
        }
        if (p.isSet("checkpoint-every")) {
            const double v = parseNumber(p.value("checkpoint-every"), "checkpoint-every");
            if (!(v >= 0 && v <= 1e9) || v != std::floor(v))
                throw core::ConfigError("--checkpoint-every must be a whole number >= 0");
            checkpointEvery = static_cast<int>(v);
        }
        if (p.isSet("inspect-every")) {
            const double v = parseNumber(p.value("inspect-every"), "inspect-every");
            if (!(v >= 0 && v <= 1e9) || v != std::floor(v))
                throw core::ConfigError("--inspect-every must be a whole number >= 0");
            inspectEvery = static_cast<int>(v);
        }

        if (p.isSet("fork") && parallel)
            throw core::ConfigError("--fork runs in one process; start it without mpirun");
        if (p.isSet("fork")) {
            run::Budget budget;
            budget.steps = budgetSteps;
            budget.iterations = budgetIterations;
            budget.target = target;
            budget.checkpointEvery = checkpointEvery;
            return runFork(p, budget, p.isSet("quiet"));
        }
        for (const char* forkOnly : {"at", "vary"})
            if (p.isSet(forkOnly)) throw core::ConfigError(std::string("--") + forkOnly + " needs --fork RUN");
        if (p.isSet("record-video")) {
            const double v = parseNumber(p.value("record-video"), "record-video");
            if (!(v >= 1 && v <= 1000) || v != std::floor(v))
                throw core::ConfigError("--record-video must be a whole number of episodes from 1 to 1000");
            recordEpisodes = static_cast<int>(v);
        }
        if (p.isSet("video-format")) {
            if (!p.isSet("record-video")) throw core::ConfigError("--video-format needs --record-video N");
            try {
                videoFormat = video::parseFormat(p.value("video-format").toStdString());
            } catch (const video::ClipError& e) {
                throw core::ConfigError(std::string("--video-format: ") + e.what());
            }
        }

        const bool sweep = p.isSet("sweep") || p.isSet("seeds");
        if (resume && run::looksLikeSweep(p.value("resume").toStdString())) {
            // a sweep goes on with what its manifest says; only its thread budget may change
            for (const char* other : {"sweep", "seeds", "config", "env", "out", "steps", "iterations", "target-return",
                                      "checkpoint-every", "record-video", "inspect-every"})
                if (p.isSet(other))
                    throw core::ConfigError(std::string("--") + other +
                                            ": --resume of a sweep takes everything from its sweep.json (only --threads "
                                            "may change)");
            for (const core::ConfigField& f : core::configFields())
                if (f.key != "threads" && p.isSet(QString::fromStdString(flagName(f.key))))
                    throw core::ConfigError("--" + flagName(f.key) +
                                            ": --resume of a sweep takes its settings from its sweep.json");
            sweepDir = p.value("resume").toStdString();
            sweepManifest = run::readSweepManifest(sweepDir);
            if (p.isSet("threads")) {
                try {
                    core::setConfigValue(cfg, "threads", p.value("threads").toStdString());
                } catch (const core::ConfigError& e) {
                    throw core::ConfigError(std::string("--threads: ") + e.what());
                }
                sweepManifest->threads = cfg.threads;
            }
        } else if (resume && sweep) {
            throw core::ConfigError("--sweep/--seeds cannot be combined with --resume of a run (" +
                                    p.value("resume").toStdString() + " has no sweep.json)");
        } else if (resume) {
            if (p.isSet("config") || p.isSet("env"))
                throw core::ConfigError("--resume takes its configuration from the run; drop --config/--env");
            outDir = p.value("resume").toStdString();
            cfg = run::readRun(outDir).config;
        } else {
            std::string envId = cfg.env;
            std::string configText;
            if (p.isSet("config")) {
                const std::string path = p.value("config").toStdString();
                try {
                    configText = core::readFileText(path);
                } catch (const std::exception& e) {
                    throw core::ConfigError(e.what());
                }
                core::TrpoConfig probe;
                try {
                    core::applyConfigJson(probe, configText);
                } catch (const core::ConfigError& e) {
                    throw core::ConfigError(path + ": " + e.what());
                }
                envId = probe.env;
                if (p.isSet("env")) envId = p.value("env").toStdString();
                cfg = core::presetConfig(envId);
                try {
                    core::applyConfigJson(cfg, configText);
                } catch (const core::ConfigError& e) {
                    throw core::ConfigError(path + ": " + e.what());
                }
            } else {
                if (p.isSet("env")) envId = p.value("env").toStdString();
                cfg = core::presetConfig(envId);
            }
        }
        for (const core::ConfigField& f : core::configFields()) {
            const QString name = QString::fromStdString(flagName(f.key));
            if (!p.isSet(name)) continue;
            if (resume && !f.hot && f.key != "threads")
                throw core::ConfigError("--" + flagName(f.key) + " is a cold setting and cannot change on --resume");
            try {
                core::setConfigValue(cfg, f.key, p.value(name).toStdString());
            } catch (const core::ConfigError& e) {
                throw core::ConfigError("--" + flagName(f.key) + ": " + e.what());
            }
        }
        if (!sweepManifest) {
        if (!sim::makeEnvironment(cfg.env))
            throw core::ConfigError("unknown environment '" + cfg.env + "' (known: " + sim::knownEnvironmentIds() + ")");
        cfg.validate();
        }
        if (sweep && !sweepManifest) {
            for (const char* other : {"record-video", "inspect-every"})
                if (p.isSet(other)) throw core::ConfigError(std::string("--") + other + " cannot be combined with --sweep");
            if (p.isSet("seed") && p.isSet("seeds"))
                throw core::ConfigError("--seed and --seeds: give the sweep's seeds with --seeds only");
            run::SweepManifest m;
            m.base = cfg;
            m.threads = cfg.threads;
            m.budget.steps = budgetSteps;
            m.budget.iterations = budgetIterations;
            m.budget.target = target;
            m.budget.checkpointEvery = checkpointEvery;
            for (const QString& axis : p.values("sweep")) {
                m.axes.push_back(run::parseSweepAxis(axis.toStdString(), cfg));
                for (size_t i = 0; i + 1 < m.axes.size(); ++i)
                    if (m.axes[i].key == m.axes.back().key)
                        throw core::ConfigError("--sweep: " + m.axes.back().key + " is swept twice");
            }
            m.seeds = p.isSet("seeds") ? run::parseSeeds(p.value("seeds").toStdString())
                                       : std::vector<std::uint64_t>{cfg.seed};
            if (run::sweepCells(m.axes, m.seeds.size()) > static_cast<size_t>(run::kMaxSweepCells))
                throw core::ConfigError("--sweep/--seeds: more than " + std::to_string(run::kMaxSweepCells) +
                                        " cells; a sweep has at most that many");
            m.cells = run::sweepGrid(m.axes, m.seeds);
            for (size_t i = 0; i < m.cells.size(); ++i)
                for (size_t j = 0; j < i; ++j)
                    if (m.cells[i].dir == m.cells[j].dir)
                        throw core::ConfigError("--sweep: two cells would share the directory " +
                                                m.cells[i].dir.string() + "; give values that differ in letters or digits");
            // every cell's configuration is checked now, not when its turn comes
            for (const run::SweepCell& c : m.cells) {
                try {
                    run::cellConfig(m, c).validate();
                } catch (const core::ConfigError& e) {
                    throw core::ConfigError("--sweep: the cell " + c.dir.string() + ": " + e.what());
                }
            }
            sweepDir = p.isSet("out") ? std::filesystem::path(p.value("out").toStdString())
                                      : std::filesystem::path("runs") / (cfg.env + "-sweep");
            std::error_code ec;
            // under mpirun rank 0 alone looks at --out and creates the sweep (the others learn
            // of its errors through agreeOnError below)
            if (rank0) {
                if (run::looksLikeSweep(sweepDir))
                    throw core::FileError("--out " + sweepDir.string() +
                                          ": already holds a sweep; continue it with --resume " + sweepDir.string() +
                                          " or choose another --out");
                if (std::filesystem::exists(sweepDir, ec) &&
                    !(std::filesystem::is_directory(sweepDir, ec) && std::filesystem::is_empty(sweepDir, ec)))
                    throw core::FileError("--out " + sweepDir.string() +
                                          ": exists and is not a sweep (no sweep.json); choose an empty or new directory");
                std::filesystem::create_directories(sweepDir, ec);
                if (ec) throw core::FileError("--out " + sweepDir.string() + ": cannot create (" + ec.message() + ")");
                try {
                    run::writeSweepManifest(sweepDir, m);
                } catch (const std::exception& e) {
                    throw core::FileError(e.what());
                }
            }
            sweepManifest = std::move(m);
        }
    } catch (const core::ConfigError& e) {
        settingsError = e.what();
    } catch (const core::FileError& e) {
        settingsError = e.what();
    }
    if (const std::optional<std::string> e = agreeOnError(world, settingsError)) return rank0 ? fail(*e) : 2;

    if (sweepManifest) return runSweepCli(sweepDir, *sweepManifest, p.isSet("quiet"), world);

    // ---- run ---------------------------------------------------------------------------
    try {
        if (outDir.empty())
            outDir = p.isSet("out") ? std::filesystem::path(p.value("out").toStdString())
                                    : std::filesystem::path("runs") / (cfg.env + "-seed" + std::to_string(cfg.seed));
        core::Trainer trainer(cfg, sim::environmentFactory(cfg.env));
        trainer.setProbeEvery(inspectEvery);
        trainer.setCollective(worldPtr);
        // rank 0 owns the run directory; the other ranks get the checkpoint from it
        std::optional<run::RunStore> store;
        std::vector<std::uint8_t> checkpoint;
        std::string storeError;
        if (rank0) {
            try {
                store.emplace(resume ? run::RunStore::open(outDir, "trpo-train")
                                     : run::RunStore::create(outDir, cfg, "trpo-train"));
                if (resume && parallel) checkpoint = core::readFileBytes(store->checkpointPath());
            } catch (const std::exception& e) {
                if (!parallel) throw;
                storeError = e.what();
            }
        }
        if (const std::optional<std::string> e = agreeOnError(world, storeError)) return rank0 ? fail(*e) : 2;
        if (resume) {
            if (parallel) {
                checkpoint = fromRank0(world, checkpoint);
                try {
                    trainer.loadState(checkpoint);
                } catch (const std::exception& e) {
                    // the same bytes on every rank: the same problem; rank 0 says it
                    return rank0 ? fail((outDir / "checkpoints" / "latest.ckpt").string() + ": " + e.what()) : 2;
                }
            } else {
                store->loadCheckpoint(trainer);
            }
            // hot flags given on the command line apply from the next iteration
            const std::vector<core::ConfigEvent> changes = trainer.applyHotConfig(cfg);
            if (store) store->recordResume(trainer, "trpo-train", changes);
        }
        // a checkpoint gathers the environment copies from every rank: all ranks take part
        auto saveCheckpoint = [&] {
            if (store)
                store->saveCheckpoint(trainer);
            else
                (void)trainer.saveState();
        };
        const bool quiet = p.isSet("quiet");
        if (!quiet)
            std::printf("trpo-train: %s, seed %llu, %d x %d steps per iteration, delta %g -> %s\n", cfg.env.c_str(),
                        static_cast<unsigned long long>(cfg.seed), cfg.numEnvs, cfg.stepsPerIteration / cfg.numEnvs,
                        cfg.delta, outDir.string().c_str());
        if (parallel && rank0)
            std::snprintf(g_endNote, sizeof g_endNote,
                          "trpo-train: the MPI job is stopping (Ctrl+C, or a rank has ended); %s keeps its last "
                          "checkpoint: continue with trpo-train --resume %s (with mpirun and any number of ranks, "
                          "or without)\n",
                          outDir.string().c_str(), outDir.string().c_str());
        if (parallel && !quiet)
            std::printf("trpo-train: data-parallel over %d MPI ranks (environment copies %d per rank or fewer)\n",
                        world->size(), (cfg.numEnvs + world->size() - 1) / world->size());
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
        const char* why = "budget reached";
        int startIteration = trainer.iteration();
        const std::int64_t startSteps = trainer.envSteps();
        const double startSeconds = trainer.wallSeconds();
        int rollbacksInARow = 0;
        while (true) {
            // several ranks agree on their flags inside iterate(), as an iteration starts
            if (!parallel && g_stop.load()) {
                why = "interrupted";
                break;
            }
            if (trainer.envSteps() >= budgetSteps) break;
            if (budgetIterations >= 0 && trainer.iteration() - startIteration >= budgetIterations) break;
            // Ctrl+C (or SIGTERM) mid-iteration: the iteration is discarded at once and the
            // trainer is back at the last boundary, which the checkpoint below saves
            core::IterationStats s;
            maybeKillForTest(world, trainer.iteration() + 1);
            try {
                // several ranks stop together as an iteration starts (Trainer::setCollective),
                // never one alone part way through
                s = trainer.iterate(&g_stop);
            } catch (const core::Interrupted&) {
                why = "interrupted";
                break;
            }
            if (store) {
                store->appendIteration(s);
                store->appendEpisodes(trainer.sampledEpisodes());
            }
            if (!quiet) {
                std::printf("%s\n", core::progressLine(s).c_str());
                std::fflush(stdout);
            }
            if (inspectEvery > 0 && s.iteration % inspectEvery == 0)
                if (const std::optional<core::TrustRegionProbe> probe = trainer.probeLastIteration())
                    if (store) store->appendProbe(*probe);
            // the divergence guardrail: roll back, say why, go on; stop after too many in a row
            // (every rank rolls back alike; rank 0 records it)
            run::GuardOutcome guard;
            if (store) {
                guard = run::guardIteration(trainer, *store, s, rollbacksInARow);
            } else if (s.divergence != core::Divergence::None) {
                guard.restoredIteration = trainer.rollBack().value_or(s.iteration - 1);
                guard.rolledBack = true;
                guard.stop = ++rollbacksInARow >= trainer.config().maxRollbacks;
            } else {
                rollbacksInARow = 0;
            }
            if (guard.rolledBack) {
                std::fprintf(stderr, "trpo-train: %s Rolled back to the state after iteration %d.\n",
                             guard.explanation.c_str(), guard.restoredIteration);
                if (guard.stop) {
                    saveCheckpoint();
                    if (store) store->appendEvent({trainer.iteration(), run::Stopped{"diverged"}});
                    std::fprintf(stderr,
                                 "trpo-train: stopped: %d rollbacks in a row (max_rollbacks). The run and its last "
                                 "good state are in %s.\n",
                                 rollbacksInARow, outDir.string().c_str());
                    return 3;
                }
                if (checkpointEvery > 0 && s.iteration % checkpointEvery == 0) saveCheckpoint();
                continue;
            }
            if (checkpointEvery > 0 && s.iteration % checkpointEvery == 0) saveCheckpoint();
            if (target && s.recentReturnMean && *s.recentReturnMean >= *target &&
                static_cast<int>(trainer.recentReturns().size()) >= core::Trainer::kRecentEpisodes) {
                why = "target return reached";
                break;
            }
        }
        saveCheckpoint();
        if (parallel) printMpiStats(*world, trainer.iteration() - startIteration, trainer.wallSeconds() - startSeconds,
                                    trainer.envSteps() - startSteps);
        if (!store) return 0; // the other ranks are done: rank 0 writes the policy and records the clip
        store->writePolicyFiles(trainer, run::policyMetadataOf(trainer));
        store->appendEvent({trainer.iteration(), run::Stopped{why}});
        const auto r = trainer.recentReturnMean();
        if (recordEpisodes > 0) {
            const std::filesystem::path clip = outDir / (std::string("final_policy.") + video::formatName(videoFormat));
            video::ClipOptions o;
            o.format = videoFormat;
            o.size = QSize(960, 540);
            o.episodes = recordEpisodes;
            o.deterministic = true;
            o.seed = trainer.config().seed;
            const video::ClipResult c = video::recordClip(*trainer.snapshot(), clip, o, [quiet](double f) {
                if (!quiet) drawProgress(f);
                return !g_stop.load();
            });
            if (!quiet) std::fputc('\n', stderr);
            if (c.cancelled) {
                std::fprintf(stderr, "trpo-train: recording interrupted; no clip written\n");
            } else {
                std::string returns;
                for (double x : c.returns) {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%s%.1f", returns.empty() ? "" : ", ", x);
                    returns += buf;
                }
                std::printf("trpo-train: recorded %d episode%s of the final policy (returns %s) to %s (%d frames, %s)\n",
                            recordEpisodes, recordEpisodes == 1 ? "" : "s", returns.c_str(), clip.string().c_str(),
                            c.frames, c.encoder.c_str());
            }
        }
        std::printf("trpo-train: %s after %d iterations, %lld steps, %.2f s; mean return of the last %zu episodes: %s\n",
                    why, trainer.iteration(), static_cast<long long>(trainer.envSteps()), trainer.wallSeconds(),
                    trainer.recentReturns().size(), r ? std::to_string(*r).c_str() : "-");
        return 0;
    } catch (const core::ConfigError& e) {
        return endJob(world, fail(rankPrefix(world) + e.what()));
    } catch (const core::FileError& e) {
        return endJob(world, fail(rankPrefix(world) + e.what()));
    } catch (const video::ClipError& e) {
        std::fprintf(stderr, "trpo-train: cannot record the video: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trpo-train: %serror: %s\n", rankPrefix(world).c_str(), e.what());
        return endJob(world, 1);
    }
}
