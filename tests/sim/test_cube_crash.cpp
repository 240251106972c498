// CubeCrash-v0, CubeCrashSparse-v0 and CubeCrashScreenBecomesBlack-v0 against gym's rules
// (sim/cube_crash.cpp): reset ranges, the image, falling and steering, the side and wall
// crashes, passing through the hole, shaped and sparse rewards, the black screen, episode
// ends, the drawing and bad actions.
#include <QtTest>

#include <array>
#include <cmath>
#include <set>

#include "env_test_util.h"
#include "sim/cube_crash.h"

using sim::CubeCrashEnv;
using Variant = CubeCrashEnv::Variant;

namespace {

constexpr int W = CubeCrashEnv::kFieldW, H = CubeCrashEnv::kFieldH;

std::vector<double> newObs() { return std::vector<double>(CubeCrashEnv::kObservationSize, -1.0); }

core::StepResult act(CubeCrashEnv& env, int a, std::vector<double>& obs) {
    const double action = a;
    return env.step(std::span<const double>(&action, 1), obs);
}

// the RGB of one pixel, as 0..255 integers
std::array<int, 3> pixel(const std::vector<double>& obs, int row, int col) {
    std::array<int, 3> p{};
    for (int c = 0; c < 3; ++c) p[c] = static_cast<int>(std::lround(obs[CubeCrashEnv::pixelIndex(c, row, col)] * 255.0));
    return p;
}

QString rgb(const std::vector<double>& obs, int row, int col) {
    const auto p = pixel(obs, row, col);
    return QString("%1,%2,%3").arg(p[0]).arg(p[1]).arg(p[2]);
}

// gym's picture, written pixel by pixel from the description (not from slices): the cube
// wherever its 3×3 block covers the pixel, else the wall on the bottom 5 rows outside the
// 9 hole columns, else black. Only valid for cubes with cube_x ≥ 1 (no wrap-around).
std::array<int, 3> expectedPixel(const CubeCrashEnv::State& s, int row, int col) {
    if (std::abs(row - s.cubeY) <= 1 && std::abs(col - s.cubeX) <= 1) return {0, 255, 0};
    if (row >= H - 5 && std::abs(col - s.holeX) > 4) return {255, 255, 255};
    return {0, 0, 0};
}

QString comparePicture(const CubeCrashEnv::State& s, const std::vector<double>& obs) {
    for (int row = 0; row < H; ++row)
        for (int col = 0; col < W; ++col)
            if (pixel(obs, row, col) != expectedPixel(s, row, col))
                return QString("pixel (%1, %2) differs (cube %3,%4 hole %5)").arg(row).arg(col).arg(s.cubeX).arg(s.cubeY).arg(s.holeX);
    for (double v : obs)
        if (v != 0.0 && v != 1.0) return QString("value %1 is neither 0 nor 1").arg(v);
    return {};
}

bool allBlack(const std::vector<double>& obs) {
    for (double v : obs)
        if (v != 0.0) return false;
    return true;
}

// puts the env mid-episode at the given cube and hole (potential from the same position)
void place(CubeCrashEnv& env, int cubeX, int cubeY, int holeX, int stepN = 10) {
    CubeCrashEnv::State s;
    s.cubeX = cubeX;
    s.cubeY = cubeY;
    s.holeX = holeX;
    s.stepN = stepN;
    s.potential = std::abs(cubeX - holeX);
    env.setState(s);
}

} // namespace

