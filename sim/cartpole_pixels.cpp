// CartPolePixels-v0: CartPole-v1 seen through a 40×60 grayscale camera, two frames stacked.
//
// Why 40×60. It is Gymnasium's CartPole picture (600×400 px at 125 px/m: a 4.8 m × 3.2 m
// window, the track 0.8 m above its bottom) at a tenth of the resolution, 0.08 m per pixel:
// - the whole track fits, so the cart stays in view until x leaves ±2.4 m and the episode
//   ends, and a still camera keeps the cart's position readable from the image;
// - the cart is 5 × 3 pixels, the pole one pixel wide and 12.5 long, so its angle is
//   visible: at the 12° limit the tip is 2.6 pixels off the vertical;
// - 4 × 4 samples per pixel anti-alias the edges, so a step that moves the cart by a
//   fraction of a pixel (at most about 0.04 m, half a pixel) still changes the image;
// - two frames give the velocities, as a difference, that one image cannot show;
// - 2 × 2,400 inputs keep a CNN over it cheap: garage's CubeCrash network (8×8 stride 4,
//   then 4×4 stride 2) turns each frame into a 3 × 6 map.
// The image is drawn from the DrawList the viewer paints, so what the class sees on the
// left and what the agent sees on the right come from one drawing.
#include "sim/cartpole_pixels.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace sim {

CartPolePixelsEnv::CartPolePixelsEnv()
    : CartPoleEnv([] {
          core::EnvSpec s;
          s.id = "CartPolePixels-v0";
          s.observation = core::Space::box(std::vector<double>(kObservationSize, 0.0), std::vector<double>(kObservationSize, 1.0));
          s.image = core::ImageShape{kFrames, kRows, kCols};
          s.action = core::Space::discrete(2);
          s.maxEpisodeSteps = 500;
          s.rewardThreshold = 475.0;
          s.frameRate = 50.0;
          return s;
      }()),
      m_lastObs(kObservationSize, 0.0) {}

RasterView CartPolePixelsEnv::view() {
    RasterView v;
    v.metresPerPixel = kMetresPerPixel;
    v.cols = kCols;
    v.rows = kRows;
    v.x0 = -0.5f * kCols * kMetresPerPixel;                     // -2.4 m
    v.yTop = kRows * kMetresPerPixel - 0.8f;                    // 2.4 m: the track 0.8 m above the bottom
    v.samples = 4;
    return v;
}

void CartPolePixelsEnv::captureFrame(bool alsoPrevious) {
    DrawList scene;
    CartPoleEnv::draw(scene);
    std::span<double> current(m_lastObs.data() + kFrameSize, kFrameSize);
    if (!alsoPrevious) std::copy(current.begin(), current.end(), m_lastObs.begin());
    rasterizeGray(scene, view(), current);
    if (alsoPrevious) std::copy(current.begin(), current.end(), m_lastObs.begin());
}

void CartPolePixelsEnv::resetEpisode(std::uint64_t seed, std::span<double> obs) {
    std::array<double, 4> state{};
    CartPoleEnv::resetEpisode(seed, state);
    captureFrame(true);
    std::copy(m_lastObs.begin(), m_lastObs.end(), obs.begin());
}

void CartPolePixelsEnv::redraw(std::span<double> obs) {
    captureFrame(true);
    std::copy(m_lastObs.begin(), m_lastObs.end(), obs.begin());
}

core::StepResult CartPolePixelsEnv::stepEpisode(std::span<const double> action, std::span<double> obs) {
    std::array<double, 4> state{};
    const core::StepResult r = CartPoleEnv::stepEpisode(action, state);
    captureFrame(false);
    std::copy(m_lastObs.begin(), m_lastObs.end(), obs.begin());
    return r;
}

namespace {
// image rows above this one (top first) hold only the pole: the cart's top edge is at
// y = 0.12 m, row 28.5 of the 40
constexpr int kRowsAboveCart = 28;
constexpr double kInk = 0.1; // a pixel at least this dark shows something
} // namespace

