// Helpers shared by the studio's tests (they link trpo_ui): open a window and wait for its
// first run, step it through the real Step action.
#pragma once

#include <QSignalSpy>
#include <QTest>

#include "ui/main_window.h"
#include "ui/training_session.h"

namespace testutil {

// shows the window and waits for the run it starts with
inline bool waitForRun(ui::MainWindow& w) {
    QSignalSpy resets(&w, &ui::MainWindow::runReset);
    w.show();
    if (!QTest::qWaitForWindowExposed(&w)) return false;
    return resets.count() > 0 || resets.wait(10000);
}

// runs exactly n iterations with the Step action; returns the last one's stats
inline core::IterationStats stepIterations(ui::MainWindow& w, int n) {
    QSignalSpy iterations(w.session(), &ui::TrainingSession::iterationFinished);
    core::IterationStats last;
    for (int i = 0; i < n; ++i) {
        const int before = iterations.count();
        w.stepAction()->trigger();
        if (!QTest::qWaitFor([&] { return iterations.count() > before; }, 15000)) return last;
        last = iterations.last().at(0).value<core::IterationStats>();
    }
    return last;
}

} // namespace testutil
