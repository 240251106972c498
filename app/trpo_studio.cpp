// trpo-studio: the TRPO Studio window. Options are validated before any widget exists.
// --open DIR opens a saved run (as File → Open run does); --iterations N trains N iterations
// and pauses; --inspector opens the trust-region inspector (and, after --iterations, shows
// the last iteration in it); --screenshot FILE.png then writes the window to FILE.png and
// exits (right away when neither is given). --bench N trains N iterations of CartPole with
// the window open and the viewer at 60 fps, prints training steps/s and the 95th percentile
// of the viewer's frame interval (with --inspect-every also the probe's share of an
// iteration), and exits (always at max pace). --pace sets the training pace: iterations per
// second 0.5, 1, 2, 5, 10, or max.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QPixmap>
#include <QStandardPaths>
#include <QTimer>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <unistd.h>
#include <memory>
#include <optional>
#include <vector>

#include "core/cpu_time.h"
#include "core/config.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"
#include "run/fork.h"
#include "run/lesson.h"
#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_controller.h"
#include "ui/compare/fork_session.h"
#include "ui/env_view.h"
#include "ui/main_window.h"
#include "ui/pace.h"
#include "ui/plot_panel.h"
#include "ui/run_controller.h"
#include "ui/run_lifecycle.h"
#include "ui/replay_controller.h"
#include "ui/run_history.h"
#include "ui/teach/inspector_dock.h"
#include "ui/teach/lesson_panel.h"
#include "ui/teach/trust_region_plot.h"
#include "ui/training_session.h"

