// CartPolePixels-v0 (sim/cartpole_pixels.cpp) and the rasteriser behind it (sim/raster.cpp):
// coverage and compositing rules, the dynamics being CartPole-v1's, the stacked frames, what
// the image shows of the state, sub-pixel motion, determinism and the viewer's panel.
#include <QtTest>

#include <cmath>
#include <numeric>

#include "env_test_util.h"
#include "sim/cartpole_pixels.h"
#include "sim/raster.h"

using sim::CartPoleEnv;
using sim::CartPolePixelsEnv;

namespace {

constexpr double kPi = 3.14159265358979323846;

// a 10×10 image of 1 m pixels, world x 0..10, y 0..10 (row 0 at the top, y 9..10)
sim::RasterView unitView(int samples = 4) {
    sim::RasterView v;
    v.x0 = 0.f;
    v.yTop = 10.f;
    v.metresPerPixel = 1.f;
    v.cols = 10;
    v.rows = 10;
    v.samples = samples;
    return v;
}

double at(const std::vector<double>& img, int row, int col) { return img[static_cast<size_t>(row * 10 + col)]; }

std::vector<double> rasterize(const sim::DrawList& dl, const sim::RasterView& v) {
    std::vector<double> img(static_cast<size_t>(v.rows * v.cols), -1.0);
    sim::rasterizeGray(dl, v, img);
    return img;
}

sim::DrawList whiteScene() {
    sim::DrawList dl;
    dl.background = {255, 255, 255, 255};
    return dl;
}

core::StepResult push(core::Environment& env, int a, std::span<double> obs) {
    const double action = a;
    return env.step(std::span<const double>(&action, 1), obs);
}

} // namespace

class TestCartPolePixels : public QObject {
    Q_OBJECT
private slots:
    void darknessIsOneMinusLuminance() {
        QCOMPARE(sim::darkness({255, 255, 255, 255}), 0.0);
        QCOMPARE(sim::darkness({0, 0, 0, 255}), 1.0);
        QVERIFY(std::abs(sim::darkness({255, 0, 0, 255}) - (1 - 0.299)) < 1e-12);
        QVERIFY(std::abs(sim::darkness({0, 255, 0, 255}) - (1 - 0.587)) < 1e-12);
    }

    void polygonCoversWholeAndHalfPixels() {
        sim::DrawList dl = whiteScene();
        // exactly pixel (row 2, col 3): x 3..4, y 7..8
        dl.polygon({{3, 7}, {4, 7}, {4, 8}, {3, 8}}, {0, 0, 0, 255});
        // half of pixels (row 5, col 1) and (row 5, col 2): x 1.5..2.5, y 4..5
        dl.polygon({{1.5f, 4}, {2.5f, 4}, {2.5f, 5}, {1.5f, 5}}, {0, 0, 0, 255});
        const auto img = rasterize(dl, unitView());
        QCOMPARE(at(img, 2, 3), 1.0);
        QCOMPARE(at(img, 5, 1), 0.5);
        QCOMPARE(at(img, 5, 2), 0.5);
        const double total = std::accumulate(img.begin(), img.end(), 0.0);
        QCOMPARE(total, 2.0); // nothing anywhere else
    }

    void compositingFollowsPaintOrderAndAlpha() {
        sim::DrawList dl = whiteScene();
        dl.polygon({{0, 9}, {1, 9}, {1, 10}, {0, 10}}, {0, 0, 0, 255});       // black on pixel (0,0)
        dl.polygon({{0, 9}, {1, 9}, {1, 10}, {0, 10}}, {255, 255, 255, 255}); // then white over it
        dl.polygon({{1, 9}, {2, 9}, {2, 10}, {1, 10}}, {0, 0, 0, 128});       // half-transparent black on (0,1)
        const auto img = rasterize(dl, unitView());
        QCOMPARE(at(img, 0, 0), 0.0);
        QVERIFY(std::abs(at(img, 0, 1) - 128.0 / 255.0) < 1e-12);
    }

