// CubeCrash-v0, CubeCrashSparse-v0 and CubeCrashScreenBecomesBlack-v0: gym's unit-test
// environments for convolutional (and recurrent) policies, a cube steered through a hole in
// a wall on a 40×32 RGB field. No physics: integer rules, ported from gym. See
// cube_crash.cpp for the rules and for what differs from gym.
//
// Observation layout (3840 doubles): channel-major, then row (top first), then column (left
// first); index = (c·40 + row)·32 + col with c = 0 red, 1 green, 2 blue; value = gym's uint8
// pixel / 255, so every entry is 0 or 1 (black background, white wall, green cube).
#pragma once

#include <optional>
#include <vector>

#include "core/rng.h"
#include "sim/sim_environment.h"

namespace sim {

class CubeCrashEnv : public SimEnvironment {
public:
    enum class Variant {
        Shaped,             // CubeCrash-v0: 0.01 × the decrease in |cube_x − hole_x| each step
        Sparse,             // CubeCrashSparse-v0: only the final −1 or +1
        ScreenBecomesBlack, // CubeCrashScreenBecomesBlack-v0: sparse, and black after step 4
    };

    static constexpr int kFieldW = 32;     // columns
    static constexpr int kFieldH = 40;     // rows
    static constexpr int kChannels = 3;    // RGB
    static constexpr int kHoleWidth = 8;   // gym's HOLE_WIDTH (the hole is 9 columns, see .cpp)
    static constexpr int kWallRows = 5;    // the wall fills the bottom 5 rows
    static constexpr int kBlackAfter = 4;  // the black-screen variant shows black once step_n > 4
    static constexpr double kShaping = 0.01;
    static constexpr int kObservationSize = kChannels * kFieldH * kFieldW;

    // gym's state: the cube's centre column and row, the hole's centre column, the step
    // counter (the reset's internal step counts as step 1) and the last |cube_x − hole_x|
    struct State {
        int cubeX = 0, cubeY = 0, holeX = 0, stepN = 0;
        std::optional<int> potential;
    };

    explicit CubeCrashEnv(Variant variant = Variant::Shaped);
    const core::EnvSpec& spec() const override { return m_spec; }
    Variant variant() const { return m_variant; }

    // the field on the left; the observation the agent received last, pixel for pixel, on
    // the right (for the black-screen variant they differ after step 4)
    void draw(DrawList& out) const override;
    // the centre of the green pixels in `obs`, on the field (left); nullopt when the image
    // shows no cube (a black screen, or the cube cut off at the left edge)
    std::optional<Vec2> statePoint(std::span<const double> obs) const override;

    State state() const { return m_state; }
    // test hook: the next step continues from `s` (the observation is not redrawn)
    void setState(const State& s) { m_state = s; }
    double episodeReturn() const { return m_episodeReturn; }
    double lastReward() const { return m_lastReward; }
    // the last observation written (what the agent sees now)
    const std::vector<double>& lastObservation() const { return m_lastObs; }

    // position of channel c, row, col in the flat observation
    static constexpr int pixelIndex(int c, int row, int col) { return (c * kFieldH + row) * kFieldW + col; }
    // world x of the right panel's left edge (the field's is 0); world y = kFieldH − row
    static constexpr float kObservationPanelX = kFieldW + 6.0f;

protected:
    void doReset(std::uint64_t seed, std::span<double> obs) override;
    core::StepResult doStep(std::span<const double> action, std::span<double> obs) override;

private:
    // gym's step(): moves, draws the image into `obs` and m_lastObs, scores
    core::StepResult advance(int action, std::span<double> obs);
    void render(std::span<double> obs) const;

    core::EnvSpec m_spec;
    Variant m_variant;
    core::Rng m_rng;
    State m_state;
    std::vector<double> m_lastObs;
    double m_episodeReturn = 0.0;
    double m_lastReward = 0.0;
};

} // namespace sim
