// CubeCrash-v0 and its two variants, gym's unit-test environments for CNN and CNN+RNN
// policies. Source: gym gym/envs/unittest/cube_crash.py (removed from gym in 0.22; read at
// commit 8a9644008), registered without a time limit and with reward_threshold 0.9.
//
// Units: pixels. The field is 40 rows × 32 columns; row 0 is the top.
//
// Rules (gym's, integer arithmetic throughout)
//   reset   cube_x ∈ {3, …, 28}, cube_y ∈ {3, 4, 5}, hole_x ∈ {8, …, 23}, drawn uniformly in
//           that order; step_n = 0, no potential; then one internal step with action 0,
//           whose image is the first observation and whose reward is dropped.
//   step    action 0 stays, 1 moves the cube one column left (cube_x − 1), 2 right (+1);
//           then the cube falls one row (cube_y + 1) and step_n + 1.
//   image   background black; rows 35–39 (the bottom 5) white wall, except columns
//           hole_x − 4 … hole_x + 4 (9 columns: gym's slice hole_x − 8//2 : hole_x + 8//2 + 1);
//           the cube, green, on rows cube_y − 1 … cube_y + 1 and columns cube_x − 1 … cube_x + 1,
//           cut with Python's slice rules (a negative start counts from the right edge, so
//           at cube_x = 0 the cube is not drawn at all). The black-screen variant zeroes the
//           whole image once step_n > 4: the agent sees the reset's image and three more.
//   reward  dist = |cube_x − hole_x|. Shaped (CubeCrash-v0 only): 0.01 × (previous dist −
//           dist) when there is a previous dist, else 0; the potential becomes dist.
//           Then, replacing that reward:
//             cube_x − 1 < 0 or cube_x + 1 ≥ 32 (the cube touches a side) → −1, done;
//             else once cube_y + 1 ≥ 35 (the cube's bottom row reaches the wall's rows):
//               dist ≥ 4 → −1, done (it hits the wall);
//               else cube_y = 40 → +1, done (it has passed through the hole).
//   An episode lasts at most 36 steps after the reset (cube_y from 4–6 to 40), so the
//   time limit here (kFieldH steps) never cuts one; gym registered none.
//   Steps after the end follow the same rules (gym does not guard them).
//
// What differs from gym
//   - The generator: gym draws with NumPy's PCG64 (np_random.integers); here the project's
//     seeded xoshiro256++ (core::Rng::below), same ranges and draw order, so a seed gives
//     another layout than in gym.
//   - The observation: gym returns uint8 (40, 32, 3), row-major with the channel last; here
//     3840 doubles, channel first, scaled by 1/255 (sim/cube_crash.h).
//   - An action other than 0, 1 or 2 throws std::invalid_argument (gym asserts).
//   - gym's random colours (use_random_colors, off in all three) are not ported.
#include "sim/cube_crash.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sim {

namespace {

constexpr Color kBlack{0, 0, 0, 255};
constexpr Color kWhite{255, 255, 255, 255};
constexpr Color kGreen{0, 255, 0, 255};

// Python's slice start:stop on a sequence of length n, as a half-open range [lo, hi)
struct Range {
    int lo, hi;
};
Range pySlice(int start, int stop, int n) {
    auto norm = [n](int v) {
        if (v < 0) v += n;
        return std::clamp(v, 0, n);
    };
    const int lo = norm(start), hi = norm(stop);
    return {lo, std::max(lo, hi)};
}

// the rectangle of pixels rows × cols, in world coordinates (y = kFieldH − row), shifted by x0
std::vector<Vec2> pixelRect(float x0, int row0, int row1, int col0, int col1) {
    const float h = static_cast<float>(CubeCrashEnv::kFieldH);
    return {{x0 + col0, h - row1}, {x0 + col1, h - row1}, {x0 + col1, h - row0}, {x0 + col0, h - row0}};
}

std::string variantId(CubeCrashEnv::Variant v) {
    switch (v) {
    case CubeCrashEnv::Variant::Sparse: return "CubeCrashSparse-v0";
    case CubeCrashEnv::Variant::ScreenBecomesBlack: return "CubeCrashScreenBecomesBlack-v0";
    case CubeCrashEnv::Variant::Shaped: break;
    }
    return "CubeCrash-v0";
}

} // namespace