    void circlesAndStrokes() {
        sim::DrawList dl = whiteScene();
        dl.circle({5, 5}, 3.f, {0, 0, 0, 255});
        auto img = rasterize(dl, unitView(16));
        const double area = std::accumulate(img.begin(), img.end(), 0.0);
        QVERIFY2(std::abs(area - kPi * 9) < 0.3, qPrintable(QString::number(area)));
        // an unfilled circle and a filled polygon's outline are not drawn
        sim::DrawList outline = whiteScene();
        outline.circle({5, 5}, 3.f, {0, 0, 0, 255}, {0, 0, 0, 255}, 2.f, false);
        outline.polygon({{2, 2}, {3, 2}, {3, 3}, {2, 3}}, {255, 255, 255, 255}, {0, 0, 0, 255}, 3.f);
        img = rasterize(outline, unitView());
        QCOMPARE(std::accumulate(img.begin(), img.end(), 0.0), 0.0);
        // a one-pixel line along the boundary between rows 4 and 5 covers half of each
        sim::DrawList line = whiteScene();
        line.segment({0, 5}, {10, 5}, {0, 0, 0, 255}, 1.f);
        img = rasterize(line, unitView());
        for (int col = 1; col < 9; ++col) {
            QCOMPARE(at(img, 4, col), 0.5);
            QCOMPARE(at(img, 5, col), 0.5);
            QCOMPARE(at(img, 3, col), 0.0);
        }
    }

    void spec() {
        CartPolePixelsEnv env;
        const core::EnvSpec& s = env.spec();
        QCOMPARE(s.id, std::string("CartPolePixels-v0"));
        QCOMPARE(s.observation.dim(), 2 * 40 * 60);
        QVERIFY(s.image && *s.image == (core::ImageShape{2, 40, 60})); // two frames as channels
        QCOMPARE(s.image->size(), s.observation.dim());
        QVERIFY(s.action.isDiscrete());
        QCOMPARE(s.action.n, 2);
        QCOMPARE(s.maxEpisodeSteps, 500);
        QCOMPARE(*s.rewardThreshold, 475.0);
        QVERIFY(simtest::checkRandomRollout(env, 600, 3).empty()); // every value in [0, 1]
    }

    // the same seed and actions give CartPole-v1's states, rewards and episode ends
    void dynamicsAreCartPoles() {
        CartPolePixelsEnv pixels;
        CartPoleEnv plain;
        std::vector<double> po(CartPolePixelsEnv::kObservationSize), so(4);
        core::Rng rng(11);
        std::uint64_t seed = 5;
        pixels.reset(seed, po);
        plain.reset(seed, so);
        int episodes = 1;
        for (int t = 0; t < 700; ++t) {
            const int a = static_cast<int>(rng.below(2));
            const core::StepResult rp = push(pixels, a, po);
            const core::StepResult rs = push(plain, a, so);
            QCOMPARE(rp.reward, rs.reward);
            QCOMPARE(rp.terminated, rs.terminated);
            QCOMPARE(rp.truncated, rs.truncated);
            const CartPoleEnv::State a1 = pixels.state(), a2 = plain.state();
            QCOMPARE(a1.x, a2.x);
            QCOMPARE(a1.theta, a2.theta);
            QCOMPARE(a1.xDot, so[1]);
            if (rp.terminated || rp.truncated) {
                ++seed, ++episodes;
                pixels.reset(seed, po);
                plain.reset(seed, so);
            }
        }
        QVERIFY(episodes > 5);
    }

    void framesAreStacked() {
        CartPolePixelsEnv env;
        std::vector<double> obs(CartPolePixelsEnv::kObservationSize);
        env.reset(2, obs);
        const auto frame = [&](int f) {
            return std::vector<double>(obs.begin() + f * CartPolePixelsEnv::kFrameSize,
                                       obs.begin() + (f + 1) * CartPolePixelsEnv::kFrameSize);
        };
        QCOMPARE(frame(0), frame(1)); // a reset shows its image twice
        std::vector<double> previous = frame(1);
        for (int t = 0; t < 8; ++t) {
            push(env, 1, obs);
            QCOMPARE(frame(0), previous);
            QVERIFY(frame(1) != previous); // the cart moves every step
            previous = frame(1);
        }
        QCOMPARE(obs, env.lastObservation());
    }

