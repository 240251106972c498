// trpo-studio: the TRPO Studio window. Options are validated before any widget exists.
// --bench N trains N iterations of CartPole with the window open and the viewer at 60 fps,
// prints training steps/s and the 95th percentile of the viewer's frame interval, and exits.
#include <QApplication>
#include <QStandardPaths>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <vector>

#include "sim/registry.h"
#include "ui/env_view.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"
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

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("trpo-studio");
    QApplication::setApplicationName("trpo-studio");
    QApplication::setApplicationVersion(TRPO_VERSION);

    QCommandLineParser p;
    p.setApplicationDescription("TRPO Studio: watch Trust Region Policy Optimization learn Box2D tasks, live.");
    p.addHelpOption();
    p.addVersionOption();
    p.addOption({"env", "Environment to open (default CartPole-v1).", "ID", "CartPole-v1"});
    p.addOption({"out", "Write a run directory for every run under DIR (default: the application data folder's runs/).", "DIR"});
    p.addOption({"no-run-dir", "Do not write run directories (progress.csv, events.jsonl)."});
    p.addOption({"bench", "Train N iterations of CartPole-v1 with the viewer at 60 fps, print figures and exit.", "N"});
    p.addOption({"steps-per-iteration", "Override the preset's steps per iteration.", "N"});
    p.addOption({"start", "Start training as soon as the window is open."});
    p.addOption({"presentation", "Start in presentation mode (large fonts, thick lines)."});
    p.addOption({"no-settings", "Neither restore nor save the window layout."});
    p.addOption({"no-restore", "Do not offer to restore the autosave of a session that did not end normally."});
    p.addOption({"no-autosave", "Neither autosave the run nor offer to restore an autosave."});
    p.process(app);

    ui::StudioOptions opts;
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
    int benchIterations = 0;
    if (p.isSet("bench")) {
        bool ok = false;
        benchIterations = p.value("bench").toInt(&ok);
        if (!ok || benchIterations < 1) return fail("--bench needs a positive number of iterations");
        opts.env = "CartPole-v1";
        opts.useSettings = false;
        opts.autosave = false;
        if (!p.isSet("out")) opts.runDirBase.clear();
    }

    ui::MainWindow window(opts);
    if (p.isSet("presentation")) window.setPresentationMode(true);
    window.show();
    if (benchIterations == 0) {
        // a run autosaved by a session that crashed: offer it once the window is up
        if (opts.autosave && !p.isSet("no-restore"))
            QTimer::singleShot(0, &window, [&window] { window.runs()->offerAutosaveRestore(); });
        if (p.isSet("start"))
            QObject::connect(&window, &ui::MainWindow::runReset, window.session(), &ui::TrainingSession::start,
                             Qt::SingleShotConnection);
        return app.exec();
    }

    // bench: start once the first (reset) trainer is ready; time from start to the Nth iteration
    ui::EnvView* view = window.envView();
    view->setSpeed(ui::EnvView::Speed::RealTime);
    view->setFrameRateOverride(60);
    QElapsedTimer clock;
    std::int64_t stepsAtStart = 0;
    int done = 0;
    QObject::connect(&window, &ui::MainWindow::runReset, &window, [&] {
        view->clearFrameTimes();
        clock.start();
        window.session()->start();
    });
    QObject::connect(window.session(), &ui::TrainingSession::iterationFinished, &window,
                     [&](const core::IterationStats& s) {
                         if (done >= benchIterations || ++done < benchIterations) return; // the in-flight one after the pause too
                         const double seconds = clock.nsecsElapsed() / 1e9;
                         window.session()->pause();
                         const std::vector<double>& frames = view->frameIntervals();
                         std::printf("trpo-studio bench: %d iterations, %lld steps in %.2f s: %.0f training steps/s\n",
                                     done, static_cast<long long>(s.envSteps - stepsAtStart), seconds,
                                     (s.envSteps - stepsAtStart) / seconds);
                         std::printf("viewer: %zu frames at 60 fps target, frame interval p50 %.1f ms, p95 %.1f ms, max %.1f ms\n",
                                     frames.size(), percentile(frames, 0.5), percentile(frames, 0.95),
                                     frames.empty() ? 0.0 : *std::max_element(frames.begin(), frames.end()));
                         std::fflush(stdout);
                         window.close();
                     });
    QObject::connect(window.session(), &ui::TrainingSession::failed, &window, [&](const QString& msg) {
        std::fprintf(stderr, "trpo-studio bench: %s\n", qPrintable(msg));
        QCoreApplication::exit(1);
    });
    return app.exec();
}
