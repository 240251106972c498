#include "sim/registry.h"

#include <mutex>
#include <stdexcept>
#include <utility>

#include "sim/acrobot.h"
#include "sim/bipedal_walker.h"
#include "sim/cartpole.h"
#include "sim/cartpole_pixels.h"
#include "sim/cartpole_swingup.h"
#include "sim/cube_crash.h"
#include "sim/lunar_lander.h"
#include "sim/mountain_car.h"
#include "sim/pendulum.h"

namespace sim {

namespace {
template <class Env>
std::function<std::unique_ptr<SimEnvironment>()> maker() {
    return [] { return std::make_unique<Env>(); };
}

// the environments registerEnvironment() added (tests only), under their lock
std::mutex& extraLock() {
    static std::mutex m;
    return m;
}
std::vector<std::pair<std::string, core::EnvFactory>>& extras() {
    static std::vector<std::pair<std::string, core::EnvFactory>> v;
    return v;
}
} // namespace

void registerBuiltinEnvironments(std::vector<EnvInfo>& out) {
    out.push_back({"CartPole-v1", "Balance a pole on a cart (discrete push left/right)", maker<CartPoleEnv>()});
    out.push_back({"CartPoleNoVel-v1", "CartPole-v1 observed without its velocities, [x, θ]: a task for a policy with memory",
                   maker<CartPoleNoVelEnv>()});
    out.push_back({"Pendulum-v1", "Swing up and hold an underpowered pendulum (continuous torque)", maker<PendulumEnv>()});
    out.push_back({"Acrobot-v1", "Swing a two-link arm's tip above the bar (discrete torque)", maker<AcrobotEnv>()});
    out.push_back({"MountainCarContinuous-v0", "Drive an underpowered car up the hill (continuous force)",
                   maker<MountainCarContinuousEnv>()});
    out.push_back({"CartPoleSwingUp-v0", "Swing the hanging pole up and balance it, cart centred (continuous force)",
                   maker<CartPoleSwingUpEnv>()});
    out.push_back({"LunarLander-v3", "Land on the pad with main and side engines (discrete 4)",
                   [] { return std::make_unique<LunarLanderEnv>(false); }});
    out.push_back({"LunarLanderContinuous-v3", "Land on the pad with throttled engines (continuous 2)",
                   [] { return std::make_unique<LunarLanderEnv>(true); }});
    // Gymnasium's LunarLander with enable_wind=True at its default wind_power 15 and
    // turbulence_power 1.5 (sim/lunar_lander.h, LunarLanderEnv::Wind)
    out.push_back({"LunarLanderWind-v3", "LunarLander-v3 in wind and turbulence (Gymnasium's enable_wind, discrete 4)",
                   [] { return std::make_unique<LunarLanderEnv>(false, LunarLanderEnv::Wind{true}); }});
    out.push_back({"LunarLanderContinuousWind-v3",
                   "LunarLanderContinuous-v3 in wind and turbulence (Gymnasium's enable_wind, continuous 2)",
                   [] { return std::make_unique<LunarLanderEnv>(true, LunarLanderEnv::Wind{true}); }});
    out.push_back({"BipedalWalker-v3", "Walk a two-legged robot over rough terrain (continuous hip and knee torques)",
                   [] { return std::make_unique<BipedalWalkerEnv>(false); }});
    out.push_back({"BipedalWalkerHardcore-v3", "Walk over stumps, stairs and pits (continuous hip and knee torques)",
                   [] { return std::make_unique<BipedalWalkerEnv>(true); }});
    // per-episode physics randomisation for policies that must also walk in Gymnasium
    // (sim/bipedal_walker.h, BipedalWalkerEnv::Randomization)
    out.push_back({"BipedalWalkerRandomized-v3",
                   "BipedalWalker-v3 with motor torque and speed (±10%) and ground friction (±20%) drawn per episode",
                   [] {
                       return std::make_unique<BipedalWalkerEnv>(false, BipedalWalkerEnv::Randomization{0.1, 0.1, 0.2});
                   }});
    out.push_back({"BipedalWalkerHardcoreRandomized-v3",
                   "BipedalWalkerHardcore-v3 with motor torque and speed (±10%) and ground friction (±20%) drawn per episode",
                   [] {
                       return std::make_unique<BipedalWalkerEnv>(true, BipedalWalkerEnv::Randomization{0.1, 0.1, 0.2});
                   }});
    // gym's unit-test environments for convolutional policies (sim/cube_crash.h)
    out.push_back({"CartPolePixels-v0", "CartPole-v1 seen as pixels: two stacked 40x60 grayscale frames (discrete push left/right)",
                   maker<CartPolePixelsEnv>()});
    out.push_back({"CubeCrash-v0", "Steer a falling cube through a hole in the wall, seen as a 40x32 RGB image (discrete 3)",
                   [] { return std::make_unique<CubeCrashEnv>(CubeCrashEnv::Variant::Shaped); }});
    out.push_back({"CubeCrashSparse-v0", "CubeCrash-v0 with only the final reward (+1 through the hole, -1 for a crash)",
                   [] { return std::make_unique<CubeCrashEnv>(CubeCrashEnv::Variant::Sparse); }});
    out.push_back({"CubeCrashScreenBecomesBlack-v0",
                   "CubeCrashSparse-v0 whose image turns black after the fourth frame (needs memory)",
                   [] { return std::make_unique<CubeCrashEnv>(CubeCrashEnv::Variant::ScreenBecomesBlack); }});
}

const std::vector<EnvInfo>& registry() {
    static const std::vector<EnvInfo> envs = [] {
        std::vector<EnvInfo> v;
        registerBuiltinEnvironments(v);
        return v;
    }();
    return envs;
}

void registerEnvironment(const std::string& id, core::EnvFactory factory) {
    if (!factory) throw std::invalid_argument("registerEnvironment: '" + id + "' has no factory");
    for (const EnvInfo& e : registry())
        if (e.id == id) throw std::invalid_argument("registerEnvironment: '" + id + "' is a built-in environment");
    const std::lock_guard lock(extraLock());
    for (auto& [known, f] : extras())
        if (known == id) {
            f = std::move(factory);
            return;
        }
    extras().emplace_back(id, std::move(factory));
}

std::unique_ptr<SimEnvironment> makeEnvironment(const std::string& id) {
    for (const EnvInfo& e : registry())
        if (e.id == id) return e.make();
    return nullptr;
}

core::EnvFactory environmentFactory(const std::string& id) {
    for (const EnvInfo& e : registry()) {
        if (e.id == id) {
            auto make = e.make;
            return [make]() -> std::unique_ptr<core::Environment> { return make(); };
        }
    }
    {
        const std::lock_guard lock(extraLock());
        for (const auto& [known, f] : extras())
            if (known == id) return f;
    }
    throw std::invalid_argument("unknown environment '" + id + "' (known: " + knownEnvironmentIds() + ")");
}

bool isKnownEnvironment(const std::string& id) {
    for (const EnvInfo& e : registry())
        if (e.id == id) return true;
    const std::lock_guard lock(extraLock());
    for (const auto& [known, f] : extras())
        if (known == id) return true;
    return false;
}

std::string knownEnvironmentIds() {
    std::string s;
    for (const EnvInfo& e : registry()) {
        if (!s.empty()) s += ", ";
        s += e.id;
    }
    return s;
}

} // namespace sim
