#include "core/config.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace core {

namespace {

using json = nlohmann::json;

std::string fmt(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

// an accessor pair per field: text <-> value
struct Accessor {
    std::function<std::string(const TrpoConfig&)> get;
    // set(config, key, text): parses text into the field; errors name the key
    std::function<void(TrpoConfig&, const std::string&, const std::string&)> set;
};

[[noreturn]] void bad(const std::string& key, const std::string& text, const std::string& why) {
    throw ConfigError("invalid value '" + text + "' for " + key + ": " + why);
}

double parseDouble(const std::string& key, const std::string& t) {
    try {
        size_t pos = 0;
        const double v = std::stod(t, &pos);
        if (pos != t.size()) bad(key, t, "not a number");
        return v;
    } catch (const std::logic_error&) {
        bad(key, t, "not a number");
    }
}
long long parseInt(const std::string& key, const std::string& t) {
    // accept 1e6 style too, when it is an exact integer
    const double v = parseDouble(key, t);
    if (std::floor(v) != v || std::fabs(v) > 9e15) bad(key, t, "not an integer");
    return static_cast<long long>(v);
}
bool parseBool(const std::string& key, const std::string& t) {
    if (t == "true" || t == "1" || t == "on" || t == "yes") return true;
    if (t == "false" || t == "0" || t == "off" || t == "no") return false;
    bad(key, t, "expected true or false");
}
std::vector<int> parseIntList(const std::string& key, const std::string& t) {
    std::vector<int> out;
    std::stringstream ss(t);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) bad(key, t, "expected sizes like 64,64");
        out.push_back(static_cast<int>(parseInt(key, item)));
    }
    if (out.empty()) bad(key, t, "expected at least one layer size, like 64,64");
    return out;
}
std::string listText(const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(v[i]);
    }
    return s;
}

struct Entry {
    ConfigField field;
    Accessor acc;
};

#define DBL(member) \
    Accessor{[](const TrpoConfig& c) { return fmt(c.member); }, \
             [](TrpoConfig& c, const std::string& key, const std::string& t) { c.member = parseDouble(key, t); }}
#define INT(member) \
    Accessor{[](const TrpoConfig& c) { return std::to_string(c.member); }, \
             [](TrpoConfig& c, const std::string& key, const std::string& t) { c.member = static_cast<int>(parseInt(key, t)); }}
#define BOOL(member) \
    Accessor{[](const TrpoConfig& c) { return std::string(c.member ? "true" : "false"); }, \
             [](TrpoConfig& c, const std::string& key, const std::string& t) { c.member = parseBool(key, t); }}
#define LIST(member) \
    Accessor{[](const TrpoConfig& c) { return listText(c.member); }, \
             [](TrpoConfig& c, const std::string& key, const std::string& t) { c.member = parseIntList(key, t); }}