CubeCrashEnv::CubeCrashEnv(Variant variant) : m_variant(variant) {
    m_spec.id = variantId(variant);
    m_spec.observation = core::Space::box(std::vector<double>(kObservationSize, 0.0), std::vector<double>(kObservationSize, 1.0));
    m_spec.image = core::ImageShape{kChannels, kFieldH, kFieldW};
    m_spec.action = core::Space::discrete(3);
    m_spec.maxEpisodeSteps = kFieldH; // never reached: every episode ends within 36 steps
    m_spec.rewardThreshold = 0.9;
    // gym's video runs at 60 frames per second; a 36-step episode would last 0.6 s
    m_spec.frameRate = 12.0;
    m_lastObs.assign(kObservationSize, 0.0);
}

void CubeCrashEnv::doReset(std::uint64_t seed, std::span<double> obs) {
    m_rng.reseed(seed);
    State s;
    s.cubeX = 3 + static_cast<int>(m_rng.below(kFieldW - 3 - 3));          // integers(3, 29)
    s.cubeY = 3 + static_cast<int>(m_rng.below(kFieldH / 6 - 3));          // integers(3, 6)
    s.holeX = kHoleWidth + static_cast<int>(m_rng.below(kFieldW - 2 * kHoleWidth)); // integers(8, 24)
    m_state = s;
    advance(0, obs);
    m_episodeReturn = 0.0;
    m_lastReward = 0.0;
}

core::StepResult CubeCrashEnv::doStep(std::span<const double> action, std::span<double> obs) {
    const double a = action[0];
    if (!(a == 0.0 || a == 1.0 || a == 2.0))
        throw std::invalid_argument(m_spec.id + ": action " + std::to_string(a) + " is not 0, 1 or 2");
    const core::StepResult r = advance(static_cast<int>(a), obs);
    m_lastReward = r.reward;
    m_episodeReturn += r.reward;
    return r;
}

core::StepResult CubeCrashEnv::advance(int action, std::span<double> obs) {
    State& s = m_state;
    if (action == 1) --s.cubeX;
    if (action == 2) ++s.cubeX;
    ++s.cubeY;
    ++s.stepN;
    render(obs);
    std::copy(obs.begin(), obs.end(), m_lastObs.begin());

    core::StepResult r;
    const int dist = std::abs(s.cubeX - s.holeX);
    if (s.potential && m_variant == Variant::Shaped) r.reward = static_cast<double>(*s.potential - dist) * kShaping;
    s.potential = dist;
    if (s.cubeX - 1 < 0 || s.cubeX + 1 >= kFieldW) {
        r.terminated = true;
        r.reward = -1.0;
    } else if (s.cubeY + 1 >= kFieldH - kWallRows) {
        if (dist >= kHoleWidth / 2) {
            r.terminated = true;
            r.reward = -1.0;
        } else if (s.cubeY == kFieldH) {
            r.terminated = true;
            r.reward = 1.0;
        }
    }
    return r;
}

void CubeCrashEnv::render(std::span<double> obs) const {
    std::fill(obs.begin(), obs.end(), 0.0);
    if (m_variant == Variant::ScreenBecomesBlack && m_state.stepN > kBlackAfter) return;
    auto paint = [&](Range rows, Range cols, Color c) {
        const double rgb[3] = {c.r / 255.0, c.g / 255.0, c.b / 255.0};
        for (int ch = 0; ch < kChannels; ++ch)
            for (int row = rows.lo; row < rows.hi; ++row)
                for (int col = cols.lo; col < cols.hi; ++col) obs[pixelIndex(ch, row, col)] = rgb[ch];
    };
    const Range wallRows = pySlice(kFieldH - kWallRows, kFieldH, kFieldH);
    paint(wallRows, {0, kFieldW}, kWhite);
    paint(wallRows, pySlice(m_state.holeX - kHoleWidth / 2, m_state.holeX + kHoleWidth / 2 + 1, kFieldW), kBlack);
    paint(pySlice(m_state.cubeY - 1, m_state.cubeY + 2, kFieldH), pySlice(m_state.cubeX - 1, m_state.cubeX + 2, kFieldW), kGreen);
}

