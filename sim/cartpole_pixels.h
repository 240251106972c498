// CartPolePixels-v0 (our own task): CartPole-v1's Box2D cart-pole, rules, rewards and
// episode ends, seen as pixels. The observation is the scene CartPole-v1 draws for the
// viewer, rasterised (sim/raster.h) to a 40×60 grayscale image, the two latest frames
// stacked. See cartpole_pixels.cpp for why that size.
//
// Observation layout (4800 doubles): frame-major (0 = the previous frame, 1 = the current),
// then row (top first), then column (left first); index = (f·40 + row)·60 + col; value =
// darkness in [0, 1] (0 white background, 1 black). At a reset both frames are the reset's
// image.
#pragma once

#include <vector>

#include "sim/cartpole.h"
#include "sim/raster.h"

namespace sim {

class CartPolePixelsEnv : public CartPoleEnv {
public:
    static constexpr int kRows = 40;
    static constexpr int kCols = 60;
    static constexpr int kFrames = 2;
    static constexpr int kFrameSize = kRows * kCols;
    static constexpr int kObservationSize = kFrames * kFrameSize;
    static constexpr float kMetresPerPixel = 0.08f; // Gymnasium's 600×400 px view, a tenth as fine

    CartPolePixelsEnv();
    // the image's window on the world, as the rasteriser takes it
    static RasterView view();
    static constexpr int pixelIndex(int frame, int row, int col) { return (frame * kRows + row) * kCols + col; }

    // the world on the left as CartPole-v1 draws it; the two frames the agent received
    // last, enlarged, side by side at the lower right (previous, then current)
    void draw(DrawList& out) const override;
    // read from the current frame, as well as its pixels allow (to about a pixel, 0.08 m):
    // the pole's tip is where a line through the inked rows above the cart (each row's
    // darkness-weighted centre) meets the topmost of them; the anchor is the axle above the
    // centre of the cart's fully dark pixels.
    // nullopt when the frame shows no pole (or no cart)
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;
    std::optional<Vec2> stateAnchor(std::span<const double> obs) const override;

    // test hook: draws the current state (after setState) into both frames, as a reset does,
    // and writes the observation to obs
    void redraw(std::span<double> obs);
    // the last observation written (what the agent sees now)
    const std::vector<double>& lastObservation() const { return m_lastObs; }

protected:
    void resetEpisode(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult stepEpisode(std::span<const double> action, std::span<double> obs) override;

private:
    // draws the world into the current frame (after moving the current one to the previous)
    void captureFrame(bool alsoPrevious);

    std::vector<double> m_lastObs;
};

} // namespace sim