const std::vector<Entry>& entries() {
    // clang-format off
    static const std::vector<Entry> e = {
        {{"env", "string", false, 0, 0, false, "Environment id (see --list-envs)."},
         {[](const TrpoConfig& c) { return c.env; }, [](TrpoConfig& c, const std::string& key, const std::string& t) { c.env = t; }}},
        {{"seed", "int", false, 0, 9e15, false, "Random seed: same seed and config give identical runs."},
         {[](const TrpoConfig& c) { return std::to_string(c.seed); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) {
              const long long v = parseInt("seed", t);
              if (v < 0) bad("seed", t, "must be >= 0");
              c.seed = static_cast<std::uint64_t>(v);
          }}},
        {{"hidden", "int-list", false, 1, 1024, false, "Policy hidden layer sizes, e.g. 64,64."}, LIST(hidden)},
        {{"value_hidden", "int-list", false, 1, 1024, false, "Value network hidden layer sizes, e.g. 64,64."}, LIST(valueHidden)},
        {{"activation", "enum", false, 0, 0, false, "Hidden activation of both networks: tanh or relu.", {"tanh", "relu"}},
         {[](const TrpoConfig& c) { return std::string(c.activation == Activation::Tanh ? "tanh" : "relu"); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) {
              if (t == "tanh") c.activation = Activation::Tanh;
              else if (t == "relu") c.activation = Activation::Relu;
              else bad("activation", t, "expected tanh or relu");
          }}},
        {{"normalize_obs", "bool", false, 0, 1, false, "Normalise observations by a running mean/std (clipped)."}, BOOL(normalizeObs)},
        {{"obs_clip", "double", false, 0.1, 1e6, false, "Clip of normalised observations."}, DBL(obsClip)},
        {{"normalize_reward", "bool", false, 0, 1, false, "Scale rewards by the running std of the discounted return (clip 10)."}, BOOL(normalizeReward)},
        {{"log_std_init", "double", false, -10, 5, false, "Initial log standard deviation of a Gaussian policy."}, DBL(logStdInit)},
        {{"num_envs", "int", false, 1, 256, false, "Environment copies sampled per iteration (each gets steps_per_iteration / num_envs steps)."}, INT(numEnvs)},
        {{"baseline", "enum", false, 0, 0, false, "Value function: mlp (Adam-fitted network) or linear (rllab's linear-feature baseline).", {"mlp", "linear"}},
         {[](const TrpoConfig& c) { return std::string(c.baseline == BaselineKind::Mlp ? "mlp" : "linear"); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) {
              if (t == "mlp") c.baseline = BaselineKind::Mlp;
              else if (t == "linear") c.baseline = BaselineKind::Linear;
              else bad("baseline", t, "expected mlp or linear");
          }}},
        {{"network", "enum", false, 0, 0, false, "Network of the policy and the critic: mlp (fully connected layers over the observation vector), cnn (the conv_layers over the observation image, each followed by ReLU, then the hidden layers; environments with image observations only) gru (a GRU layer of gru_state units over the observations, then the hidden layers; the critic an MLP unless gru_critic; trpo, npg or vpg) or cnn_gru (the conv_layers, then the GRU over their features, then the hidden layers; the critic the CNN unless gru_critic; image observations; trpo, npg or vpg).", {"mlp", "cnn", "gru", "cnn_gru"}},
         {[](const TrpoConfig& c) { return std::string(networkName(c.network)); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) {
              if (const std::optional<NetworkKind> k = networkFromName(t)) c.network = *k;
              else bad("network", t, "expected mlp, cnn, gru or cnn_gru");
          }}},
        {{"gru_state", "int", false, 1, 1024, false, "network = gru or cnn_gru: the size of the GRU's hidden state, the policy's memory."}, INT(gruState)},
        {{"gru_critic", "bool", false, 0, 1, false, "network = gru or cnn_gru: the critic is recurrent as well (its own GRU of gru_state units, after its own conv_layers for cnn_gru, then value_hidden), carrying its own state per environment copy; off: an MLP (gru) or a CNN (cnn_gru) over the observation."}, BOOL(gruCritic)},
        {{"bptt_steps", "int", false, 1, 100000, true, "network = gru or cnn_gru: the longest sequence the update backpropagates through (truncated BPTT); each starts from the state the sampler recorded."}, INT(bpttSteps)},
        {{"conv_layers", "string", false, 1, 256, false, "network = cnn or cnn_gru: the convolution layers in front of the hidden layers of both networks, filters x kernel / stride each, VALID padding, e.g. 32x8/4,64x4/2 (garage's trpo_cubecrash). Every kernel must fit the image left by the layers before it."},
         {[](const TrpoConfig& c) { return convLayersText(c.convLayers); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) { c.convLayers = parseConvLayers(key, t); }}},
        {{"algo", "enum", false, 0, 0, false, "Policy update: trpo (natural gradient, KL trust region, line search), npg (natural gradient scaled to delta, no line search), vpg (vanilla policy gradient, one Adam step), kl_penalty (Adam on the surrogate minus kl_beta times the KL), kl_adaptive (the same, kl_beta halved or doubled after each update to keep the KL near delta) or ppo (clipped surrogate, Adam on minibatches). All share the sampler, GAE and the critic. docs/algorithm.md §11.", {"trpo", "npg", "vpg", "kl_penalty", "kl_adaptive", "ppo"}},
         {[](const TrpoConfig& c) { return std::string(algorithmName(c.algo)); },
          [](TrpoConfig& c, const std::string& key, const std::string& t) {
              try {
                  c.algo = algorithmFromName(t);
              } catch (const ConfigError&) {
                  bad("algo", t, "expected trpo, npg, vpg, kl_penalty, kl_adaptive or ppo");
              }
          }}},
        {{"delta", "double", true, 1e-6, 10, true, "Trust-region radius δ: the largest mean KL(π_old‖π_new) one update may take. Larger steps learn faster but less safely; 0.01 is the usual choice."}, DBL(delta)},
        {{"cg_iters", "int", true, 1, 200, false, "Conjugate-gradient iterations that approximate (F + damping·I)⁻¹g."}, INT(cgIters)},
        {{"fvp_subsample", "int", true, 1, 100, false, "Fisher-vector products inside CG use every k-th sample of the batch (SB3-contrib's sub_sampling_factor; the TRPO paper used 10%, k = 10). CG then costs 1/k as much; the gradient and the line search still use the whole batch. 1 = all samples."}, INT(fvpSubsample)},
        {{"cg_damping", "double", true, 0, 10, true, "Damping added to the Fisher matrix; stabilises CG when F is nearly singular."}, DBL(cgDamping)},
        {{"cg_tolerance", "double", true, 0, 1, false, "CG stops early once the squared residual falls below this."}, DBL(cgTolerance)},
        {{"backtrack_coeff", "double", true, 0.01, 0.99, false, "Line search shrinks the step by this factor after each rejected trial."}, DBL(backtrackCoeff)},
        {{"max_backtracks", "int", true, 0, 100, false, "Line-search backtracks after the full step before the update is rejected."}, INT(maxBacktracks)},
        {{"gamma", "double", true, 0, 1, false, "Discount factor γ."}, DBL(gamma)},
        {{"lambda", "double", true, 0, 1, false, "GAE λ: bias (0) versus variance (1) of the advantage estimates."}, DBL(lambda)},
        {{"steps_per_iteration", "int", true, 2, 10000000, true, "Environment steps collected per update (all copies together)."}, INT(stepsPerIteration)},
        {{"value_lr", "double", true, 1e-7, 1, true, "Adam learning rate of the value network."}, DBL(valueLr)},
        {{"value_epochs", "int", true, 0, 1000, false, "Passes over the batch when fitting the value network."}, INT(valueEpochs)},
        {{"value_minibatch", "int", true, 1, 10000000, true, "Minibatch size of the value fit."}, INT(valueMinibatch)},
        {{"entropy_coeff", "double", true, 0, 1, false, "Weight of the mean policy entropy added to the surrogate (TRPO normally uses 0)."}, DBL(entropyCoeff)},
        {{"normalize_advantages", "bool", true, 0, 1, false, "Standardise advantages in each batch."}, BOOL(normalizeAdvantages)},
        {{"noise_hold_steps", "int", true, 1, 1000, false, "Continuous actions: the Gaussian exploration noise of each environment copy is drawn at the start of every episode and then every this many steps, and held in between (temporally correlated exploration, like gSDE's sde_sample_freq). 1 = fresh noise every step. Log-probabilities stay those of the per-step Gaussian. No effect on discrete actions."}, INT(noiseHoldSteps)},
        {{"collapse_drop", "double", true, 0, 1, false, "Divergence guardrail: a collapse is an iteration whose mean return loses more than this fraction of the progress the run has made (from its first mean return to its best 20-episode mean), once the run got halfway to the solved threshold. 0 turns the collapse check off; NaN and inf are always caught."}, DBL(collapseDrop)},
        {{"max_rollbacks", "int", true, 1, 1000, false, "Divergence guardrail in trpo-train: after this many rollbacks in a row, training stops with exit code 3."}, INT(maxRollbacks)},
        {{"policy_lr", "double", true, 1e-7, 1, true, "Adam learning rate of the policy for vpg, kl_penalty, kl_adaptive and ppo (SB3's PPO: 3e-4). Not used by trpo and npg."}, DBL(policyLr)},
        {{"policy_epochs", "int", true, 1, 1000, false, "Passes over the batch per update for kl_penalty, kl_adaptive and ppo (SB3's PPO: 10). vpg takes one full-batch step."}, INT(policyEpochs)},
        {{"policy_minibatch", "int", true, 1, 10000000, true, "Samples per policy Adam step for kl_penalty, kl_adaptive and ppo (SB3's PPO: 64); the last minibatch of a pass may be smaller."}, INT(policyMinibatch)},
        {{"clip_range", "double", true, 0.001, 10, false, "PPO's ε: the ratio π_θ/π_old is clipped to [1 − ε, 1 + ε] in the surrogate (SB3: 0.2)."}, DBL(clipRange)},
        {{"kl_beta", "double", true, 0, 10000, false, "KL penalty weight β: fixed for kl_penalty; the first value for kl_adaptive, which then halves β when the update's KL < delta/1.5 and doubles it when KL > 1.5·delta (Schulman et al. 2017, §4)."}, DBL(klBeta)},
        {{"max_grad_norm", "double", true, 0, 1000, false, "vpg, kl_penalty, kl_adaptive, ppo: the policy gradient of each Adam step is scaled down to this global norm (SB3's PPO: 0.5). 0 = no clipping."}, DBL(maxGradNorm)},
        {{"anneal_steps", "int", true, 0, 2000000000, false, "vpg, kl_penalty, kl_adaptive, ppo: policy_lr and clip_range are multiplied by 1 − (environment steps so far, this batch included) / anneal_steps, down to 0, like RL Zoo's lin_ schedules over n_timesteps. 0 = constant (SB3's default)."}, INT(annealSteps)},
        {{"value_coeff", "double", false, 0, 100, false, "kl_penalty, kl_adaptive, ppo: above 0, the critic learns in the policy's Adam steps instead of in a fit of its own, on c_V·mean (V − R)² added to the policy's loss, with one gradient clip over both networks and policy_lr for both (Stable-Baselines3's PPO: vf_coef 0.5). value_lr, value_epochs and value_minibatch then have no effect. 0 = the critic's own fit after the policy step. Needs baseline = mlp."}, DBL(valueCoeff)},
        {{"threads", "int", false, 1, 64, false, "Sampling threads. Results do not depend on it."}, INT(threads)},
    };
    // clang-format on
    return e;
}
#undef DBL
#undef INT
#undef BOOL
#undef LIST

} // namespace

