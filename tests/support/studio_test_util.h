// Helpers shared by the studio's tests (they link trpo_ui): open a window and wait for its
// first run, step it through the real Step action.
#pragma once

#include <QApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

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

// answers the next file dialog with path as soon as it appears (gives up after 3 s): the
// folder selected and the name typed, as a user would; for a folder dialog, path is the folder.
// An empty path cancels the dialog.
inline void answerFileDialog(const QString& path) {
    auto* timer = new QTimer;
    timer->setInterval(20);
    QObject::connect(timer, &QTimer::timeout, timer, [timer, path, ticks = 0]() mutable {
        auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
        if (!dialog && ++ticks < 150) return;
        timer->stop();
        timer->deleteLater();
        if (!dialog) return;
        if (path.isEmpty()) {
            static_cast<QDialog*>(dialog)->reject();
            return;
        }
        dialog->selectFile(path);
        if (auto* name = dialog->findChild<QLineEdit*>("fileNameEdit")) name->setText(QFileInfo(path).fileName());
        static_cast<QDialog*>(dialog)->accept(); // QFileDialog::accept, which checks the selection
    });
    timer->start();
}

} // namespace testutil
