// Rasterises a DrawList (sim/draw_list.h) into a small grayscale image: what a pixel policy
// sees of an environment that draws itself (CartPolePixels-v0). No Qt: plain arithmetic, so
// the same scene gives the same bytes on every machine.
//
// Rules (docs/environments.md, "CartPolePixels-v0"):
// - the image shows the world rectangle [x0, x0 + cols·metresPerPixel] ×
//   [yTop − rows·metresPerPixel, yTop]; row 0 is the top, column 0 the left;
// - a pixel's value is its darkness, 1 − luminance (Rec. 601: 0.299 R + 0.587 G + 0.114 B),
//   so the background (white in CartPole) is 0 and a black shape is 1;
// - each pixel is sampled at samples × samples evenly spaced points; the fraction of points
//   a shape covers is its coverage, and shapes are composited in paint order with their
//   alpha times that coverage (anti-aliasing, so a shape moving by a fraction of a pixel
//   changes the edge pixels' values);
// - filled polygons (even-odd rule) and filled circles are filled; their outlines are not
//   drawn (on screen they are a pixel wide, a decoration); unfilled circles are skipped;
// - segments and polylines are drawn with their strokeWidth in image pixels (at least one).
#pragma once

#include <span>

#include "sim/draw_list.h"

namespace sim {

struct RasterView {
    float x0 = 0.f;             // world x of the left edge
    float yTop = 0.f;           // world y of the top edge
    float metresPerPixel = 0.1f;
    int cols = 1, rows = 1;
    int samples = 4;            // per axis
};

// writes rows × cols values in [0, 1], row-major (top row first), into out
void rasterizeGray(const DrawList& scene, const RasterView& view, std::span<double> out);

// the darkness of a colour: 1 − Rec. 601 luminance, in [0, 1]
double darkness(Color c);

} // namespace sim
