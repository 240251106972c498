// TrpoConfig: every setting of a run, with defaults (SB3-contrib's TRPO unless noted) and
// one table of field descriptions (name, range, hot/cold, meaning) that serves validate(),
// the JSON loader, trpo-train --help and the studio's tooltips.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace core {

// thrown for a bad configuration value; message names the field and its allowed range
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Activation { Tanh, Relu };
enum class BaselineKind { Mlp, Linear };
// the network of the policy and of the critic: an MLP over the observation vector,
// convolution layers over the observation image followed by the MLP head, a GRU layer
// followed by the MLP head, or convolution layers, then a GRU over their features, then the
// MLP head (core/network.h). The recurrent two are the critic's only with gru_critic.
enum class NetworkKind { Mlp, Cnn, Gru, CnnGru };
// "mlp", "cnn", "gru", "cnn_gru", and back (nullopt for any other text)
const char* networkName(NetworkKind k);
std::optional<NetworkKind> networkFromName(const std::string& name);
inline bool isRecurrentNetwork(NetworkKind k) { return k == NetworkKind::Gru || k == NetworkKind::CnnGru; }
inline bool hasConvLayers(NetworkKind k) { return k == NetworkKind::Cnn || k == NetworkKind::CnnGru; }

// one convolution layer: `filters` output channels, a `kernel` × `kernel` window moved by
// `stride` pixels, VALID padding (core/conv.h)
struct ConvLayerSpec {
    int filters = 0;
    int kernel = 0;
    int stride = 1;
    bool operator==(const ConvLayerSpec&) const = default;
};
// "32x8/4,64x4/2": filters x kernel / stride per layer (the stride may be left out: 1)
std::string convLayersText(const std::vector<ConvLayerSpec>& layers);
// throws ConfigError naming `key` on text that is not such a list or has a size out of range
std::vector<ConvLayerSpec> parseConvLayers(const std::string& key, const std::string& text);
// the policy update (docs/algorithm.md §11): TRPO, or another algorithm on the same pipeline
enum class Algorithm { Trpo, Npg, Vpg, KlPenalty, KlAdaptive, Ppo };
const char* algorithmName(Algorithm a);                // "trpo", "npg", "vpg", "kl_penalty", "kl_adaptive", "ppo"
Algorithm algorithmFromName(const std::string& name); // throws ConfigError

struct TrpoConfig {
    // --- cold: need a reset ---
    std::string env = "CartPole-v1";
    std::uint64_t seed = 1;
    std::vector<int> hidden{64, 64};      // policy hidden layer sizes
    std::vector<int> valueHidden{64, 64}; // value network hidden layer sizes
    Activation activation = Activation::Tanh;
    bool normalizeObs = false;            // running mean/std observation filter
    double obsClip = 10.0;                // clip of normalised observations
    bool normalizeReward = false;         // scale rewards by the running std of the discounted return
    double logStdInit = 0.0;              // initial log-std of a Gaussian policy
    int numEnvs = 1;                      // environment copies sampled in parallel
    BaselineKind baseline = BaselineKind::Mlp;
    Algorithm algo = Algorithm::Trpo;     // the policy update
    NetworkKind network = NetworkKind::Mlp;
    // cnn: the convolution layers in front of both networks' hidden layers (garage's trpo_cubecrash)
    std::vector<ConvLayerSpec> convLayers{{32, 8, 4}, {64, 4, 2}};
    // gru: the hidden state's size (garage's trpo_cartpole_recurrent: 32), and the longest
    // sequence backpropagated through
    int gruState = 32;
    int bpttSteps = 16;
    bool gruCritic = false; // gru: the critic a GRU too (else an MLP over the observation)

    // --- hot: applied at the next iteration boundary ---
    double delta = 0.01;          // max mean KL(pi_old || pi_new) per update
    int cgIters = 15;             // conjugate-gradient iterations
    int fvpSubsample = 1;         // Fisher-vector products use every k-th sample (1 = all)
    double cgDamping = 0.1;       // damping added to the Fisher matrix
    double cgTolerance = 1e-10;   // CG stops when r^T r falls below this
    double backtrackCoeff = 0.8;  // line-search shrink factor
    int maxBacktracks = 10;       // line-search tries after the full step
    double gamma = 0.99;          // discount
    double lambda = 0.95;         // GAE lambda
    int stepsPerIteration = 2048; // environment steps per update (all copies together)
    double valueLr = 1e-3;        // critic Adam learning rate
    int valueEpochs = 10;         // critic epochs per update
    int valueMinibatch = 128;     // critic minibatch size
    double entropyCoeff = 0.0;    // weight of the mean entropy added to the surrogate
    int noiseHoldSteps = 1;       // Gaussian exploration noise held for this many steps (1 = white)
    bool normalizeAdvantages = true;
    double collapseDrop = 0.5;    // divergence guardrail: fraction of the progress lost that counts as a collapse (0 = off)
    int maxRollbacks = 5;         // trpo-train stops (exit code 3) after this many rollbacks in a row
    // the first-order algorithms (vpg, kl_penalty, kl_adaptive, ppo; SB3's PPO defaults)
    double policyLr = 3e-4;       // policy Adam learning rate
    int policyEpochs = 10;        // passes over the batch per update (kl_*, ppo)
    int policyMinibatch = 64;     // samples per Adam step (kl_*, ppo)
    double clipRange = 0.2;       // ppo's ε
    double klBeta = 1.0;          // KL penalty β (kl_penalty), or its first value (kl_adaptive)
    double maxGradNorm = 0.5;     // policy gradient clipped to this global norm (0 = off)
    int annealSteps = 0;          // policy_lr and clip_range fall linearly to 0 over this many env steps (0 = constant)
    double valueCoeff = 0.0;      // > 0: the critic learns in the policy's Adam steps on c_V·MSE (kl_*, ppo); 0: its own fit

    // --- run control (not hyperparameters) ---
    int threads = 2; // sampling threads; results do not depend on it

    // throws ConfigError naming the first bad field and its allowed range
    void validate() const;
};

// one entry per configurable field: the single place each one is documented
struct ConfigField {
    std::string key;      // JSON key, snake_case (CLI flag: --key with '-' for '_')
    std::string type;     // "double", "int", "bool", "string", "int-list", "enum"
    bool hot;             // applied live at the next iteration boundary
    double min, max;      // allowed range (numbers; list entries)
    bool logScale;        // a log slider suits it
    std::string help;     // tooltip / --help text
    std::vector<std::string> choices = {}; // allowed values of an "enum" field
};
const std::vector<ConfigField>& configFields();
const ConfigField* findConfigField(const std::string& key);

// string form of a field's current value ("0.01", "64,64", "true", "tanh")
std::string configValue(const TrpoConfig& c, const std::string& key);
// parses `text` into field `key`; throws ConfigError naming the field on a bad value
void setConfigValue(TrpoConfig& c, const std::string& key, const std::string& text);

// JSON text <-> config (unknown keys and bad values throw ConfigError); fields missing
// from the JSON keep their current values, so presets layer over defaults
std::string configToJson(const TrpoConfig& c);
void applyConfigJson(TrpoConfig& c, const std::string& jsonText);

// the hot fields whose values differ: (key, old text, new text)
struct ConfigChange {
    std::string key, from, to;
};
std::vector<ConfigChange> diffConfigs(const TrpoConfig& a, const TrpoConfig& b, bool hotOnly);

} // namespace core