std::string convLayersText(const std::vector<ConvLayerSpec>& layers) {
    std::string s;
    for (size_t i = 0; i < layers.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(layers[i].filters) + "x" + std::to_string(layers[i].kernel) + "/" + std::to_string(layers[i].stride);
    }
    return s;
}

std::vector<ConvLayerSpec> parseConvLayers(const std::string& key, const std::string& t) {
    const char* form = "expected layers like 32x8/4,64x4/2 (filters x kernel / stride)";
    std::vector<ConvLayerSpec> out;
    if (!t.empty() && t.back() == ',') bad(key, t, form);
    std::stringstream ss(t);
    std::string item;
    while (std::getline(ss, item, ',')) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        const size_t x = item.find('x'), slash = item.find('/');
        if (item.empty() || x == std::string::npos || x == 0 || (slash != std::string::npos && slash < x)) bad(key, t, form);
        ConvLayerSpec l;
        const auto num = [&](const std::string& part, const char* what, int hi) {
            if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) bad(key, t, form);
            const long long v = parseInt(key, part);
            if (v < 1 || v > hi) bad(key, t, std::string("the ") + what + " must be between 1 and " + std::to_string(hi));
            return static_cast<int>(v);
        };
        l.filters = num(item.substr(0, x), "number of filters", 256);
        l.kernel = num(item.substr(x + 1, slash == std::string::npos ? std::string::npos : slash - x - 1), "kernel size", 64);
        l.stride = slash == std::string::npos ? 1 : num(item.substr(slash + 1), "stride", 64);
        out.push_back(l);
    }
    if (out.empty() || out.size() > 8) bad(key, t, "expected 1 to 8 layers, like 32x8/4,64x4/2");
    return out;
}