    // the cart's column and the pole's tip can be read back from the image to a pixel
    void imageShowsTheState() {
        CartPolePixelsEnv env;
        std::vector<double> obs(CartPolePixelsEnv::kObservationSize);
        env.reset(1, obs);
        for (double x : {-2.0, -0.7, 0.0, 0.33, 1.9})
            for (double thetaDeg : {-11.0, -4.0, 0.0, 6.0, 11.5}) {
                const double theta = thetaDeg * kPi / 180;
                env.setState({x, 0.0, theta, 0.0});
                env.redraw(obs);
                const auto anchor = env.stateAnchor(obs);
                const auto tip = env.statePoint(obs);
                QVERIFY(anchor && tip);
                const QString where = QString("x %1, theta %2°").arg(x).arg(thetaDeg);
                QVERIFY2(std::abs(anchor->x - x) < 0.04, qPrintable(where + QString(": cart read at %1").arg(anchor->x)));
                // the pole's far end, 0.96 m from the axle (the rectangle's end, minus its half width)
                const double tipX = x + 0.96 * std::sin(theta), tipY = CartPoleEnv::kAxleOffset + 0.96 * std::cos(theta);
                QVERIFY2(std::abs(tip->x - tipX) < 0.08 && std::abs(tip->y - tipY) < 0.1,
                         qPrintable(where + QString(": tip read at (%1, %2), is (%3, %4)").arg(tip->x).arg(tip->y).arg(tipX).arg(tipY)));
            }
    }

    // moving the cart by a quarter of a pixel changes the image (anti-aliasing)
    void subPixelMotionIsVisible() {
        CartPolePixelsEnv env;
        std::vector<double> a(CartPolePixelsEnv::kObservationSize), b(a.size());
        env.reset(1, a);
        env.setState({0.10, 0.0, 0.02, 0.0});
        env.redraw(a);
        env.setState({0.12, 0.0, 0.02, 0.0});
        env.redraw(b);
        double diff = 0;
        for (size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - b[i]);
        QVERIFY2(diff > 0.2, qPrintable(QString::number(diff)));
    }

    void deterministic() {
        CartPolePixelsEnv e1, e2;
        const auto policy = simtest::fixedRandomPolicy(e1.spec().action, 4);
        const auto policy2 = simtest::fixedRandomPolicy(e2.spec().action, 4);
        QCOMPARE(simtest::rolloutHash(e1, 9, 300, policy), simtest::rolloutHash(e2, 9, 300, policy2));
    }

    // the viewer's picture: CartPole's world on the left, both frames on the right
    void drawShowsWhatTheAgentSees() {
        CartPolePixelsEnv env;
        CartPoleEnv plain;
        std::vector<double> obs(CartPolePixelsEnv::kObservationSize), so(4);
        env.reset(3, obs);
        plain.reset(3, so);
        sim::DrawList dl, plainDl;
        env.draw(dl);
        plain.draw(plainDl);
        QVERIFY(dl.camera.width > plainDl.camera.width + 2.0f);
        QVERIFY(dl.primitives.size() > plainDl.primitives.size() + 10);
        float maxX = -1e9f; // over the shapes (the track runs on beyond the window, for a panning viewer)
        for (const auto& p : dl.primitives)
            if (p.kind == sim::Primitive::Kind::Polygon)
                for (const auto& v : p.points) maxX = std::max(maxX, v.x);
        QVERIFY(maxX > 4.0f); // the panel lies right of the world's window (x ≤ 2.4 m)
        QVERIFY(maxX <= dl.camera.centre.x + dl.camera.width / 2);
    }
};

QTEST_APPLESS_MAIN(TestCartPolePixels)
#include "test_cartpole_pixels.moc"
