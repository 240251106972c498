// The abstract environment that the sampler runs. Gymnasium's step API with the
// TimeLimit wrapper built in: step() reports `truncated` once the episode has run
// `maxEpisodeSteps` steps. Implementations live in sim/ (Box2D); core knows none of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace core {

// A discrete (n actions, one index) or box (dim reals in [low, high]) space.
struct Space {
    enum class Kind { Discrete, Box };
    Kind kind = Kind::Box;
    int n = 0;                // number of actions (Discrete only)
    std::vector<double> low;  // per dimension (Box only); may be -inf
    std::vector<double> high; // per dimension (Box only); may be +inf

    static Space discrete(int n) { return Space{Kind::Discrete, n, {}, {}}; }
    static Space box(std::vector<double> lo, std::vector<double> hi) {
        return Space{Kind::Box, 0, std::move(lo), std::move(hi)};
    }
    bool isDiscrete() const { return kind == Kind::Discrete; }
    // number of doubles that represent one element (1 for a discrete index)
    int dim() const { return isDiscrete() ? 1 : static_cast<int>(low.size()); }
    // size of a policy head: n logits, or dim means
    int policyOutputs() const { return isDiscrete() ? n : dim(); }
};

// an image observation: channels × height × width values, channel first, then row (top
// first), then column: index (c·H + y)·W + x
struct ImageShape {
    int channels = 0, height = 0, width = 0;
    int size() const { return channels * height * width; }
    bool operator==(const ImageShape&) const = default;
};

struct EnvSpec {
    std::string id;
    Space observation;
    // set when the observation is an image (its size() equals observation.dim()): what a
    // convolutional policy (the `network: cnn` setting) reads
    std::optional<ImageShape> image;
    Space action;
    int maxEpisodeSteps = 1000;            // TimeLimit truncation
    std::optional<double> rewardThreshold; // "solved" mean return, if registered
    double frameRate = 50.0;               // real-time frames per second for the viewer
};

struct StepResult {
    double reward = 0.0;
    bool terminated = false; // a true terminal state: no bootstrap
    bool truncated = false;  // time limit reached: bootstrap from V(s_T)
};

class Environment {
public:
    virtual ~Environment() = default;

    virtual const EnvSpec& spec() const = 0;

    // starts an episode; writes the first observation (spec().observation.dim() doubles)
    void reset(std::uint64_t seed, std::span<double> obs) {
        m_elapsed = 0;
        doReset(seed, obs);
    }
    // advances one step; `action` holds spec().action.dim() doubles (a discrete action is
    // its index as a double; a continuous one is already clipped to the bounds by the caller
    // or clipped by the environment). Writes the next observation.
    StepResult step(std::span<const double> action, std::span<double> obs) {
        StepResult r = doStep(action, obs);
        ++m_elapsed;
        if (m_elapsed >= spec().maxEpisodeSteps) r.truncated = true;
        return r;
    }
    int elapsedSteps() const { return m_elapsed; }

protected:
    virtual void doReset(std::uint64_t seed, std::span<double> obs) = 0;
    virtual StepResult doStep(std::span<const double> action, std::span<double> obs) = 0;

private:
    int m_elapsed = 0;
};

using EnvFactory = std::function<std::unique_ptr<Environment>()>;

} // namespace core