const char* networkName(NetworkKind k) {
    switch (k) {
    case NetworkKind::Mlp: return "mlp";
    case NetworkKind::Cnn: return "cnn";
    case NetworkKind::Gru: return "gru";
    case NetworkKind::CnnGru: return "cnn_gru";
    }
    return "mlp";
}

std::optional<NetworkKind> networkFromName(const std::string& name) {
    for (NetworkKind k : {NetworkKind::Mlp, NetworkKind::Cnn, NetworkKind::Gru, NetworkKind::CnnGru})
        if (name == networkName(k)) return k;
    return std::nullopt;
}

const char* algorithmName(Algorithm a) {
    switch (a) {
        case Algorithm::Trpo: return "trpo";
        case Algorithm::Npg: return "npg";
        case Algorithm::Vpg: return "vpg";
        case Algorithm::KlPenalty: return "kl_penalty";
        case Algorithm::KlAdaptive: return "kl_adaptive";
        case Algorithm::Ppo: return "ppo";
    }
    return "unknown";
}

Algorithm algorithmFromName(const std::string& name) {
    for (Algorithm a : {Algorithm::Trpo, Algorithm::Npg, Algorithm::Vpg, Algorithm::KlPenalty, Algorithm::KlAdaptive,
                        Algorithm::Ppo})
        if (name == algorithmName(a)) return a;
    throw ConfigError("unknown algorithm '" + name + "'");
}