class TestCubeCrash : public QObject {
    Q_OBJECT

private slots:
    void spaces() {
        const std::pair<Variant, const char*> ids[] = {{Variant::Shaped, "CubeCrash-v0"},
                                                      {Variant::Sparse, "CubeCrashSparse-v0"},
                                                      {Variant::ScreenBecomesBlack, "CubeCrashScreenBecomesBlack-v0"}};
        for (const auto& [v, id] : ids) {
            CubeCrashEnv env(v);
            const auto& spec = env.spec();
            QCOMPARE(QString::fromStdString(spec.id), QString(id));
            QVERIFY(spec.action.isDiscrete());
            QCOMPARE(spec.action.n, 3);
            QCOMPARE(spec.observation.dim(), 3 * 40 * 32);
            QVERIFY(spec.image && *spec.image == (core::ImageShape{3, 40, 32})); // channels, height, width
            QCOMPARE(spec.image->size(), spec.observation.dim());
            QCOMPARE(spec.observation.low.front(), 0.0);
            QCOMPARE(spec.observation.high.back(), 1.0);
            QVERIFY(spec.rewardThreshold && *spec.rewardThreshold == 0.9);
        }
        QCOMPARE(CubeCrashEnv::pixelIndex(1, 2, 3), (1 * 40 + 2) * 32 + 3);
    }

    // cube_x ∈ 3..28, cube_y ∈ 3..5 (+1 from the reset's internal step), hole_x ∈ 8..23,
    // each value reached; step_n = 1 and the potential set; the first image is that state's
    void reset() {
        CubeCrashEnv env;
        auto obs = newObs();
        std::set<int> xs, ys, holes;
        for (std::uint64_t seed = 0; seed < 2000; ++seed) {
            env.reset(seed, obs);
            const auto s = env.state();
            QVERIFY(s.cubeX >= 3 && s.cubeX <= 28);
            QVERIFY(s.cubeY >= 4 && s.cubeY <= 6);
            QVERIFY(s.holeX >= 8 && s.holeX <= 23);
            QCOMPARE(s.stepN, 1);
            QVERIFY(s.potential && *s.potential == std::abs(s.cubeX - s.holeX));
            QCOMPARE(env.elapsedSteps(), 0);
            xs.insert(s.cubeX);
            ys.insert(s.cubeY);
            holes.insert(s.holeX);
            if (seed < 50) {
                const QString err = comparePicture(s, obs);
                QVERIFY2(err.isEmpty(), qPrintable(err));
            }
        }
        QCOMPARE(int(xs.size()), 26);
        QCOMPARE(int(ys.size()), 3);
        QCOMPARE(int(holes.size()), 16);
        // a seed gives the same episode again
        std::vector<double> a = newObs(), b = newObs();
        env.reset(42, a);
        const auto s1 = env.state();
        env.reset(43, b);
        env.reset(42, b);
        QCOMPARE(a, b);
        QCOMPARE(env.state().cubeX, s1.cubeX);
        QCOMPARE(env.state().holeX, s1.holeX);
    }

    // action 0 keeps the column, 1 moves left, 2 right; the cube falls one row each step and
    // the image follows
    void fallAndSteer() {
        CubeCrashEnv env;
        auto obs = newObs();
        env.reset(5, obs);
        place(env, 10, 8, 16);
        const int dx[3] = {0, -1, +1};
        int x = 10, y = 8;
        for (int a : {0, 1, 2, 2, 2, 0, 1}) {
            const auto r = act(env, a, obs);
            x += dx[a];
            ++y;
            QVERIFY(!r.terminated && !r.truncated);
            QCOMPARE(env.state().cubeX, x);
            QCOMPARE(env.state().cubeY, y);
            const QString err = comparePicture(env.state(), obs);
            QVERIFY2(err.isEmpty(), qPrintable(err));
        }
        QCOMPARE(env.state().stepN, 17);
    }

    // the wall: rows 35–39 white except the 9 columns hole_x − 4 … hole_x + 4
    void wallAndHole() {
        CubeCrashEnv env;
        auto obs = newObs();
        env.reset(1, obs);
        for (int hole : {8, 15, 23}) {
            place(env, 16, 10, hole);
            act(env, 0, obs);
            for (int row = 0; row < H; ++row)
                for (int col = 0; col < W; ++col) {
                    if (std::abs(row - 11) <= 1 && std::abs(col - 16) <= 1) continue; // the cube
                    const bool wall = row >= 35 && (col < hole - 4 || col > hole + 4);
                    QCOMPARE(rgb(obs, row, col), QString(wall ? "255,255,255" : "0,0,0"));
                }
        }
    }

