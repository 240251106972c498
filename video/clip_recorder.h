// Recording a clip of a policy playing: whole episodes of its environment painted as the
// viewer paints them (video/scene_painter.h: the scene and the HUD) and encoded by a
// ClipWriter. Episode i is seeded as trpo-eval seeds it (run/evaluate.h: the environment reset
// with seed S + i, sampled actions from core::Rng::stream(S, i)), so a clip shows the very
// episodes trpo-eval scores with the same seed. Safe to run on a worker thread (it paints
// into a QImage; a QGuiApplication must exist for the text).
#pragma once

#include <QFont>
#include <QSize>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/snapshot.h"
#include "video/clip_writer.h"

namespace video {

struct ClipOptions {
    ClipFormat format = ClipFormat::Mp4;
    QSize size{640, 360};   // frame size in pixels (rounded down to even numbers)
    int episodes = 1;
    bool deterministic = true;
    std::uint64_t seed = 0;
    bool largeText = false; // presentation mode's HUD type
    int maxFps = 0;         // 0: 50 for MP4, 25 for GIF (the environment is stepped several times a frame above it)
    double holdSeconds = 0.5; // each episode's last frame stays this long
    QFont font;             // the HUD's base font (default: the application's)
};

struct ClipResult {
    bool cancelled = false; // progress returned false: nothing was written
    int frames = 0, fps = 0;
    std::string encoder;
    std::vector<double> returns;
    std::vector<int> lengths;
};

// progress(f) is called after every frame with f in [0, 1] (episodes done plus the current
// episode's share of its time limit); returning false cancels. Throws ClipError for an
// unknown environment, a policy that does not fit it, bad options or a failed write; the
// target is then unchanged.
ClipResult recordClip(const core::PolicySnapshot& policy, const std::filesystem::path& target,
                      const ClipOptions& options, const std::function<bool(double)>& progress = {});

} // namespace video
