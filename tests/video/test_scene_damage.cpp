// The viewer repaints only what changed between two frames (video::sceneDamage). Painting a
// frame over the last one, clipped to that damage, must give the picture a full paint of the
// frame gives, pixel for pixel: checked over random episodes of environments whose camera
// stays put (CartPole, Acrobot, Pendulum, LunarLander) and one whose camera follows the agent
// (BipedalWalker), painting every frame and only every third (the viewer's repaints coalesce
// when the UI thread is late). On CartPole the damage must also be a small part of the view,
// or the viewer would repaint it whole sixty times a second for nothing.
#include <QImage>
#include <QPainter>
#include <QtTest>
#include <memory>

#include "core/rng.h"
#include "sim/registry.h"
#include "video/scene_painter.h"

namespace {

const QSize kView(760, 470); // about the studio's viewer on a 1600 x 1000 screen

void randomAction(const core::Space& a, core::Rng& rng, std::vector<double>& action) {
    if (a.isDiscrete()) {
        action[0] = static_cast<double>(rng.below(static_cast<std::uint64_t>(a.n)));
        return;
    }
    for (size_t j = 0; j < action.size(); ++j) action[j] = rng.uniform(a.low[j], a.high[j]);
}

// the viewer's HUD for an episode at `step` with return `ret`
QStringList hud(int step, double ret) {
    video::PlayerHud h;
    h.player = video::PlayerHud::Player::Random;
    h.step = step;
    h.episodeReturn = ret;
    return video::playerHudLines(h);
}

QImage paintWhole(const sim::DrawList& scene, const video::SceneOverlay& o) {
    QImage image(kView, QImage::Format_RGB32);
    QPainter p(&image);
    video::paintScene(p, kView, scene, o);
    return image;
}

} // namespace

class TestSceneDamage : public QObject {
    Q_OBJECT

private slots:
    void partialRepaintsEqualFullOnes_data() {
        QTest::addColumn<QString>("env");
        QTest::addColumn<int>("paintEvery");
        for (const char* id : {"CartPole-v1", "Acrobot-v1", "Pendulum-v1", "LunarLander-v3", "BipedalWalker-v3"})
            for (int every : {1, 3}) QTest::newRow(qPrintable(QString("%1, every %2").arg(id).arg(every))) << QString(id) << every;
    }

    void partialRepaintsEqualFullOnes() {
        QFETCH(QString, env);
        QFETCH(int, paintEvery);
        std::unique_ptr<sim::SimEnvironment> e = sim::makeEnvironment(env.toStdString());
        QVERIFY(e);
        const core::EnvSpec& spec = e->spec();
        std::vector<double> obs(static_cast<size_t>(spec.observation.dim())), action(static_cast<size_t>(spec.action.dim()));
        core::Rng rng(7);
        video::PaintCache cache;
        video::SceneOverlay o;
        o.font = QFont();
        o.cache = &cache;

        e->reset(3, obs);
        sim::DrawList painted, now;
        e->draw(painted);
        QStringList paintedHud = hud(0, 0);
        o.hud = paintedHud;
        QImage screen = paintWhole(painted, o);
        double ret = 0, damagedShare = 0;
        int step = 0, paints = 0, partial = 0;
        for (int t = 1; t <= 120; ++t) {
            randomAction(spec.action, rng, action);
            const core::StepResult r = e->step(action, obs);
            ret += r.reward;
            ++step;
            if (r.terminated || r.truncated) {
                e->reset(100 + static_cast<std::uint64_t>(t), obs);
                ret = 0;
                step = 0;
            }
            if (t % paintEvery != 0) continue;
            e->draw(now);
            o.hud = hud(step, ret);
            const QRegion damage = video::sceneDamage(kView, painted, paintedHud, now, o);
            {
                QPainter p(&screen);
                p.setClipRegion(damage);
                video::paintScene(p, kView, now, o);
            }
            const QImage whole = paintWhole(now, o);
            if (screen != whole) {
                // where they differ, for the failure message
                QRect diff;
                for (int y = 0; y < kView.height(); ++y)
                    for (int x = 0; x < kView.width(); ++x)
                        if (screen.pixel(x, y) != whole.pixel(x, y)) diff |= QRect(x, y, 1, 1);
                QFAIL(qPrintable(QString("frame %1: the partial repaint differs from a full one in (%2, %3) %4 x %5")
                                     .arg(t).arg(diff.x()).arg(diff.y()).arg(diff.width()).arg(diff.height())));
            }
            long long area = 0;
            for (const QRect& r : damage) area += static_cast<long long>(r.width()) * r.height();
            damagedShare += static_cast<double>(area) / (kView.width() * kView.height());
            partial += damage != QRegion(QRect(QPoint(0, 0), kView)) ? 1 : 0;
            ++paints;
            painted = now;
            paintedHud = o.hud;
        }
        if (env == "CartPole-v1") {
            QCOMPARE(partial, paints); // the camera stays put: never the whole view
            QVERIFY2(damagedShare / paints < 0.3, qPrintable(QString("mean damage %1 of the view").arg(damagedShare / paints)));
        }
        if (env == "BipedalWalker-v3") QVERIFY(partial < paints); // the camera moves: whole frames
    }

    void overlaysOtherThanTheHudRepaintEverything() {
        std::unique_ptr<sim::SimEnvironment> e = sim::makeEnvironment("CartPole-v1");
        std::vector<double> obs(4), action{1};
        e->reset(1, obs);
        sim::DrawList a, b;
        e->draw(a);
        e->step(action, obs);
        e->draw(b);
        const QRegion whole(QRect(QPoint(0, 0), kView));
        video::SceneOverlay o;
        o.hud = hud(1, 1);
        QVERIFY(video::sceneDamage(kView, a, hud(0, 0), b, o) != whole);
        QCOMPARE(video::sceneDamage(kView, a, hud(0, 0), a, o).isEmpty(), false); // the HUD boxes
        o.banner = "Waiting for the first policy";
        QCOMPARE(video::sceneDamage(kView, a, hud(0, 0), b, o), whole);
        o.banner.clear();
        sim::DrawList moved = b;
        moved.camera.centre.x += 0.5f;
        QCOMPARE(video::sceneDamage(kView, a, hud(0, 0), moved, o), whole);
        sim::DrawList more = b;
        more.segment({0, 0}, {1, 1}, {0, 0, 0, 255});
        QCOMPARE(video::sceneDamage(kView, a, hud(0, 0), more, o), whole);
    }
};

QTEST_MAIN(TestSceneDamage)
#include "test_scene_damage.moc"
