// Clips (video/): an MP4 and a GIF of a policy playing CartPole decode back with libavformat
// at the asked size with every frame written; the episodes are trpo-eval's (same seeds, same
// lengths); the frames show the viewer's HUD; cancelling or a bad path leaves nothing behind
// and an existing file untouched.
#include <QDir>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>
#include <QtTest>

#include "support/clip_probe.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "run/evaluate.h"
#include "sim/registry.h"
#include "video/clip_recorder.h"
#include "video/scene_painter.h"

namespace {
core::SnapshotPtr cartPolePolicy() {
    core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
    cfg.numEnvs = 1;
    core::Trainer t(cfg, sim::environmentFactory("CartPole-v1"));
    return t.snapshot();
}
QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}
// names in dir other than `keep`
QStringList others(const QString& dir, const QString& keep = {}) {
    QStringList l = QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
    l.removeAll(keep);
    return l;
}
} // namespace

class TestClip : public QObject {
    Q_OBJECT
    core::SnapshotPtr m_policy;

private slots:
    void initTestCase() { m_policy = cartPolePolicy(); }

    void mp4DecodesBack() {
        QTemporaryDir dir;
        const QString path = dir.filePath("cartpole.mp4");
        video::ClipOptions o;
        o.format = video::ClipFormat::Mp4;
        o.size = QSize(161, 97); // rounded down to even numbers
        o.episodes = 2;
        o.seed = 4;
        std::vector<double> seen;
        const video::ClipResult r = video::recordClip(*m_policy, path.toStdString(), o, [&](double f) {
            seen.push_back(f);
            return true;
        });
        QVERIFY(!r.cancelled);
        QCOMPARE(r.fps, 50); // CartPole's frame rate
        // a frame after the reset, one per step, and the last one held half a second
        QCOMPARE(r.frames, r.lengths[0] + r.lengths[1] + 2 * (1 + 25));
        const testutil::ClipInfo info = testutil::probeClip(path.toStdString());
        QVERIFY2(info.ok, info.error.c_str());
        QVERIFY2(info.container.find("mp4") != std::string::npos, info.container.c_str());
        QVERIFY2(info.codec == "h264" || info.codec == "mpeg4", info.codec.c_str());
        QCOMPARE(info.codec, r.encoder == "libx264" ? std::string("h264") : std::string("mpeg4"));
        QCOMPARE(info.width, 160);
        QCOMPARE(info.height, 96);
        QCOMPARE(info.frames, r.frames);
        QCOMPARE(info.fps, 50.0);
        // faststart: the index (moov) comes before the frames (mdat)
        const QByteArray bytes = readAll(path);
        QVERIFY(bytes.indexOf("moov") >= 0 && bytes.indexOf("moov") < bytes.indexOf("mdat"));
        // progress rises to 1
        QVERIFY(!seen.empty());
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        QCOMPARE(seen.back(), 1.0);
        // the same episodes trpo-eval scores with this seed
        const run::EvalResult e = run::evaluatePolicy(*m_policy, "CartPole-v1", 2, true, 4);
        QCOMPARE(r.lengths, e.lengths);
        QCOMPARE(r.returns, e.returns);
        QCOMPARE(others(dir.path(), "cartpole.mp4"), QStringList());
    }

    void gifDecodesBackAndLoops() {
        QTemporaryDir dir;
        const QString path = dir.filePath("cartpole.gif");
        video::ClipOptions o;
        o.format = video::ClipFormat::Gif;
        o.size = QSize(120, 80);
        o.episodes = 1;
        const video::ClipResult r = video::recordClip(*m_policy, path.toStdString(), o);
        QCOMPARE(r.encoder, std::string("gif"));
        QCOMPARE(r.fps, 25); // two CartPole steps a frame
        const int len = r.lengths[0];
        QCOMPARE(r.frames, 1 + (len + 1) / 2 + 13);
        const QByteArray bytes = readAll(path);
        QVERIFY(bytes.startsWith("GIF89a"));
        QVERIFY(bytes.contains("NETSCAPE2.0")); // the looping extension
        const testutil::ClipInfo info = testutil::probeClip(path.toStdString());
        QVERIFY2(info.ok, info.error.c_str());
        QCOMPARE(info.codec, std::string("gif"));
        QCOMPARE(info.width, 120);
        QCOMPARE(info.height, 80);
        QCOMPARE(info.frames, r.frames);
    }

    // a frame is the viewer's picture: the scene with the HUD's box of text
    void framesCarryTheHud() {
        std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment("CartPole-v1");
        std::vector<double> obs(4);
        env->reset(1, obs);
        sim::DrawList scene;
        env->draw(scene);
        video::SceneOverlay with, without;
        video::PlayerHud hud;
        hud.player = video::PlayerHud::Player::Policy;
        hud.iteration = 7;
        hud.deterministic = true;
        with.hud = video::playerHudLines(hud);
        QCOMPARE(with.hud.first(), QString("Policy of iteration 7, deterministic"));
        QImage a(320, 200, QImage::Format_RGB32), b(320, 200, QImage::Format_RGB32);
        {
            QPainter p(&a);
            video::paintScene(p, a.size(), scene, with);
        }
        {
            QPainter p(&b);
            video::paintScene(p, b.size(), scene, without);
        }
        // the HUD's corner differs, the scene under it (left of the environment's box) does not
        int differing = 0;
        for (int y = 12; y < 40; ++y)
            for (int x = 12; x < 120; ++x) differing += a.pixel(x, y) != b.pixel(x, y);
        QVERIFY2(differing > 100, qPrintable(QString::number(differing)));
        QCOMPARE(a.copy(40, 110, 150, 80), b.copy(40, 110, 150, 80));
    }

    void cancelLeavesNothing() {
        QTemporaryDir dir;
        const QString path = dir.filePath("clip.mp4");
        // an earlier clip under the same name stays as it was
        QFile old(path);
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("earlier clip");
        old.close();
        int calls = 0;
        video::ClipOptions o;
        o.size = QSize(64, 48);
        const video::ClipResult r =
            video::recordClip(*m_policy, path.toStdString(), o, [&](double) { return ++calls < 3; });
        QVERIFY(r.cancelled);
        QCOMPARE(calls, 3);
        QCOMPARE(readAll(path), QByteArray("earlier clip"));
        QCOMPARE(others(dir.path(), "clip.mp4"), QStringList());
    }

    void badTargets() {
        QTemporaryDir dir;
        video::ClipOptions o;
        o.size = QSize(64, 48);
        const std::string missing = dir.filePath("no/such/folder/clip.mp4").toStdString();
        try {
            video::recordClip(*m_policy, missing, o);
            QFAIL("no error for a missing folder");
        } catch (const video::ClipError& e) {
            QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("does not exist") != std::string::npos, e.what());
        }
        try {
            video::recordClip(*m_policy, dir.path().toStdString(), o);
            QFAIL("no error for a directory");
        } catch (const video::ClipError& e) {
            QVERIFY2(std::string(e.what()).find("is a directory") != std::string::npos, e.what());
        }
        o.episodes = 0;
        QVERIFY_THROWS_EXCEPTION(video::ClipError, video::recordClip(*m_policy, dir.filePath("x.mp4").toStdString(), o));
        QVERIFY_THROWS_EXCEPTION(video::ClipError, video::parseFormat("avi"));
        QCOMPARE(video::parseFormat("GIF"), video::ClipFormat::Gif);
        QCOMPARE(others(dir.path()), QStringList());
    }
};

QTEST_MAIN(TestClip)
#include "test_clip.moc"