namespace {

const Entry* findEntry(const std::string& key) {
    for (const auto& e : entries())
        if (e.field.key == key) return &e;
    return nullptr;
}

} // namespace

const std::vector<ConfigField>& configFields() {
    static const std::vector<ConfigField> f = [] {
        std::vector<ConfigField> out;
        for (const auto& e : entries()) out.push_back(e.field);
        return out;
    }();
    return f;
}

const ConfigField* findConfigField(const std::string& key) {
    const Entry* e = findEntry(key);
    return e ? &e->field : nullptr;
}

std::string configValue(const TrpoConfig& c, const std::string& key) {
    const Entry* e = findEntry(key);
    if (!e) throw ConfigError("unknown setting '" + key + "'");
    return e->acc.get(c);
}

void setConfigValue(TrpoConfig& c, const std::string& key, const std::string& text) {
    const Entry* e = findEntry(key);
    if (!e) throw ConfigError("unknown setting '" + key + "'");
    e->acc.set(c, key, text);
}

void TrpoConfig::validate() const {
    auto range = [](const char* key, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi))
            throw ConfigError(std::string(key) + " = " + fmt(v) + " is out of range [" + fmt(lo) + ", " + fmt(hi) + "]");
    };
    if (env.empty()) throw ConfigError("env must name an environment");
    for (const auto& e : entries()) {
        const ConfigField& f = e.field;
        if (f.type == "double" || f.type == "int") {
            range(f.key.c_str(), std::stod(e.acc.get(*this)), f.min, f.max);
        } else if (f.type == "int-list") {
            const std::vector<int>& v = f.key == "hidden" ? hidden : valueHidden;
            if (v.empty() || v.size() > 8)
                throw ConfigError(f.key + " must have between 1 and 8 layers");
            for (int s : v) range(f.key.c_str(), s, f.min, f.max);
        }
    }
    if (gamma >= 1.0 && gamma != 1.0) range("gamma", gamma, 0, 1);
    if (stepsPerIteration < numEnvs * 2)
        throw ConfigError("steps_per_iteration = " + std::to_string(stepsPerIteration) +
                          " must be at least 2 x num_envs (" + std::to_string(2 * numEnvs) + ")");
    if (valueCoeff > 0.0) {
        if (algo != Algorithm::Ppo && algo != Algorithm::KlPenalty && algo != Algorithm::KlAdaptive)
            throw ConfigError("value_coeff = " + fmt(valueCoeff) + " trains the critic in the minibatch steps of kl_penalty, "
                              "kl_adaptive or ppo; " + algorithmName(algo) + " has none (set value_coeff = 0)");
        if (baseline != BaselineKind::Mlp)
            throw ConfigError("value_coeff = " + fmt(valueCoeff) + " needs baseline = mlp: the linear baseline is fitted "
                              "by least squares, not by gradient steps");
    }
    if (isRecurrentNetwork(network)) {
        // the recurrent update needs whole sequences: the full batch, cut in fixed shards
        const std::string name = std::string("network = ") + networkName(network);
        if (algo != Algorithm::Trpo && algo != Algorithm::Npg && algo != Algorithm::Vpg)
            throw ConfigError(name + " trains with trpo, npg or vpg, which use the whole batch; " + algorithmName(algo) +
                              " draws minibatches of single samples, which would cut the sequences");
        if (fvpSubsample != 1)
            throw ConfigError(name + " needs fvp_subsample = 1: a subsample of single steps would cut the sequences "
                              "the Fisher-vector product runs through (it is " + std::to_string(fvpSubsample) + ")");
    }
}

