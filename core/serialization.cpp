#include "core/serialization.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

namespace core {

namespace {
constexpr char kMagic[8] = {'T', 'R', 'P', 'O', 'S', 'T', 'D', '\0'};
constexpr std::size_t kHeader = 8 + 4 + 4 + 8 + 8;

template <typename T>
void put(std::vector<std::uint8_t>& out, T v) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
}
template <typename T>
T get(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}
} // namespace

std::vector<int> jsonIntegers(const nlohmann::json& v) {
    if (!v.is_array()) return v.get<std::vector<int>>(); // json's type_error
    std::vector<int> out;
    out.reserve(v.size());
    for (const nlohmann::json& e : v) out.push_back(jsonInteger<int>(e));
    return out;
}

std::uint64_t fnv1a64(const std::uint8_t* data, std::size_t n) {
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= data[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::vector<std::uint8_t> encodeContainer(ContainerKind kind, const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> out(kMagic, kMagic + 8);
    put<std::uint32_t>(out, kContainerVersion);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(kind));
    put<std::uint64_t>(out, payload.size());
    put<std::uint64_t>(out, fnv1a64(payload.data(), payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::vector<std::uint8_t> decodeContainer(ContainerKind kind, const std::vector<std::uint8_t>& b) {
    if (b.empty()) throw std::runtime_error("the file is empty");
    if (b.size() < 8 || std::memcmp(b.data(), kMagic, 8) != 0)
        throw std::runtime_error("not a TRPO Studio checkpoint (unrecognised header)");
    if (b.size() < kHeader) throw std::runtime_error("the file is truncated (incomplete header)");
    const auto version = get<std::uint32_t>(b.data() + 8);
    if (version != kContainerVersion)
        throw std::runtime_error("unsupported format version " + std::to_string(version) + " (this build reads version " +
                                 std::to_string(kContainerVersion) + ")");
    const auto k = get<std::uint32_t>(b.data() + 12);
    if (k != static_cast<std::uint32_t>(kind))
        throw std::runtime_error("wrong kind of file (kind " + std::to_string(k) + ")");
    const auto size = get<std::uint64_t>(b.data() + 16);
    const auto sum = get<std::uint64_t>(b.data() + 24);
    if (b.size() - kHeader < size)
        throw std::runtime_error("the file is truncated: " + std::to_string(b.size() - kHeader) + " of " +
                                 std::to_string(size) + " payload bytes present");
    if (b.size() - kHeader > size) throw std::runtime_error("the file has trailing bytes after its payload");
    if (fnv1a64(b.data() + kHeader, size) != sum) throw std::runtime_error("checksum mismatch: the file is corrupted");
    return std::vector<std::uint8_t>(b.begin() + kHeader, b.end());
}

std::vector<std::uint8_t> readFileBytes(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw FileError(p.string() + ": cannot open for reading");
    std::vector<std::uint8_t> out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) throw FileError(p.string() + ": read error");
    return out;
}

std::string readFileText(const std::filesystem::path& p) {
    const auto b = readFileBytes(p);
    return std::string(b.begin(), b.end());
}

namespace {
void writeAtomic(const std::filesystem::path& p, const char* data, std::size_t n) {
    const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    std::string tmpName = ".";
    tmpName += p.filename().string();
    tmpName += ".tmp-";
    tmpName += std::to_string(::getpid());
    const std::string tmp = (dir / tmpName).string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw FileError(p.string() + ": cannot write (" + std::strerror(errno) + ")");
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(fd, data + done, n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            throw FileError(p.string() + ": write failed (" + why + ")");
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw FileError(p.string() + ": could not flush to disk");
    }
    if (std::rename(tmp.c_str(), p.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw FileError(p.string() + ": could not replace the file (" + why + ")");
    }
}
} // namespace

void writeFileAtomic(const std::filesystem::path& p, const std::string& data) { writeAtomic(p, data.data(), data.size()); }
void writeFileAtomic(const std::filesystem::path& p, const std::vector<std::uint8_t>& data) {
    writeAtomic(p, reinterpret_cast<const char*>(data.data()), data.size());
}

// ---- spaces as JSON -------------------------------------------------------------------

using json = nlohmann::json;

namespace {
double boundFrom(const json& v) {
    if (v.is_number()) return v.get<double>();
    if (v == "inf") return INFINITY;
    if (v == "-inf") return -INFINITY;
    throw std::runtime_error("space bound is not a number");
}
constexpr int kMaxSpaceSize = kMaxLayerWidth; // as large as a network layer may be

// policy.json's weight matrices: one JSON row per output of a θ block that holds the matrix
// column-major (rows x cols)
json matrixRows(const double* block, int rows, int cols) {
    Eigen::Map<const MatrixXd> M(block, rows, cols);
    json out = json::array();
    for (int r = 0; r < rows; ++r) {
        std::vector<double> row(cols);
        for (int c = 0; c < cols; ++c) row[c] = M(r, c);
        out.push_back(row);
    }
    return out;
}
// whether m is `rows` arrays of `cols` entries each (checked before θ is allocated)
bool matrixShaped(const json& m, size_t rows, size_t cols) {
    bool ok = m.is_array() && m.size() == rows;
    for (size_t r = 0; ok && r < rows; ++r) ok = m[r].is_array() && m[r].size() == cols;
    return ok;
}
// the rows back into the θ block (m must be matrixShaped; a non-number throws json's error)
void readMatrixRows(const json& m, double* block, int rows, int cols) {
    const auto v = m.get<std::vector<std::vector<double>>>();
    Eigen::Map<MatrixXd> M(block, rows, cols);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) M(r, c) = v[static_cast<size_t>(r)][static_cast<size_t>(c)];
}
std::vector<double> segmentOf(const VectorXd& theta, int offset, int n) {
    return std::vector<double>(theta.data() + offset, theta.data() + offset + n);
}
// a JSON vector (of the size checked before) into θ from offset on
void readSegment(const json& v, VectorXd& theta, int offset) {
    const auto values = v.get<std::vector<double>>();
    for (size_t k = 0; k < values.size(); ++k) theta(offset + static_cast<Eigen::Index>(k)) = values[k];
}
} // namespace

json spaceToJson(const Space& s) {
    if (s.isDiscrete()) return {{"type", "discrete"}, {"n", s.n}};
    json lo = json::array(), hi = json::array();
    for (double v : s.low) lo.push_back(std::isfinite(v) ? json(v) : json(v > 0 ? "inf" : "-inf"));
    for (double v : s.high) hi.push_back(std::isfinite(v) ? json(v) : json(v > 0 ? "inf" : "-inf"));
    return {{"type", "box"}, {"low", lo}, {"high", hi}};
}

Space spaceFromJson(const json& j) {
    const std::string t = j.at("type").get<std::string>();
    if (t == "discrete") {
        const int n = jsonInteger<int>(j.at("n"));
        if (n < 1 || n > kMaxSpaceSize) throw std::runtime_error("discrete space size out of range");
        return Space::discrete(n);
    }
    if (t != "box") throw std::runtime_error("unknown space type '" + t + "'");
    std::vector<double> lo, hi;
    for (const auto& v : j.at("low")) lo.push_back(boundFrom(v));
    for (const auto& v : j.at("high")) hi.push_back(boundFrom(v));
    if (lo.empty() || lo.size() != hi.size() || lo.size() > static_cast<size_t>(kMaxSpaceSize))
        throw std::runtime_error("box bounds have bad sizes");
    for (size_t k = 0; k < lo.size(); ++k)
        if (std::isnan(lo[k]) || std::isnan(hi[k]) || lo[k] > hi[k]) throw std::runtime_error("box bounds are invalid");
    return Space::box(lo, hi);
}

// ---- policy.json ----------------------------------------------------------------------

std::string policyToJson(const PolicySnapshot& s, const PolicyMetadata& meta) {
    json j;
    j["format"] = "trpo-studio-policy";
    j["version"] = 1;
    j["env_id"] = s.envId;
    j["observation_space"] = spaceToJson(s.observationSpace);
    j["action_space"] = spaceToJson(s.actionSpace);
    const Mlp& net = s.policy.net().mlp(); // the MLP, or the CNN's head
    // the MLP's θ from the start; the head's after the CNN's conv layers
    const int headOffset = s.policy.net().headOffset();
    j["distribution"] = s.policy.discrete() ? "categorical" : "diagonal_gaussian";
    j["activation"] = net.activation() == Activation::Tanh ? "tanh" : "relu";
    if (s.policy.net().isConv()) { // an MLP's file has no such fields (format version 1 as before)
        const ConvNet& conv = s.policy.net().conv();
        const ImageShape im = conv.shape(0);
        j["image"] = {{"channels", im.channels}, {"height", im.height}, {"width", im.width}};
        json cl = json::array();
        for (int l = 0; l < conv.numConvLayers(); ++l) {
            const ConvLayerSpec& c = conv.convLayers()[l];
            const int f = c.filters, k = conv.patchSize(l);
            cl.push_back({{"filters", f},
                          {"kernel", c.kernel},
                          {"stride", c.stride},
                          {"weight", matrixRows(s.theta.data() + conv.kernelOffset(l), f, k)},
                          {"bias", segmentOf(s.theta, conv.biasOffset(l), f)}});
        }
        j["conv_layers"] = cl;
    }
    if (s.policy.net().isRecurrent()) { // the GRU in ONNX's layout (docs/algorithm.md §12)
        const GruNet& gru = s.policy.net().gru();
        const int H = gru.hiddenState(), D = gru.inputs(), at = s.policy.net().gruOffset();
        j["gru"] = {{"hidden_size", H},
                    {"input_weight", matrixRows(s.theta.data() + at + gru.inputWeightOffset(), 3 * H, D)},
                    {"recurrent_weight", matrixRows(s.theta.data() + at + gru.recurrentWeightOffset(), 3 * H, H)},
                    {"bias", segmentOf(s.theta, at + gru.biasOffset(), 3 * H)},
                    {"reset_bias", segmentOf(s.theta, at + gru.resetBiasOffset(), H)}};
    }
    if (s.policy.net().kind() != NetworkKind::Mlp) j["network"] = networkName(s.policy.net().kind());
    j["layer_sizes"] = net.sizes();
    json layers = json::array();
    for (int l = 0; l < net.numLayers(); ++l) {
        const int out = net.sizes()[l + 1], in = net.sizes()[l];
        layers.push_back({{"weight", matrixRows(s.theta.data() + headOffset + net.weightOffset(l), out, in)},
                          {"bias", segmentOf(s.theta, headOffset + net.biasOffset(l), out)}});
    }
    j["layers"] = layers;
    if (!s.policy.discrete()) {
        const VectorXd ls = s.theta.tail(s.policy.outputs());
        j["log_std"] = std::vector<double>(ls.data(), ls.data() + ls.size());
    }
    const int od = s.observationSpace.dim();
    VectorXd mean = s.normalizer.enabled ? s.normalizer.rms.mean : VectorXd::Zero(od);
    VectorXd var = s.normalizer.enabled ? s.normalizer.rms.var : VectorXd::Ones(od);
    j["obs_normalizer"] = {{"enabled", s.normalizer.enabled},
                           {"mean", std::vector<double>(mean.data(), mean.data() + mean.size())},
                           {"var", std::vector<double>(var.data(), var.data() + var.size())},
                           {"epsilon", 1e-8},
                           {"clip", s.normalizer.clip}};
    json meta_j = json::parse(meta.extraJson.empty() ? "{}" : meta.extraJson);
    meta_j["algorithm"] = "TRPO";
    meta_j["seed"] = meta.seed;
    meta_j["iteration"] = s.iteration;
    meta_j["env_steps"] = s.envSteps;
    meta_j["studio_version"] = TRPO_VERSION;
    json dh = json::array();
    for (auto& [it, d] : meta.deltaHistory) dh.push_back({{"iteration", it}, {"delta", d}});
    meta_j["delta_history"] = dh;
    j["metadata"] = meta_j;
    return j.dump(1);
}

SnapshotPtr policyFromJson(const std::string& text) {
    if (text.empty()) throw std::runtime_error("the file is empty");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) { // parse_error, or out_of_range for a number such as 1e999
        throw std::runtime_error(std::string("not valid JSON: ") + e.what());
    }
    try {
        if (!j.is_object() || j.value("format", "") != "trpo-studio-policy")
            throw std::runtime_error("not a TRPO Studio policy file (format field missing)");
        const int version = jsonInteger<int>(j.at("version"));
        if (version != 1)
            throw std::runtime_error("unsupported policy format version " + std::to_string(version) + " (expected 1)");
        auto s = std::make_shared<PolicySnapshot>();
        s->envId = j.at("env_id").get<std::string>();
        s->observationSpace = spaceFromJson(j.at("observation_space"));
        s->actionSpace = spaceFromJson(j.at("action_space"));
        const std::string act = j.at("activation").get<std::string>();
        if (act != "tanh" && act != "relu") throw std::runtime_error("unknown activation '" + act + "'");
        const auto sizes = jsonIntegers(j.at("layer_sizes"));
        if (sizes.size() < 2 || sizes.size() > 10) throw std::runtime_error("layer_sizes must list 2 to 10 sizes");
        for (int v : sizes)
            if (v < 1 || v > kMaxLayerWidth) throw std::runtime_error("a layer size is out of range");
        // files without "network" (all written before CNN policies existed) hold an MLP
        NetworkSpec spec{NetworkKind::Mlp, s->observationSpace.dim(), {}, {}, std::vector<int>(sizes.begin() + 1, sizes.end() - 1),
                         act == "tanh" ? Activation::Tanh : Activation::Relu};
        const std::string kindText = j.value("network", std::string("mlp"));
        const std::optional<NetworkKind> kind = networkFromName(kindText);
        if (!kind) throw std::runtime_error("unknown network '" + kindText + "' (expected mlp, cnn, gru or cnn_gru)");
        spec.kind = *kind;
        int gruInputs = s->observationSpace.dim(); // the GRU reads the observation or the conv features
        if (hasConvLayers(*kind)) {
            const json& im = j.at("image");
            spec.image = {jsonInteger<int>(im.at("channels")), jsonInteger<int>(im.at("height")), jsonInteger<int>(im.at("width"))};
            if (spec.image.channels < 1 || spec.image.height < 1 || spec.image.width < 1 || spec.image.channels > kMaxLayerWidth ||
                spec.image.height > kMaxLayerWidth || spec.image.width > kMaxLayerWidth ||
                static_cast<long long>(spec.image.channels) * spec.image.height * spec.image.width != s->observationSpace.dim())
                throw std::runtime_error("image: channels x height x width must be positive and equal the observation size " +
                                         std::to_string(s->observationSpace.dim()));
            const json& cl = j.at("conv_layers");
            if (!cl.is_array() || cl.empty() || cl.size() > 8) throw std::runtime_error("conv_layers must list 1 to 8 layers");
            ImageShape in = spec.image;
            for (size_t l = 0; l < cl.size(); ++l) {
                const std::string name = "conv layer " + std::to_string(l + 1);
                const ConvLayerSpec c{jsonInteger<int>(cl[l].at("filters")), jsonInteger<int>(cl[l].at("kernel")),
                                      jsonInteger<int>(cl[l].at("stride"))};
                if (c.filters < 1 || c.filters > 256 || c.kernel < 1 || c.kernel > 64 || c.stride < 1 || c.stride > 64)
                    throw std::runtime_error(name + ": filters (1 to 256), kernel and stride (1 to 64) are out of range");
                if (c.kernel > in.height || c.kernel > in.width)
                    throw std::runtime_error(name + ": a " + std::to_string(c.kernel) + "x" + std::to_string(c.kernel) +
                                             " kernel does not fit its " + std::to_string(in.height) + "x" + std::to_string(in.width) +
                                             " input");
                const size_t k = static_cast<size_t>(in.channels) * c.kernel * c.kernel;
                const json& w = cl[l].at("weight");
                const json& b = cl[l].at("bias");
                if (!matrixShaped(w, static_cast<size_t>(c.filters), k) || !b.is_array() ||
                    b.size() != static_cast<size_t>(c.filters))
                    throw std::runtime_error(name + " has the wrong shape (expected " + std::to_string(c.filters) + " filters of " +
                                             std::to_string(k) + " weights and " + std::to_string(c.filters) + " biases)");
                spec.conv.push_back(c);
                in = {c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1};
            }
            if (!isRecurrentNetwork(*kind) && sizes.front() != in.size())
                throw std::runtime_error("layer_sizes starts at " + std::to_string(sizes.front()) + ", but the conv layers leave " +
                                         std::to_string(in.size()) + " features");
            gruInputs = in.size();
        }
        if (isRecurrentNetwork(*kind)) {
            const json& g = j.at("gru");
            spec.state = jsonInteger<int>(g.at("hidden_size"));
            if (spec.state < 1 || spec.state > kMaxLayerWidth) throw std::runtime_error("gru: hidden_size is out of range");
            const size_t H = static_cast<size_t>(spec.state), D = static_cast<size_t>(gruInputs);
            if (!matrixShaped(g.at("input_weight"), 3 * H, D) || !matrixShaped(g.at("recurrent_weight"), 3 * H, H) ||
                !g.at("bias").is_array() || g.at("bias").size() != 3 * H || !g.at("reset_bias").is_array() ||
                g.at("reset_bias").size() != H)
                throw std::runtime_error("gru: expected input_weight " + std::to_string(3 * H) + "x" + std::to_string(D) +
                                         ", recurrent_weight " + std::to_string(3 * H) + "x" + std::to_string(H) + ", bias " +
                                         std::to_string(3 * H) + " and reset_bias " + std::to_string(H));
            if (sizes.front() != spec.state)
                throw std::runtime_error("layer_sizes starts at " + std::to_string(sizes.front()) + ", but the GRU's state has " +
                                         std::to_string(spec.state) + " values");
        } else if (*kind == NetworkKind::Mlp && sizes.front() != s->observationSpace.dim()) {
            throw std::runtime_error("network input size does not match the observation space");
        }
        if (sizes.back() != s->actionSpace.policyOutputs())
            throw std::runtime_error("network output size does not match the action space");
        const bool discrete = j.at("distribution").get<std::string>() == "categorical";
        if (discrete != s->actionSpace.isDiscrete())
            throw std::runtime_error("distribution does not match the action space");
        // the layers' shapes before θ is allocated: layer_sizes alone (a few bytes) must not
        // make the loader allocate a large network the file does not hold
        const json& layers = j.at("layers");
        const int numLayers = static_cast<int>(sizes.size()) - 1;
        if (!layers.is_array() || static_cast<int>(layers.size()) != numLayers)
            throw std::runtime_error("layers: expected " + std::to_string(numLayers) + " layers");
        for (int l = 0; l < numLayers; ++l) {
            const size_t out = static_cast<size_t>(sizes[l + 1]), in = static_cast<size_t>(sizes[l]);
            const json& w = layers[l].at("weight");
            const json& b = layers[l].at("bias");
            if (!matrixShaped(w, out, in) || !b.is_array() || b.size() != out) throw std::runtime_error("layer " + std::to_string(l) + " has the wrong shape");
        }
        s->policy = Policy(spec, s->actionSpace);
        s->theta = VectorXd::Zero(s->policy.numParams());
        const Mlp& net = s->policy.net().mlp();
        const int headOffset = s->policy.net().headOffset();
        if (s->policy.net().isRecurrent()) {
            const GruNet& gru = s->policy.net().gru();
            const json& g = j.at("gru");
            const int H = gru.hiddenState(), D = gru.inputs(), at = s->policy.net().gruOffset();
            readMatrixRows(g.at("input_weight"), s->theta.data() + at + gru.inputWeightOffset(), 3 * H, D);
            readMatrixRows(g.at("recurrent_weight"), s->theta.data() + at + gru.recurrentWeightOffset(), 3 * H, H);
            readSegment(g.at("bias"), s->theta, at + gru.biasOffset());
            readSegment(g.at("reset_bias"), s->theta, at + gru.resetBiasOffset());
        }
        if (s->policy.net().isConv()) {
            const ConvNet& conv = s->policy.net().conv();
            for (int l = 0; l < conv.numConvLayers(); ++l) {
                const json& layer = j["conv_layers"][l];
                readMatrixRows(layer.at("weight"), s->theta.data() + conv.kernelOffset(l), conv.convLayers()[l].filters,
                               conv.patchSize(l));
                readSegment(layer.at("bias"), s->theta, conv.biasOffset(l));
            }
        }
        for (int l = 0; l < net.numLayers(); ++l) { // shapes checked above
            readMatrixRows(layers[l].at("weight"), s->theta.data() + headOffset + net.weightOffset(l), sizes[l + 1], sizes[l]);
            readSegment(layers[l].at("bias"), s->theta, headOffset + net.biasOffset(l));
        }
        if (!discrete) {
            const auto ls = j.at("log_std").get<std::vector<double>>();
            if (static_cast<int>(ls.size()) != s->policy.outputs()) throw std::runtime_error("log_std has the wrong size");
            for (size_t k = 0; k < ls.size(); ++k) s->theta(s->policy.logStdOffset() + static_cast<int>(k)) = ls[k];
        }
        if (!s->theta.allFinite()) throw std::runtime_error("weights contain non-finite values");
        const json& nj = j.at("obs_normalizer");
        s->normalizer.enabled = nj.at("enabled").get<bool>();
        s->normalizer.clip = nj.at("clip").get<double>();
        const auto mean = nj.at("mean").get<std::vector<double>>();
        const auto var = nj.at("var").get<std::vector<double>>();
        const size_t od = static_cast<size_t>(s->observationSpace.dim());
        if (mean.size() != od || var.size() != od) throw std::runtime_error("normaliser has the wrong size");
        s->normalizer.rms.mean = Eigen::Map<const VectorXd>(mean.data(), od);
        s->normalizer.rms.var = Eigen::Map<const VectorXd>(var.data(), od);
        if (!s->normalizer.rms.mean.allFinite() || (s->normalizer.rms.var.array() < 0).any() || !(s->normalizer.clip > 0))
            throw std::runtime_error("normaliser values are invalid");
        if (j.contains("metadata")) {
            s->iteration = jsonInteger<int>(j["metadata"], "iteration", 0);
            s->envSteps = jsonInteger<std::int64_t>(j["metadata"], "env_steps", 0);
        }
        return s;
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("missing or mistyped field: ") + e.what());
    }
}

} // namespace core