    // touching a side ends the episode with −1; at cube_x = 0 gym's slice draws no cube, at
    // cube_x = 31 it draws columns 30 and 31
    void sideCrash() {
        CubeCrashEnv env;
        auto obs = newObs();
        env.reset(2, obs);
        place(env, 1, 12, 20);
        auto r = act(env, 1, obs);
        QVERIFY(r.terminated);
        QCOMPARE(r.reward, -1.0);
        QCOMPARE(env.state().cubeX, 0);
        for (int row = 0; row < 35; ++row)
            for (int col = 0; col < W; ++col) QCOMPARE(pixel(obs, row, col)[1], 0);

        place(env, 30, 12, 10);
        r = act(env, 2, obs);
        QVERIFY(r.terminated);
        QCOMPARE(r.reward, -1.0);
        for (int row = 12; row <= 14; ++row) {
            QCOMPARE(rgb(obs, row, 29), QString("0,0,0"));
            QCOMPARE(rgb(obs, row, 30), QString("0,255,0"));
            QCOMPARE(rgb(obs, row, 31), QString("0,255,0"));
        }
        // one column in from each side is still in play
        place(env, 2, 12, 10);
        QVERIFY(!act(env, 1, obs).terminated);
        place(env, 29, 12, 10);
        QVERIFY(!act(env, 2, obs).terminated);
    }

    // once the cube's bottom row reaches row 35: |cube_x − hole_x| ≥ 4 crashes (−1);
    // 3 or less carries on, and at cube_y = 40 the cube is through (+1)
    void wallCrashAndPass() {
        for (Variant v : {Variant::Shaped, Variant::Sparse}) {
            CubeCrashEnv env(v);
            auto obs = newObs();
            env.reset(3, obs);
            // one row above: no check yet, even far from the hole
            place(env, 4, 32, 20);
            auto r = act(env, 0, obs);
            QVERIFY(!r.terminated);
            r = act(env, 0, obs); // cube_y 34: bottom row 35
            QVERIFY(r.terminated);
            QCOMPARE(r.reward, -1.0);

            for (int d : {-4, 4, 9}) {
                place(env, 16 + d, 33, 16);
                r = act(env, 0, obs);
                QVERIFY2(r.terminated && r.reward == -1.0, qPrintable(QString("dist %1").arg(d)));
            }
            for (int d : {-3, 0, 3}) {
                place(env, 16 + d, 33, 16);
                for (int y = 34; y < 40; ++y) {
                    r = act(env, 0, obs);
                    QVERIFY2(!r.terminated && r.reward == 0.0, qPrintable(QString("dist %1, row %2").arg(d).arg(y)));
                }
                r = act(env, 0, obs);
                QCOMPARE(env.state().cubeY, 40);
                QVERIFY(r.terminated);
                QCOMPARE(r.reward, 1.0);
                // only the cube's top row is in the picture
                QCOMPARE(rgb(obs, 39, 16 + d), QString("0,255,0"));
                QCOMPARE(rgb(obs, 38, 16 + d), QString("0,0,0"));
            }
            // sliding into the wall's edge inside the wall rows crashes
            place(env, 19, 36, 16);
            r = act(env, 2, obs);
            QVERIFY(r.terminated);
            QCOMPARE(r.reward, -1.0);
        }
    }