std::string configToJson(const TrpoConfig& c) {
    json j = json::object();
    for (const auto& e : entries()) {
        const std::string v = e.acc.get(c);
        const std::string& t = e.field.type;
        if (t == "double") j[e.field.key] = std::stod(v);
        else if (t == "int") j[e.field.key] = std::stoll(v);
        else if (t == "bool") j[e.field.key] = (v == "true");
        else if (t == "int-list") j[e.field.key] = (e.field.key == "hidden" ? c.hidden : c.valueHidden);
        else j[e.field.key] = v;
    }
    return j.dump(2);
}

void applyConfigJson(TrpoConfig& c, const std::string& text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) { // parse_error, or out_of_range for a number such as 1e999
        throw ConfigError(std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) throw ConfigError("expected a JSON object of settings");
    TrpoConfig out = c;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        if (key == "format" || key == "version" || key == "studio_version" || key == "comment") continue;
        const Entry* e = findEntry(key);
        if (!e) throw ConfigError("unknown setting '" + key + "'");
        const json& v = it.value();
        std::string text;
        if (v.is_string()) text = v.get<std::string>();
        else if (v.is_boolean()) text = v.get<bool>() ? "true" : "false";
        else if (v.is_number_integer()) text = std::to_string(v.get<long long>());
        else if (v.is_number()) text = fmt(v.get<double>());
        else if (v.is_array()) {
            for (size_t i = 0; i < v.size(); ++i) {
                if (!v[i].is_number_integer()) throw ConfigError(key + " must be a list of integers");
                text += (i ? "," : "") + std::to_string(v[i].get<long long>());
            }
        } else
            throw ConfigError("setting '" + key + "' has an unsupported value type");
        if (e->field.type != "string" && e->field.type != "enum" && v.is_string() && e->field.type != "int-list")
            throw ConfigError("setting '" + key + "' must be a " + e->field.type + ", not a string");
        e->acc.set(out, key, text);
    }
    c = out;
}

std::vector<ConfigChange> diffConfigs(const TrpoConfig& a, const TrpoConfig& b, bool hotOnly) {
    std::vector<ConfigChange> out;
    for (const auto& e : entries()) {
        if (hotOnly && !e.field.hot) continue;
        const std::string va = e.acc.get(a), vb = e.acc.get(b);
        if (va != vb) out.push_back({e.field.key, va, vb});
    }
    return out;
}

} // namespace core