namespace {

int fail(const QString& msg) {
    std::fprintf(stderr, "trpo-studio: %s\n", qPrintable(msg));
    return 2;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = static_cast<size_t>(std::min<double>(v.size() - 1, p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

// what to do once the window is up, besides showing it
struct Script {
    QString openDir;     // --open
    int iterations = 0;  // --iterations
    QString screenshot;  // --screenshot
    int bench = 0;       // --bench
    int phases = 0;      // --phases: phase steps after the iterations
    bool start = false;  // --start
    bool inspector = false; // --inspector
    int replayIteration = 0; // --replay N[:rank]
    core::EpisodeRank replayRank = core::EpisodeRank::Best;
    bool ghost = false;      // --ghost
    bool offerRestore = true;
    std::optional<run::Lesson> lesson; // --lesson: played once the window's first run is ready
    QString lessonPath;
    std::optional<run::VarySpec> fork; // --fork: after the iterations, Run > Fork… with these variants
    int forkIterations = 20;           // --fork-iterations
    QString forkDir;                   // --fork-dir (empty: the default folder)
};

// a positive integer option, or an error message
std::optional<int> positive(const QCommandLineParser& p, const QString& name, QString* error) {
    bool ok = false;
    const int n = p.value(name).toInt(&ok);
    if (!ok || n < 1) {
        *error = QString("--%1 needs a positive whole number, not '%2'").arg(name, p.value(name));
        return std::nullopt;
    }
    return n;
}

// checks that a PNG can be written at path (the file itself is written at the end)
QString screenshotPathError(const QString& path) {
    const QFileInfo f(path);
    if (f.suffix().compare("png", Qt::CaseInsensitive) != 0)
        return QString("--screenshot '%1': the file name must end in .png").arg(path);
    const QFileInfo dir(f.absolutePath());
    if (!dir.isDir()) return QString("--screenshot '%1': the folder %2 does not exist").arg(path, dir.filePath());
    if (!dir.isWritable()) return QString("--screenshot '%1': the folder %2 is not writable").arg(path, dir.filePath());
    if (f.isDir()) return QString("--screenshot '%1' is a folder").arg(path);
    return {};
}

// the process's resident memory in MB (Linux: /proc/self/statm), or -1
double residentMegabytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long pages = 0, resident = 0;
    const int read = std::fscanf(f, "%ld %ld", &pages, &resident);
    std::fclose(f);
    return read == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0) : -1;
}

int g_exitCode = 0; // set by --soak when memory grew

// --soak: resident memory every `every` iterations of the bench; after the warm-up (the first
// fifth of the run) it may grow by at most 5% over its value then
struct Soak {
    int every = 0; // 0: no soak
    int warmUpIteration = 0;
    double warmUpMb = -1, maxAfterMb = -1;
    void record(int iteration, int total) {
        if (every <= 0 || (iteration % every != 0 && iteration != total)) return;
        const double mb = residentMegabytes();
        std::printf("soak: iteration %d, resident %.1f MB\n", iteration, mb);
        std::fflush(stdout);
        if (warmUpMb < 0 && iteration >= total / 5) {
            warmUpMb = mb;
            warmUpIteration = iteration;
        } else if (warmUpMb >= 0) {
            maxAfterMb = std::max(maxAfterMb, mb);
        }
    }
    void verdict() const {
        if (every <= 0 || warmUpMb <= 0) return;
        const double growth = maxAfterMb > 0 ? 100.0 * (maxAfterMb - warmUpMb) / warmUpMb : 0.0;
        std::printf("soak: after warm-up (iteration %d, %.1f MB) resident memory grew at most %.1f%% (limit 5%%)\n",
                    warmUpIteration, warmUpMb, growth);
        if (growth > 5.0) g_exitCode = 1;
    }
};

// --bench: start once the first (reset) trainer is ready; time from start to the Nth iteration
void runBench(ui::MainWindow& window, int benchIterations, int soakEvery) {
    ui::EnvView* view = window.envView();
    view->setSpeed(ui::EnvView::Speed::RealTime);
    view->setFrameRateOverride(60);
    auto clock = std::make_shared<QElapsedTimer>();
    auto done = std::make_shared<int>(0);
    // the trust-region probe's time and the iterations' own time (phases), over the bench
    auto probeSeconds = std::make_shared<double>(0), iterationSeconds = std::make_shared<double>(0);
    auto lastSteps = std::make_shared<std::int64_t>(0);
    auto soak = std::make_shared<Soak>();
    soak->every = soakEvery;
    auto uiCpuStart = std::make_shared<double>(0);
    QObject::connect(&window, &ui::MainWindow::runReset, &window, [=, &window] {
        view->clearFrameTimes();
        clock->start();
        *uiCpuStart = core::threadCpuSeconds();
        window.session()->start();
    });
    QObject::connect(window.session(), &ui::TrainingSession::iterationFinished, &window,
                     [=, &window](const core::IterationStats& s) {
                         if (*done >= benchIterations) return; // the in-flight one after the pause
                         *probeSeconds += s.secondsProbe;
                         if (s.stepsPerSecond > 0) *iterationSeconds += static_cast<double>(s.envSteps - *lastSteps) / s.stepsPerSecond;
                         *lastSteps = s.envSteps;
                         soak->record(++*done, benchIterations);
                         if (*done < benchIterations) return;
                         const double seconds = clock->nsecsElapsed() / 1e9;
                         window.session()->pause();
                         const std::vector<double>& frames = view->frameIntervals();
                         std::printf("trpo-studio bench: %d iterations, %lld steps in %.2f s: %.0f training steps/s\n",
                                     *done, static_cast<long long>(s.envSteps), seconds, s.envSteps / seconds);
                         std::printf("viewer: %zu frames at 60 fps target, frame interval p50 %.1f ms, p95 %.1f ms, max %.1f ms\n",
                                     frames.size(), percentile(frames, 0.5), percentile(frames, 0.95),
                                     frames.empty() ? 0.0 : *std::max_element(frames.begin(), frames.end()));
                         // this runs on the UI thread: its CPU time over the bench
                         const double uiCpu = core::threadCpuSeconds() - *uiCpuStart;
                         std::printf("UI thread: %.2f CPU-s, %.0f%% of a core; the viewer paints for %.2f ms of CPU per frame\n",
                                     uiCpu, 100 * uiCpu / seconds, view->meanPaintMilliseconds());
                         if (*probeSeconds > 0)
                             std::printf("trust-region probe: %.2f ms per iteration, %.1f%% of an iteration's time (%.2f ms)\n",
                                         1e3 * *probeSeconds / *done, 100 * *probeSeconds / *iterationSeconds,
                                         1e3 * *iterationSeconds / *done);
                         std::fflush(stdout);
                         if (soak->every > 0) {
                             soak->verdict();
                             std::fflush(stdout);
                             window.close();
                             return;
                         }
                         // the same run without the window, in this process, straight after (once
                         // the paused worker has left its loop, so that nothing else trains): the
                         // studio's share of the engine's speed, from two runs a few seconds apart
                         // (separate commands on a shared machine differ more)
                         const std::int64_t steps = s.envSteps;
                         QObject::connect(
                             window.session(), &ui::TrainingSession::loopStopped, &window,
                             [=, &window] {
                                 const core::TrpoConfig cfg = window.history()->config();
                                 core::Trainer headless(cfg, sim::environmentFactory(cfg.env));
                                 QElapsedTimer t;
                                 t.start();
                                 for (int i = 0; i < benchIterations; ++i) headless.iterate();
                                 const double headlessSeconds = t.nsecsElapsed() / 1e9;
                                 std::printf("headless, same run in this process right after: %.2f s, %.0f steps/s; the "
                                             "studio kept %.0f%% of it\n",
                                             headlessSeconds, steps / headlessSeconds, 100 * headlessSeconds / seconds);
                                 std::fflush(stdout);
                                 window.close();
                             },
                             Qt::SingleShotConnection);
                     });
    QObject::connect(window.session(), &ui::TrainingSession::failed, &window, [](const QString& msg) {
        std::fprintf(stderr, "trpo-studio bench: %s\n", qPrintable(msg));
        QCoreApplication::exit(1);
    });
}

// the window as a PNG, once the plots and the viewer have painted; then exit
void takeScreenshot(ui::MainWindow& window, const QString& path) {
    QTimer::singleShot(400, &window, [&window, path] {
        window.plotPanel()->replotNow();
        window.inspector()->plot()->replot(QCustomPlot::rpImmediateRefresh);
        const QPixmap shot = window.grab();
        if (!shot.save(path, "PNG")) {
            fail(QString("--screenshot: could not write %1").arg(path));
            QCoreApplication::exit(2);
            return;
        }
        std::printf("trpo-studio: wrote %s (%dx%d), iteration %d\n", qPrintable(path), shot.width(), shot.height(),
                    window.iterationCount());
        std::fflush(stdout);
        window.close();
        QCoreApplication::exit(0);
    });
}

// --compare DIR [--presentation] [--screenshot FILE.png]: a fork as one comparison, in a
// window of its own
int compareFork(const QCommandLineParser& p) {
    const QString dir = p.value("compare");
    if (!run::looksLikeFork(dir.toStdString()) && !run::looksLikeSweep(dir.toStdString()))
        return fail(QString("--compare '%1': not a fork or a sweep (no fork.json or sweep.json in it; trpo-train "
                            "--fork and --sweep write them)")
                        .arg(dir));
    QString shotPath;
    if (p.isSet("screenshot")) {
        shotPath = QDir::cleanPath(p.value("screenshot"));
        if (const QString e = screenshotPathError(shotPath); !e.isEmpty()) return fail(e);
    }
    if (p.isSet("presentation")) {
        // presentation mode's larger type, which the comparison follows (ComparisonView::applyFonts)
        QFont f = QApplication::font();
        f.setPointSizeF(f.pointSizeF() * ui::MainWindow::kPresentationFontScale);
        QApplication::setFont(f);
    }
    ui::ComparisonView view;
    try {
        view.open(dir.toStdString());
    } catch (const std::exception& e) {
        return fail(QString("--compare '%1': %2").arg(dir, QString::fromStdString(e.what())));
    }
    view.setWindowTitle(view.title());
    view.resize(1280, 900);
    view.show();
    if (!shotPath.isEmpty())
        QTimer::singleShot(400, &view, [&view, shotPath] {
            const QPixmap shot = view.grab();
            if (!shot.save(shotPath, "PNG")) {
                fail(QString("--screenshot: could not write %1").arg(shotPath));
                QCoreApplication::exit(2);
                return;
            }
            std::printf("trpo-studio: wrote %s (%dx%d), comparison of %zu %s\n", qPrintable(shotPath), shot.width(),
                        shot.height(),
                        view.isSweep() ? view.sweepSummaries().size() : view.manifest().variants.size(),
                        view.isSweep() ? "settings" : "variants");
            std::fflush(stdout);
            QCoreApplication::exit(0);
        });
    return QApplication::exec();
}

// --open, --iterations, --screenshot, --start: each step starts when the one before is done
void runScript(ui::MainWindow& window, const Script& script) {
    ui::RunController* runs = window.runs();
    const bool scripted = !script.screenshot.isEmpty();
    // while a run given with --open is opening (and throughout a scripted run, which cannot
    // answer a dialog), errors go to stderr and end the program with code 2
    auto opening = std::make_shared<bool>(!script.openDir.isEmpty());
    if (scripted || *opening)
        window.setMessageHook([scripted, opening](const QString& title, const QString& text) {
            std::fprintf(stderr, "trpo-studio: %s: %s\n", qPrintable(title), qPrintable(text));
            if (scripted || *opening) QCoreApplication::exit(2);
        });
    // a run that cannot start or goes wrong ends a scripted session (code 1)
    if (scripted)
        QObject::connect(window.session(), &ui::TrainingSession::failed, &window, [](const QString& msg) {
            std::fprintf(stderr, "trpo-studio: %s\n", qPrintable(msg));
            QCoreApplication::exit(1);
        });
    // --fork: the run forked after the iterations; a --screenshot of the comparison window is
    // taken while the variants train, once each has done half its iterations
    auto forkNow = [&window, script] {
        ui::ComparisonView* view = window.forks()->fork(*script.fork, script.forkIterations, script.forkDir);
        if (!view) return; // the message hook has reported it
        ui::ForkSession* session = view->findChild<ui::ForkSession*>();
        if (script.screenshot.isEmpty() || !session) return;
        view->resize(1280, 900);
        auto counts = std::make_shared<std::vector<int>>(script.fork->values.size(), 0);
        const int half = std::max(1, script.forkIterations / 2);
        QObject::connect(session, &ui::ForkSession::variantIteration, view, [view, counts, half, script](int m) {
            ++(*counts)[static_cast<size_t>(m)];
            if (*std::min_element(counts->begin(), counts->end()) != half) return;
            (*counts)[static_cast<size_t>(m)] = half + 1; // once
            QTimer::singleShot(300, view, [view, script] {
                const QPixmap shot = view->grab();
                if (!shot.save(script.screenshot, "PNG")) {
                    fail(QString("--screenshot: could not write %1").arg(script.screenshot));
                    QCoreApplication::exit(2);
                    return;
                }
                std::printf("trpo-studio: wrote %s (%dx%d), a live fork of %zu variants\n", qPrintable(script.screenshot),
                            shot.width(), shot.height(), script.fork->values.size());
                std::fflush(stdout);
                QCoreApplication::exit(0);
            });
        });
    };
    auto afterPhases = [&window, script, forkNow] {
        if (script.fork) return forkNow();
        // --replay and --ghost: the episode and the comparison, then the screenshot once the
        // ghost has played to its end (or at once for a replay)
        if (script.replayIteration > 0 && !window.replay()->replay(script.replayIteration, script.replayRank)) {
            std::fprintf(stderr, "trpo-studio: --replay: iteration %d has no episode to replay\n", script.replayIteration);
            QCoreApplication::exit(2);
            return;
        }
        if (script.ghost) {
            window.replay()->ghostAction()->setChecked(true);
            if (!window.envView()->isGhostShown()) {
                std::fprintf(stderr, "trpo-studio: --ghost: no π_old and π_new to compare (train at least 2 iterations)\n");
                QCoreApplication::exit(2);
                return;
            }
            if (!script.screenshot.isEmpty()) {
                QObject::connect(window.envView(), &ui::EnvView::ghostFinished, &window,
                                 [&window, script] { takeScreenshot(window, script.screenshot); }, Qt::SingleShotConnection);
                return;
            }
        }
        if (script.screenshot.isEmpty()) {
            if (script.inspector && window.iterationCount() > 0) window.inspector()->inspectLatest();
            return;
        }
        if (!script.inspector || window.iterationCount() == 0) {
            takeScreenshot(window, script.screenshot);
            return;
        }
        // the inspector shows the last iteration's probe first (the worker computes it)
        QObject::connect(window.inspector(), &ui::InspectorDock::probeShown, &window,
                         [&window, script] { takeScreenshot(window, script.screenshot); }, Qt::SingleShotConnection);
        QObject::connect(window.session(), &ui::TrainingSession::probeUnavailable, &window,
                         [&window, script] { takeScreenshot(window, script.screenshot); }, Qt::SingleShotConnection);
        window.showInspector();
        window.inspector()->inspectLatest();
    };
    auto afterTraining = [&window, script, afterPhases] {
        if (script.phases == 0) return afterPhases();
        auto left = std::make_shared<int>(script.phases);
        QObject::connect(window.session(), &ui::TrainingSession::phaseStepped, &window,
                         [&window, left, afterPhases](const ui::PhaseSnapshotPtr&) {
                             if (*left <= 0) return;
                             if (--*left > 0)
                                 window.lifecycle()->stepPhase();
                             else
                                 afterPhases();
                         });
        window.lifecycle()->stepPhase();
    };
    auto train = [&window, script, afterTraining, scripted, opening] {
        if (*opening && !scripted) window.setMessageHook({}); // dialogs again from here on
        *opening = false;
        if (script.iterations == 0) {
            if (script.start) window.lifecycle()->start();
            afterTraining();
            return;
        }
        // one Step at a time, so that exactly N iterations run (a paused loop finishes the
        // iteration in flight)
        auto left = std::make_shared<int>(script.iterations);
        QObject::connect(window.session(), &ui::TrainingSession::iterationFinished, &window,
                         [&window, left, afterTraining](const core::IterationStats&) {
                             if (*left <= 0) return;
                             if (--*left > 0)
                                 window.lifecycle()->step();
                             else
                                 afterTraining();
                         });
        window.lifecycle()->step();
    };
    QObject::connect(&window, &ui::MainWindow::runReset, &window, [&window, runs, script, train] {
        if (script.lesson) {
            // the lesson's first step (its actions included), then the rest of the script
            QObject::connect(window.lessonPanel(), &ui::LessonPanel::stepFinished, &window, train,
                             Qt::SingleShotConnection);
            window.playLesson(*script.lesson, script.lessonPath);
        } else if (!script.openDir.isEmpty()) {
            QObject::connect(runs, &ui::RunController::runOpened, &window, train, Qt::SingleShotConnection);
            if (!runs->openRun(script.openDir)) QCoreApplication::exit(2);
        } else if (script.offerRestore && runs->offerAutosaveRestore()) {
            QObject::connect(runs, &ui::RunController::runOpened, &window, train, Qt::SingleShotConnection);
        } else {
            train();
        }
    }, Qt::SingleShotConnection);
}

} // namespace

int main(int argc, char** argv) {
    // On X11, Qt's backing store hands frames to the X server through shared memory and, before
    // painting over a part the server may still be reading, waits for a round trip to it. The
    // viewer repaints much the same part every frame, so every frame waited for the X server,
    // itself queued behind training on a busy machine: the 95th percentile of the wait was
    // 1.5-2.6 ms (`trpo-studio --bench`, README "Benchmarks"). Sent over the socket instead, a frame
    // waits for nothing. TRPO_X11_SHM=1 keeps shared memory (Qt uses it unless QT_XCB_NO_MITSHM
    // is set, to any value).
    if (qgetenv("TRPO_X11_SHM") != "1") qputenv("QT_XCB_NO_MITSHM", "1");
    QApplication app(argc, argv);
    QApplication::setOrganizationName("trpo-studio");
    QApplication::setApplicationName("trpo-studio");
    QApplication::setApplicationVersion(TRPO_VERSION);

    QCommandLineParser p;
    p.setApplicationDescription("TRPO Studio: watch Trust Region Policy Optimization learn Box2D tasks, live.");
    p.addHelpOption();
    p.addVersionOption();
    p.addOption({"env", "Environment to open (default CartPole-v1).", "ID", "CartPole-v1"});
    p.addOption({"compare", "Open the fork or sweep in DIR (the folder with fork.json or sweep.json that trpo-train "
                            "--fork or --sweep writes) as one comparison, as File > Open comparison does; with "
                            "--screenshot, write it and exit.", "DIR"});
    p.addOption({"open", "Open the saved run RUN_DIR (a .trporun folder), as File > Open run does.", "RUN_DIR"});
    p.addOption({"iterations", "Train exactly N iterations (after --open: N more), then pause.", "N"});
    p.addOption({"screenshot",
                 "Write the window to FILE.png and exit with code 0: after --open and --iterations if given, else as "
                 "soon as the window is up. Implies --no-settings and --no-autosave.",
                 "FILE.png"});
    p.addOption({"out", "Write a run directory for every run under DIR (default: the application data folder's runs/; "
                        "none with --bench or --screenshot).", "DIR"});
    p.addOption({"no-run-dir", "Do not write run directories (progress.csv, events.jsonl)."});
    p.addOption({"bench", "Train N iterations of CartPole-v1 with the viewer at 60 fps, print figures and exit.", "N"});
    p.addOption({"soak", "As --bench N, and print the resident memory every 500 iterations (every N/10 below 5000); "
                         "exit with code 1 if it grows by more than 5% after the first fifth of the run.", "N"});
    p.addOption({"steps-per-iteration", "Override the preset's steps per iteration.", "N"});
    p.addOption({"start", "Start training as soon as the window is open."});
    p.addOption({"config", "Start with the settings of this JSON configuration (a run's config.json works too): the "
                           "environment's preset, then the file, then --steps-per-iteration.", "FILE"});
    p.addOption({"lesson", "Play the lesson in FILE (a .trpolesson file, as File > Open lesson does): its settings, "
                           "only the controls it lists, and its steps in a side panel. With --screenshot, the picture "
                           "is taken when the first step's actions have run.", "FILE"});
    p.addOption({"phases", "After --iterations, step K phases of the next iteration (1-7, as Run > Step phase), then "
                           "take the --screenshot.", "K"});
    p.addOption({"pace", "Training pace: iterations started per second, one of 0.5, 1, 2, 5, 10, or max (as fast as "
                         "the machine goes). Default: the remembered pace, 1 on a fresh install.",
                 "N"});
    p.addOption({"presentation", "Start in presentation mode (the environment large, two plots beside it, large "
                                 "fonts and thick lines); with --compare, the comparison in presentation mode's type."});
    p.addOption({"inspector", "Open the trust-region inspector; after --iterations it shows the last iteration."});
    p.addOption({"inspect-every", "The inspector probes every N-th iteration (1: every one) instead of on demand.", "N"});
    p.addOption({"replay", "After --iterations, replay iteration N's best episode in the viewer (N:median or N:worst "
                           "for the others), as a click on the return plot does.", "N[:RANK]"});
    p.addOption({"ghost", "After --iterations, turn on View > π_old ghost (for the --replay iteration, else the last); "
                          "a --screenshot waits until the ghost has played its episode."});
    p.addOption({"fork", "After --iterations, fork the run as Run > Fork… does into the variants KEY=V1,V2,... (2-6 "
                         "values of a hot setting or algo); with --screenshot, the comparison window is written "
                         "while the variants train, once each has done half its iterations.", "KEY=V1,V2,..."});
    p.addOption({"fork-iterations", "With --fork: iterations per variant (default 20).", "N"});
    p.addOption({"fork-dir", "With --fork: the fork's folder (default: under the run's directory).", "DIR"});
    p.addOption({"collapse-drop", "The divergence guardrail's collapse_drop for every run (0 … 1, 0 = off).", "F"});
    p.addOption({"no-settings", "Neither restore nor save the window layout."});
    p.addOption({"no-restore", "Do not offer to restore the autosave of a session that did not end normally."});
    p.addOption({"no-autosave", "Neither autosave the run nor offer to restore an autosave."});
    p.process(app);
    if (!p.positionalArguments().isEmpty()) return fail(QString("unexpected argument '%1'").arg(p.positionalArguments().first()));

    if (p.isSet("compare")) return compareFork(p);

    ui::StudioOptions opts;
    Script script;
    QString error;
    opts.env = p.value("env");
    if (!sim::makeEnvironment(opts.env.toStdString()))
        return fail(QString("unknown environment '%1' (known: %2)").arg(opts.env, QString::fromStdString(sim::knownEnvironmentIds())));
    // every run leaves progress.csv and events.jsonl behind unless asked not to
    opts.runDirBase = p.isSet("out") ? p.value("out")
                                     : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/runs";
    if (p.isSet("no-run-dir")) opts.runDirBase.clear();
    opts.useSettings = !p.isSet("no-settings");
    opts.autosave = !p.isSet("no-autosave");
    if (p.isSet("steps-per-iteration")) {
        bool ok = false;
        const int n = p.value("steps-per-iteration").toInt(&ok);
        if (!ok || n < 2) return fail("--steps-per-iteration must be an integer >= 2");
        opts.stepsPerIteration = n;
    }
    if (p.isSet("config")) {
        QFile f(p.value("config"));
        if (!f.open(QIODevice::ReadOnly))
            return fail(QString("--config '%1': %2").arg(p.value("config"), f.errorString()));
        const std::string text = f.readAll().toStdString();
        try {
            core::TrpoConfig probe;
            core::applyConfigJson(probe, text);
            core::TrpoConfig cfg = core::presetConfig(p.isSet("env") ? opts.env.toStdString() : probe.env);
            core::applyConfigJson(cfg, text);
            if (p.isSet("env")) cfg.env = opts.env.toStdString();
            if (opts.stepsPerIteration) cfg.stepsPerIteration = *opts.stepsPerIteration;
            cfg.validate();
            if (!sim::makeEnvironment(cfg.env)) throw core::ConfigError("unknown environment '" + cfg.env + "'");
            opts.env = QString::fromStdString(cfg.env);
            opts.config = cfg;
        } catch (const std::exception& e) {
            return fail(QString("--config '%1': %2").arg(p.value("config"), e.what()));
        }
    }
    if (p.isSet("lesson")) {
        if (p.isSet("config") || p.isSet("open") || p.isSet("env"))
            return fail("--lesson sets the environment and the settings; leave out --env, --config and --open");
        std::vector<std::string> envs;
        for (const sim::EnvInfo& e : sim::registry()) envs.push_back(e.id);
        try {
            script.lesson = run::readLesson(p.value("lesson").toStdString(), &envs);
        } catch (const run::LessonError& e) {
            return fail(QString("--lesson: %1").arg(QString::fromStdString(e.what())));
        }
        script.lessonPath = p.value("lesson");
        core::TrpoConfig cfg = script.lesson->config;
        if (opts.stepsPerIteration) cfg.stepsPerIteration = *opts.stepsPerIteration;
        try {
            cfg.validate();
        } catch (const core::ConfigError& e) {
            return fail(QString("--steps-per-iteration: %1").arg(e.what()));
        }
        opts.env = QString::fromStdString(cfg.env);
        opts.config = cfg;
        script.lesson->config = cfg;
    }
    if (p.isSet("open")) {
        script.openDir = p.value("open");
        if (!QFileInfo(script.openDir).isDir())
            return fail(QString("--open '%1': no such folder (a saved run is a NAME.trporun folder)").arg(script.openDir));
    }
    if (p.isSet("iterations")) {
        const std::optional<int> n = positive(p, "iterations", &error);
        if (!n) return fail(error);
        script.iterations = *n;
    }
    if (p.isSet("phases")) {
        const std::optional<int> n = positive(p, "phases", &error);
        if (!n || *n > 7) return fail(QString("--phases needs a whole number from 1 to 7, not '%1'").arg(p.value("phases")));
        script.phases = *n;
    }
    if (p.isSet("screenshot")) {
        script.screenshot = QDir::cleanPath(p.value("screenshot"));
        if (const QString e = screenshotPathError(script.screenshot); !e.isEmpty()) return fail(e);
        opts.useSettings = false;
        opts.autosave = false;
        if (!p.isSet("out")) opts.runDirBase.clear();
    }
    int soakEvery = 0;
    if (p.isSet("soak")) {
        if (p.isSet("bench")) return fail("--soak is --bench with memory figures: give one of them");
        const std::optional<int> n = positive(p, "soak", &error);
        if (!n) return fail(error);
        soakEvery = *n >= 5000 ? 500 : std::max(1, *n / 10);
    }
    if (p.isSet("bench") || p.isSet("soak")) {
        const QString flag = p.isSet("bench") ? "bench" : "soak";
        if (p.isSet("open") || p.isSet("iterations") || p.isSet("screenshot"))
            return fail(QString("--%1 cannot be combined with --open, --iterations or --screenshot").arg(flag));
        const std::optional<int> n = positive(p, flag, &error);
        if (!n) return fail(error);
        script.bench = *n;
        opts.env = "CartPole-v1";
        opts.useSettings = false;
        opts.autosave = false;
        if (!p.isSet("out")) opts.runDirBase.clear();
    }
    if (p.isSet("pace")) {
        const std::optional<ui::Pace> pace = ui::Pace::parse(p.value("pace"));
        if (!pace) {
            QStringList keys;
            for (const ui::Pace& c : ui::Pace::choices()) keys << c.key();
            return fail(QString("--pace '%1': the pace is one of %2").arg(p.value("pace"), keys.join(", ")));
        }
        opts.pace = *pace;
    }
    if (p.isSet("bench") || p.isSet("soak")) {
        if (opts.pace && !opts.pace->isMax()) return fail("--bench and --soak run at the max pace; leave out --pace");
        opts.pace = ui::Pace::max();
    }
    script.start = p.isSet("start");
    script.inspector = p.isSet("inspector");
    script.ghost = p.isSet("ghost");
    if (p.isSet("replay")) {
        const QStringList parts = p.value("replay").split(':');
        bool ok = false;
        const int n = parts[0].toInt(&ok);
        const QString rank = parts.size() > 1 ? parts[1] : QString("best");
        if (!ok || n < 1 || parts.size() > 2 || (rank != "best" && rank != "median" && rank != "worst"))
            return fail(QString("--replay '%1': give an iteration and optionally a rank, as 12, 12:median or 12:worst")
                            .arg(p.value("replay")));
        script.replayIteration = n;
        script.replayRank = rank == "best" ? core::EpisodeRank::Best : rank == "median" ? core::EpisodeRank::Median : core::EpisodeRank::Worst;
    }
    std::optional<int> inspectEvery;
    if (p.isSet("inspect-every")) {
        inspectEvery = positive(p, "inspect-every", &error);
        if (!inspectEvery) return fail(error);
    }
    if (p.isSet("collapse-drop")) {
        // checked here, against the configuration's own range, before any window exists
        core::TrpoConfig check;
        try {
            core::setConfigValue(check, "collapse_drop", p.value("collapse-drop").toStdString());
            check.validate();
        } catch (const std::exception& e) {
            return fail(QString("--collapse-drop: %1").arg(QString::fromStdString(e.what())));
        }
        opts.settings.emplace_back("collapse_drop", p.value("collapse-drop").toStdString());
    }
    if (p.isSet("fork")) {
        if (p.isSet("lesson") || p.isSet("phases") || p.isSet("ghost") || p.isSet("replay"))
            return fail("--fork cannot be combined with --lesson, --phases, --replay or --ghost");
        const core::TrpoConfig base = opts.config ? *opts.config : core::presetConfig(opts.env.toStdString());
        try {
            script.fork = run::parseVary(p.value("fork").toStdString(), base);
        } catch (const core::ConfigError& e) {
            return fail(QString("--fork: %1").arg(QString::fromStdString(e.what()).remove("--vary: ")));
        }
        if (p.isSet("fork-iterations")) {
            const std::optional<int> n = positive(p, "fork-iterations", &error);
            if (!n || *n > 1000) return fail(QString("--fork-iterations needs a whole number from 1 to 1000, not '%1'").arg(p.value("fork-iterations")));
            script.forkIterations = *n;
        }
        if (p.isSet("fork-dir")) script.forkDir = p.value("fork-dir");
    } else {
        for (const char* forkOnly : {"fork-iterations", "fork-dir"})
            if (p.isSet(forkOnly)) return fail(QString("--%1 needs --fork KEY=V1,V2,...").arg(forkOnly));
    }
    // a run autosaved by a session that crashed is offered once the window is up
    script.offerRestore = opts.autosave && !p.isSet("no-restore") && script.openDir.isEmpty() && !script.lesson;

    ui::MainWindow window(opts);
    if (p.isSet("presentation")) window.setPresentationMode(true);
    if (inspectEvery) window.inspector()->setProbeEvery(*inspectEvery);
    window.show();
    if (script.inspector) window.showInspector();
    if (script.bench > 0)
        runBench(window, script.bench, soakEvery);
    else
        runScript(window, script);
    const int code = app.exec();
    return code != 0 ? code : g_exitCode;
}
