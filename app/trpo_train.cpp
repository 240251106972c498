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

#include "core/presets.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "export/onnx_export.h"
#include "run/run_store.h"
#include "sim/registry.h"
#include "video/clip_recorder.h"

namespace {

std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop = true; }

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
    p.addOption({"resume", "Continue the run in DIR from its latest checkpoint.", "DIR"});
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
    if (!p.parse(app.arguments())) return fail(p.errorText().toStdString() + " (see --help)");
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

        if (resume) {
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
        if (!sim::makeEnvironment(cfg.env))
            throw core::ConfigError("unknown environment '" + cfg.env + "' (known: " + sim::knownEnvironmentIds() + ")");
        cfg.validate();
    } catch (const core::ConfigError& e) {
        return fail(e.what());
    } catch (const core::FileError& e) {
        return fail(e.what());
    }

    // ---- run ---------------------------------------------------------------------------
    try {
        if (outDir.empty())
            outDir = p.isSet("out") ? std::filesystem::path(p.value("out").toStdString())
                                    : std::filesystem::path("runs") / (cfg.env + "-seed" + std::to_string(cfg.seed));
        core::Trainer trainer(cfg, sim::environmentFactory(cfg.env));
        trainer.setProbeEvery(inspectEvery);
        run::RunStore store = resume ? run::RunStore::open(outDir, "trpo-train") : run::RunStore::create(outDir, cfg, "trpo-train");
        if (resume) {
            store.loadCheckpoint(trainer);
            store.appendEvent({trainer.iteration(), run::Resumed{"trpo-train"}});
            // hot flags given on the command line apply from the next iteration
            for (const core::ConfigEvent& e : trainer.applyHotConfig(cfg)) store.appendEvent(run::hyperparameterEvent(e));
            store.writeConfig(trainer.config());
        }
        const bool quiet = p.isSet("quiet");
        if (!quiet)
            std::printf("trpo-train: %s, seed %llu, %d x %d steps per iteration, delta %g -> %s\n", cfg.env.c_str(),
                        static_cast<unsigned long long>(cfg.seed), cfg.numEnvs, cfg.stepsPerIteration / cfg.numEnvs,
                        cfg.delta, outDir.string().c_str());
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
        const char* why = "budget reached";
        int startIteration = trainer.iteration();
        int rollbacksInARow = 0;
        while (true) {
            if (g_stop) {
                why = "interrupted";
                break;
            }
            if (trainer.envSteps() >= budgetSteps) break;
            if (budgetIterations >= 0 && trainer.iteration() - startIteration >= budgetIterations) break;
            // Ctrl+C (or SIGTERM) mid-iteration: the iteration is discarded at once and the
            // trainer is back at the last boundary, which the checkpoint below saves
            core::IterationStats s;
            try {
                s = trainer.iterate(&g_stop);
            } catch (const core::Interrupted&) {
                why = "interrupted";
                break;
            }
            store.appendIteration(s);
            if (!quiet) {
                std::printf("%s\n", core::progressLine(s).c_str());
                std::fflush(stdout);
            }
            if (inspectEvery > 0 && s.iteration % inspectEvery == 0)
                if (const std::optional<core::TrustRegionProbe> probe = trainer.probeLastIteration())
                    store.appendProbe(*probe);
            // the divergence guardrail: roll back, say why, go on; stop after too many in a row
            const run::GuardOutcome guard = run::guardIteration(trainer, store, s, rollbacksInARow);
            if (guard.rolledBack) {
                std::fprintf(stderr, "trpo-train: %s Rolled back to the state after iteration %d.\n",
                             guard.explanation.c_str(), guard.restoredIteration);
                if (guard.stop) {
                    store.saveCheckpoint(trainer);
                    store.appendEvent({trainer.iteration(), run::Stopped{"diverged"}});
                    std::fprintf(stderr,
                                 "trpo-train: stopped: %d rollbacks in a row (max_rollbacks). The run and its last "
                                 "good state are in %s.\n",
                                 rollbacksInARow, outDir.string().c_str());
                    return 3;
                }
                if (checkpointEvery > 0 && s.iteration % checkpointEvery == 0) store.saveCheckpoint(trainer);
                continue;
            }
            if (checkpointEvery > 0 && s.iteration % checkpointEvery == 0) store.saveCheckpoint(trainer);
            if (target && s.recentReturnMean && *s.recentReturnMean >= *target &&
                static_cast<int>(trainer.recentReturns().size()) >= core::Trainer::kRecentEpisodes) {
                why = "target return reached";
                break;
            }
        }
        store.saveCheckpoint(trainer);
        store.writePolicyFiles(trainer, run::policyMetadataOf(trainer));
        store.appendEvent({trainer.iteration(), run::Stopped{why}});
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
        return fail(e.what());
    } catch (const core::FileError& e) {
        return fail(e.what());
    } catch (const video::ClipError& e) {
        std::fprintf(stderr, "trpo-train: cannot record the video: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trpo-train: error: %s\n", e.what());
        return 1;
    }
}