std::optional<Vec2> CartPolePixelsEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() != static_cast<size_t>(kObservationSize)) return std::nullopt;
    // each inked row's darkness-weighted centre; a straight line through them (weighted
    // least squares, column on row) gives the pole's column to a fraction of a pixel
    double sw = 0, sr = 0, sc = 0, srr = 0, src = 0;
    int top = -1;
    for (int row = kRowsAboveCart - 1; row >= 0; --row) {
        double sum = 0, weighted = 0;
        for (int col = 0; col < kCols; ++col) {
            const double d = obs[static_cast<size_t>(pixelIndex(1, row, col))];
            if (d < kInk) continue;
            sum += d;
            weighted += d * (col + 0.5);
        }
        if (sum == 0) continue;
        top = row;
        const double r = row + 0.5, c = weighted / sum;
        sw += sum, sr += sum * r, sc += sum * c, srr += sum * r * r, src += sum * r * c;
    }
    if (top < 0) return std::nullopt;
    const double det = sw * srr - sr * sr;
    const double slope = det > 1e-9 ? (sw * src - sr * sc) / det : 0.0;
    const double column = (sc - slope * sr) / sw + slope * top; // at the top edge of the topmost inked row
    const RasterView v = view();
    return Vec2{v.x0 + static_cast<float>(column) * v.metresPerPixel, v.yTop - top * v.metresPerPixel};
}

std::optional<Vec2> CartPolePixelsEnv::stateAnchor(std::span<const double> obs) const {
    if (obs.size() != static_cast<size_t>(kObservationSize)) return std::nullopt;
    const RasterView v = view();
    double sum = 0, weighted = 0;
    for (int row = kRowsAboveCart; row < kRows; ++row)
        for (int col = 0; col < kCols; ++col)
            if (obs[static_cast<size_t>(pixelIndex(1, row, col))] > 0.99) {
                sum += 1;
                weighted += col + 0.5;
            }
    if (sum == 0) return std::nullopt;
    return Vec2{v.x0 + static_cast<float>(weighted / sum) * v.metresPerPixel, kAxleOffset};
}

void CartPolePixelsEnv::draw(DrawList& out) const {
    CartPoleEnv::draw(out);
    // the panel, in the lower half of the window (the HUD takes the upper right): the
    // previous frame, then the current one, side by side, an image pixel 0.035 m on screen
    // (the whole picture stays under 3:1, the viewer's usual shape)
    const float gap = 0.2f, px = 0.035f;
    const float w = kCols * px, h = kRows * px;
    const float bottom = -0.8f, x0 = 2.4f + gap;
    const Color frame{70, 74, 84, 255};
    for (int f = 0; f < kFrames; ++f) {
        const float left = x0 + f * (w + gap), top = bottom + h;
        out.polygon({{left, bottom}, {left + w, bottom}, {left + w, top}, {left, top}}, {255, 255, 255, 255}, frame, 2.f);
        for (int row = 0; row < kRows; ++row) {
            int col = 0;
            while (col < kCols) {
                // runs of one grey level (in 1/64 steps) per row, so the panel is a few dozen shapes
                auto level = [&](int c) { return static_cast<int>(std::lround(m_lastObs[static_cast<size_t>(pixelIndex(f, row, c))] * 64.0)); };
                const int l = level(col);
                int end = col + 1;
                while (end < kCols && level(end) == l) ++end;
                if (l > 0) {
                    const auto g = static_cast<std::uint8_t>(std::lround(255.0 * (1.0 - l / 64.0)));
                    const float xa = left + col * px, xb = left + end * px, ya = top - (row + 1) * px, yb = top - row * px;
                    out.polygon({{xa, ya}, {xb, ya}, {xb, yb}, {xa, yb}}, {g, g, g, 255});
                }
                col = end;
            }
        }
    }
    // the camera: the world on the left, the panel on the right
    const float right = x0 + kFrames * w + (kFrames - 1) * gap + gap;
    out.camera.centre = {(-2.4f - gap + right) / 2.0f, 0.8f};
    out.camera.width = right + 2.4f + gap;
    out.camera.height = kRows * kMetresPerPixel + gap;
    out.hud.emplace_back("lower right", "what the agent sees: the previous frame, then the current (40×60 each)");
}

} // namespace sim