std::optional<Vec2> CubeCrashEnv::statePoint(std::span<const double> obs) const {
    if (obs.size() != static_cast<std::size_t>(kObservationSize)) return std::nullopt;
    double sumX = 0.0, sumY = 0.0;
    int n = 0;
    for (int row = 0; row < kFieldH; ++row)
        for (int col = 0; col < kFieldW; ++col)
            if (obs[pixelIndex(1, row, col)] > 0.5 && obs[pixelIndex(0, row, col)] < 0.5) { // green, not white
                sumX += col + 0.5;
                sumY += kFieldH - row - 0.5;
                ++n;
            }
    if (n == 0) return std::nullopt;
    return Vec2{static_cast<float>(sumX / n), static_cast<float>(sumY / n)};
}

void CubeCrashEnv::draw(DrawList& out) const {
    out.clear();
    out.background = {215, 218, 224, 255};
    const float w = kFieldW, h = kFieldH, gap = kObservationPanelX - kFieldW;
    out.camera.centre = {(kObservationPanelX + w) / 2.0f, h / 2.0f - 1.0f};
    out.camera.width = kObservationPanelX + w + 2 * gap;
    out.camera.height = h + 2 * gap;
    const Color frame{70, 74, 84, 255};
    const State& s = m_state;

    // left: the field, from the state (what the world is, whatever the agent sees)
    out.polygon(pixelRect(0.f, 0, kFieldH, 0, kFieldW), kBlack, frame, 2.f);
    const int wallTop = kFieldH - kWallRows;
    const int holeLo = s.holeX - kHoleWidth / 2, holeHi = s.holeX + kHoleWidth / 2 + 1;
    if (holeLo > 0) out.polygon(pixelRect(0.f, wallTop, kFieldH, 0, holeLo), kWhite);
    if (holeHi < kFieldW) out.polygon(pixelRect(0.f, wallTop, kFieldH, holeHi, kFieldW), kWhite);
    // the hole's centre column, faintly, so a class can read |cube_x − hole_x|
    out.segment({s.holeX + 0.5f, h - wallTop}, {s.holeX + 0.5f, 0.f}, {255, 200, 60, 160}, 1.f);
    // the cube where it is, even beside or below the field (the image cuts it)
    const Color cubeEdge{0, 120, 0, 255};
    out.polygon(pixelRect(0.f, s.cubeY - 1, s.cubeY + 2, s.cubeX - 1, s.cubeX + 2), kGreen, cubeEdge, 1.f);

    // right: the observation, pixel for pixel (runs of one colour per row), on a faint grid
    const float x0 = kObservationPanelX;
    out.polygon(pixelRect(x0, 0, kFieldH, 0, kFieldW), kBlack, frame, 2.f);
    const auto& o = m_lastObs;
    auto colourAt = [&](int row, int col) {
        auto byte = [&](int ch) { return static_cast<std::uint8_t>(std::lround(std::clamp(o[pixelIndex(ch, row, col)], 0.0, 1.0) * 255.0)); };
        return Color{byte(0), byte(1), byte(2), 255};
    };
    auto same = [](Color a, Color b) { return a.r == b.r && a.g == b.g && a.b == b.b; };
    for (int row = 0; row < kFieldH; ++row) {
        int col = 0;
        while (col < kFieldW) {
            const Color c = colourAt(row, col);
            int end = col + 1;
            while (end < kFieldW && same(colourAt(row, end), c)) ++end;
            if (!same(c, kBlack)) out.polygon(pixelRect(x0, row, row + 1, col, end), c);
            col = end;
        }
    }
    const Color grid{128, 128, 128, 70};
    for (int col = 1; col < kFieldW; ++col) out.segment({x0 + col, 0.f}, {x0 + col, h}, grid, 0.5f);
    for (int row = 1; row < kFieldH; ++row) out.segment({x0, h - row}, {x0 + w, h - row}, grid, 0.5f);

    addEpisodeHud(out, elapsedSteps(), m_episodeReturn, m_lastReward);
    out.hud.emplace_back("cube − hole", std::to_string(s.cubeX - s.holeX) + " columns");
    out.hud.emplace_back("left", "the field");
    const bool black = m_variant == Variant::ScreenBecomesBlack && s.stepN > kBlackAfter;
    out.hud.emplace_back("right", black ? "what the agent sees: a black screen" : "what the agent sees: 40×32 RGB pixels");
}

} // namespace sim