    // shaped: 0.01 × the decrease of |cube_x − hole_x|; sparse: 0 until the end
    void shapedAndSparseReward() {
        CubeCrashEnv shaped(Variant::Shaped), sparse(Variant::Sparse);
        auto obs = newObs();
        for (CubeCrashEnv* env : {&shaped, &sparse}) {
            env->reset(4, obs);
            place(*env, 10, 8, 16);
            const bool isShaped = env == &shaped;
            QCOMPARE(act(*env, 2, obs).reward, isShaped ? 0.01 : 0.0);  // 6 → 5
            QCOMPARE(act(*env, 0, obs).reward, 0.0);                    // 5 → 5
            QCOMPARE(act(*env, 1, obs).reward, isShaped ? -0.01 : 0.0); // 5 → 6
            place(*env, 20, 8, 16);
            QCOMPARE(act(*env, 1, obs).reward, isShaped ? 0.01 : 0.0);  // 4 → 3
            QCOMPARE(act(*env, 1, obs).reward, isShaped ? 0.01 : 0.0);  // 3 → 2
            QCOMPARE(act(*env, 2, obs).reward, isShaped ? -0.01 : 0.0); // 2 → 3
            // crossing the hole's column: 1 → 0 → 1
            place(*env, 17, 8, 16);
            QCOMPARE(act(*env, 1, obs).reward, isShaped ? 0.01 : 0.0);
            QCOMPARE(act(*env, 1, obs).reward, isShaped ? -0.01 : 0.0);
        }
        // the reset's internal step scores nothing; the first step counts from its distance
        shaped.reset(9, obs);
        const auto s = shaped.state();
        const int toward = s.cubeX < s.holeX ? 2 : (s.cubeX > s.holeX ? 1 : 0);
        QCOMPARE(act(shaped, toward, obs).reward, toward == 0 ? 0.0 : 0.01);
    }

    // steering to the hole always passes: terminated (never truncated) at cube_y = 40 with
    // +1, after 40 − (first cube_y) steps; the shaped return is 1 + 0.01 × the distance
    // closed before the last step. A random policy's episodes all end by themselves.
    void episodes() {
        for (Variant v : {Variant::Shaped, Variant::Sparse, Variant::ScreenBecomesBlack}) {
            CubeCrashEnv env(v);
            auto obs = newObs();
            for (std::uint64_t seed = 0; seed < 200; ++seed) {
                env.reset(seed, obs);
                const int y0 = env.state().cubeY;
                const int d0 = std::abs(env.state().cubeX - env.state().holeX);
                double ret = 0.0;
                int steps = 0, dBeforeLast = d0;
                core::StepResult r;
                do {
                    const auto s = env.state();
                    dBeforeLast = std::abs(s.cubeX - s.holeX);
                    r = act(env, s.cubeX < s.holeX ? 2 : (s.cubeX > s.holeX ? 1 : 0), obs);
                    ret += r.reward;
                    ++steps;
                } while (!r.terminated && !r.truncated && steps < 100);
                QVERIFY(r.terminated && !r.truncated);
                QCOMPARE(r.reward, 1.0);
                QCOMPARE(steps, H - y0);
                const double expected = 1.0 + (v == Variant::Shaped ? 0.01 * (d0 - dBeforeLast) : 0.0);
                QVERIFY2(std::abs(ret - expected) < 1e-12, qPrintable(QString("seed %1: %2 vs %3").arg(seed).arg(ret).arg(expected)));
                QCOMPARE(env.episodeReturn(), ret);
            }
            // random actions
            core::Rng rng(11);
            int crashes = 0, passes = 0;
            for (std::uint64_t seed = 0; seed < 300; ++seed) {
                env.reset(seed, obs);
                core::StepResult r;
                int steps = 0;
                do {
                    r = act(env, static_cast<int>(rng.below(3)), obs);
                    ++steps;
                    if (!r.terminated) QVERIFY(std::abs(r.reward) == 0.01 || r.reward == 0.0);
                } while (!r.terminated && !r.truncated);
                QVERIFY(!r.truncated);
                QVERIFY(steps <= 36);
                (r.reward == 1.0 ? passes : crashes) += 1;
                QVERIFY(r.reward == 1.0 || r.reward == -1.0);
            }
            QVERIFY(crashes > 0 && passes > 0);
        }
    }

