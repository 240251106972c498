// File > Export clip… on the offscreen platform: the dialog's Export button records a short
// GIF and a short MP4 of the viewer's policy on a worker thread, with a progress dialog; the
// files decode back (libavformat) at the chosen size with every frame. The progress
// dialog's Cancel and closing the window mid-export leave no file; with no policy yet the
// export is refused with a message.
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "support/clip_probe.h"
#include "support/studio_test_util.h"
#include "ui/clip_export.h"
#include "ui/env_view.h"
#include "ui/main_window.h"

namespace {

ui::StudioOptions fastOptions(const QString& autosaveDir) {
    ui::StudioOptions o;
    o.env = "CartPole-v1";
    o.stepsPerIteration = 256;
    o.useSettings = false;
    o.autosaveDir = autosaveDir;
    o.pace = ui::Pace::max();
    return o;
}

QStringList filesIn(const QString& dir) {
    return QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
}

// a window with one trained iteration playing in the viewer
bool trainedWindow(ui::MainWindow& w) {
    if (!testutil::waitForRun(w)) return false;
    testutil::stepIterations(w, 1);
    return QTest::qWaitFor([&] { return w.envView()->hasSnapshot(); }, 10000);
}

} // namespace

class TestClipExport : public QObject {
    Q_OBJECT
private slots:
    void exportThroughTheDialog_data() {
        QTest::addColumn<int>("formatIndex");
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<std::string>("codec");
        QTest::newRow("gif") << 1 << "gif" << std::string("gif");
        QTest::newRow("mp4") << 0 << "mp4" << std::string("h264");
    }
    void exportThroughTheDialog() {
        QFETCH(int, formatIndex);
        QFETCH(QString, suffix);
        QFETCH(std::string, codec);
        QTemporaryDir tmp;
        ui::MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(trainedWindow(w));
        QStringList errors;
        w.setMessageHook([&](const QString&, const QString& text) { errors << text; });

        w.exportClipAction()->trigger();
        QDialog* dlg = nullptr;
        QTRY_VERIFY((dlg = w.findChild<QDialog*>("exportClipDialog")) && dlg->isVisible());
        dlg->findChild<QComboBox*>("clipFormat")->setCurrentIndex(formatIndex);
        dlg->findChild<QSpinBox*>("clipEpisodes")->setValue(1);
        dlg->findChild<QSpinBox*>("clipWidth")->setValue(128);
        dlg->findChild<QSpinBox*>("clipHeight")->setValue(96);
        auto* file = dlg->findChild<QLineEdit*>("clipFile");
        file->setText(tmp.filePath("clip.mp4"));
        // the suffix follows the format
        dlg->findChild<QComboBox*>("clipFormat")->setCurrentIndex(1 - formatIndex);
        dlg->findChild<QComboBox*>("clipFormat")->setCurrentIndex(formatIndex);
        const QString path = tmp.filePath("clip." + suffix);
        QCOMPARE(file->text(), path);

        QSignalSpy exported(w.clips(), &ui::ClipExporter::clipExported);
        QSignalSpy progress(w.clips(), &ui::ClipExporter::progressChanged);
        QTest::mouseClick(dlg->findChild<QPushButton*>("clipExportButton"), Qt::LeftButton);
        QVERIFY(w.clips()->progressDialog() && w.clips()->progressDialog()->isVisible());
        QVERIFY(exported.wait(30000));
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
        QCOMPARE(exported.first().at(0).toString(), path);
        QVERIFY(progress.count() > 0);
        QCOMPARE(progress.last().at(0).toDouble(), 1.0);
        QVERIFY(!w.clips()->isBusy());
        QVERIFY(!w.clips()->progressDialog());

        const testutil::ClipInfo info = testutil::probeClip(path.toStdString());
        QVERIFY2(info.ok, info.error.c_str());
        if (codec == "h264" && info.codec == "mpeg4") codec = "mpeg4"; // an FFmpeg without libx264
        QCOMPARE(info.codec, codec);
        QCOMPARE(info.width, 128);
        QCOMPARE(info.height, 96);
        QCOMPARE(info.frames, exported.first().at(1).toInt());
        QVERIFY(info.frames > 13);
        QCOMPARE(filesIn(tmp.path()), QStringList{"clip." + suffix});
    }

    void cancelLeavesNoFile() {
        QTemporaryDir tmp;
        ui::MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(trainedWindow(w));
        QSignalSpy cancelled(w.clips(), &ui::ClipExporter::clipCancelled);
        QSignalSpy progress(w.clips(), &ui::ClipExporter::progressChanged);
        video::ClipOptions o;
        o.episodes = 100;
        o.size = QSize(320, 240);
        QVERIFY(w.clips()->exportClip(tmp.filePath("long.mp4"), o));
        QVERIFY(progress.wait(10000));
        QProgressDialog* bar = w.clips()->progressDialog();
        QVERIFY(bar && bar->isVisible());
        QPushButton* cancel = bar->findChild<QPushButton*>();
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(cancelled.wait(10000));
        QVERIFY(!w.clips()->isBusy());
        QCOMPARE(filesIn(tmp.path()), QStringList());
    }

    void closingMidExportStopsPromptly() {
        QTemporaryDir tmp;
        auto w = std::make_unique<ui::MainWindow>(fastOptions(tmp.filePath("autosave")));
        QVERIFY(trainedWindow(*w));
        QSignalSpy progress(w->clips(), &ui::ClipExporter::progressChanged);
        video::ClipOptions o;
        o.format = video::ClipFormat::Gif;
        o.episodes = 100;
        o.size = QSize(320, 240);
        QVERIFY(w->clips()->exportClip(tmp.filePath("long.gif"), o));
        QVERIFY(progress.wait(10000));
        QElapsedTimer t;
        t.start();
        w->close();
        w.reset();
        QVERIFY2(t.elapsed() < 3000, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(filesIn(tmp.path()), QStringList());
    }

    void noPolicyNoClip() {
        QTemporaryDir tmp;
        ui::MainWindow w(fastOptions(tmp.filePath("autosave")));
        QVERIFY(testutil::waitForRun(w));
        QStringList errors;
        w.setMessageHook([&](const QString&, const QString& text) { errors << text; });
        w.envView()->setEnvironment("CartPole-v1"); // a fresh copy: no snapshot until the next iteration
        QVERIFY(!w.envView()->hasSnapshot());
        QVERIFY(!w.clips()->exportClip(tmp.filePath("clip.mp4"), {}));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors[0].contains("No policy"), qPrintable(errors[0]));
        QCOMPARE(filesIn(tmp.path()), QStringList());
    }
};

QTEST_MAIN(TestClipExport)
#include "test_clip_export.moc"
