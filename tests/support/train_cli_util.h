// Helpers for the tests that run the real trpo-train (TRPO_TRAIN_EXE) as a user would: run it
// and read the rows of a run's progress.csv that do not depend on timing. runTrain exists only
// where TRPO_TRAIN_EXE is defined; a test that starts no process uses the rows alone.
#pragma once

#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace testutil {

struct TrainResult {
    int code;     // the exit code; -1 on a timeout, -2 when it crashed
    QString out, err;
};

#ifdef TRPO_TRAIN_EXE
// runs trpo-train with `args` and waits up to two minutes
inline TrainResult runTrain(const QStringList& args) {
    QProcess p;
    p.start(TRPO_TRAIN_EXE, args);
    if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, p.readAllStandardOutput(),
            p.readAllStandardError()};
}
#endif

// progress.csv rows without the measured columns (wall_seconds, seconds_*, steps_per_second)
inline QStringList progressRowsWithoutTiming(const QString& dir) {
    QFile f(dir + "/progress.csv");
    if (!f.open(QIODevice::ReadOnly)) return {};
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    if (lines.isEmpty()) return {};
    const QStringList header = lines.first().split(',');
    QStringList out;
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList cells = lines[i].split(',');
        QStringList kept;
        for (int c = 0; c < cells.size() && c < header.size(); ++c)
            if (header[c] != "wall_seconds" && !header[c].startsWith("seconds_") && header[c] != "steps_per_second")
                kept << cells[c];
        out << kept.join(',');
    }
    return out;
}

} // namespace testutil