    // the black-screen variant: the reset's image and the next three show the field, from
    // the fourth step on the image is all zeros while the cube keeps falling; sparse rewards
    void blackScreen() {
        CubeCrashEnv env(Variant::ScreenBecomesBlack);
        auto obs = newObs();
        env.reset(6, obs);
        QVERIFY(comparePicture(env.state(), obs).isEmpty());
        for (int t = 1; t <= 3; ++t) {
            QCOMPARE(act(env, 2, obs).reward, 0.0);
            QVERIFY2(comparePicture(env.state(), obs).isEmpty(), qPrintable(QString::number(t)));
        }
        const int y = env.state().cubeY;
        QCOMPARE(act(env, 0, obs).reward, 0.0);
        QCOMPARE(env.state().stepN, 5);
        QVERIFY(allBlack(obs));
        QVERIFY(!env.statePoint(obs));
        QCOMPARE(env.state().cubeY, y + 1);
        act(env, 0, obs);
        QVERIFY(allBlack(obs));
        // a new episode shows the field again
        env.reset(7, obs);
        QVERIFY(!allBlack(obs));
        // the other variants never go black
        CubeCrashEnv plain(Variant::Sparse);
        plain.reset(6, obs);
        for (int t = 0; t < 10; ++t) act(plain, 0, obs);
        QVERIFY(comparePicture(plain.state(), obs).isEmpty());
    }

    void badAction() {
        CubeCrashEnv env;
        auto obs = newObs();
        env.reset(0, obs);
        for (double a : {-1.0, 3.0, 0.5, std::nan("")}) {
            const std::vector<double> action{a};
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, env.step(action, obs));
        }
    }

    // the right panel repeats the observation pixel for pixel; statePoint is the cube's
    // centre on the field; the HUD says which panel is which
    void drawing() {
        for (Variant v : {Variant::Shaped, Variant::ScreenBecomesBlack}) {
            CubeCrashEnv env(v);
            auto obs = newObs();
            env.reset(8, obs);
            for (int t = 0; t < 6; ++t) {
                sim::DrawList dl;
                env.draw(dl);
                const auto s = env.state();
                // rasterise the right panel's filled polygons at pixel centres
                const float x0 = CubeCrashEnv::kObservationPanelX;
                int greenCells = 0;
                for (int row = 0; row < H; ++row)
                    for (int col = 0; col < W; ++col) {
                        const float px = x0 + col + 0.5f, py = H - row - 0.5f;
                        sim::Color c{0, 0, 0, 255};
                        for (const auto& p : dl.primitives) {
                            if (p.kind != sim::Primitive::Kind::Polygon || p.points.size() != 4) continue;
                            const float lx = std::min(p.points[0].x, p.points[2].x), hx = std::max(p.points[0].x, p.points[2].x);
                            const float ly = std::min(p.points[0].y, p.points[2].y), hy = std::max(p.points[0].y, p.points[2].y);
                            if (lx >= x0 - 0.01f && px > lx && px < hx && py > ly && py < hy) c = p.fill;
                        }
                        QCOMPARE(QString("%1,%2,%3").arg(c.r).arg(c.g).arg(c.b), rgb(obs, row, col));
                        greenCells += c.g == 255 && c.r == 0;
                    }
                const bool black = v == Variant::ScreenBecomesBlack && s.stepN > 4;
                QCOMPARE(greenCells, black ? 0 : 9);
                const auto at = env.statePoint(obs);
                QCOMPARE(bool(at), !black);
                if (at) {
                    QCOMPARE(at->x, s.cubeX + 0.5f);
                    QCOMPARE(at->y, H - s.cubeY - 0.5f);
                }
                QCOMPARE(QString::fromStdString(dl.hud.front().first), QString("step"));
                act(env, 1, obs);
            }
        }
    }

    void determinism() {
        CubeCrashEnv a, b;
        const auto h1 = simtest::rolloutHash(a, 3, 400, simtest::fixedRandomPolicy(a.spec().action, 5));
        const auto h2 = simtest::rolloutHash(b, 3, 400, simtest::fixedRandomPolicy(b.spec().action, 5));
        const auto h3 = simtest::rolloutHash(b, 4, 400, simtest::fixedRandomPolicy(b.spec().action, 5));
        QCOMPARE(h1, h2);
        QVERIFY(h1 != h3);
    }
};

QTEST_APPLESS_MAIN(TestCubeCrash)
#include "test_cube_crash.moc"
