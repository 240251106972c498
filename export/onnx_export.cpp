#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

namespace exporter {

namespace {

using core::FileError;
using core::PolicyMetadata;
using core::PolicySnapshot;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using json = nlohmann::json;

static_assert(std::endian::native == std::endian::little, "raw_data is written in host byte order");

constexpr const char* kFormatKey = "trpo_studio_format";
constexpr const char* kFormatValue = "policy-onnx-1";
constexpr double kObsEps = 1e-8; // ObsNormalizer's epsilon
constexpr int kMaxLayerSizes = 10, kMaxWidth = core::kMaxLayerWidth;

// ---- JSON pieces of the metadata (same conventions as policy.json) ----------------------

std::vector<double> toStd(const VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// ---- graph building -------------------------------------------------------------------

float toFloat(double v, const char* what) {
    const float f = static_cast<float>(v);
    if (std::isnan(f) || (std::isinf(f) && !std::isinf(v)))
        throw FileError(std::string("cannot export: ") + what + " is not representable as float32");
    return f;
}

// a θ block holding a rows x cols matrix column-major, as ONNX's row-major float32 values
std::vector<float> rowMajorFloats(const double* block, int rows, int cols, const char* what) {
    Eigen::Map<const MatrixXd> M(block, rows, cols);
    std::vector<float> v(static_cast<size_t>(rows) * cols);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) v[static_cast<size_t>(r) * cols + c] = toFloat(M(r, c), what);
    return v;
}
// and back (v holds rows·cols values)
void fromRowMajor(const std::vector<float>& v, double* block, int rows, int cols) {
    Eigen::Map<MatrixXd> M(block, rows, cols);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) M(r, c) = v[static_cast<size_t>(r) * cols + c];
}
// a θ segment as float32 values
std::vector<float> floatsOf(const VectorXd& theta, int offset, int n, const char* what) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int k = 0; k < n; ++k) v[static_cast<size_t>(k)] = toFloat(theta(offset + k), what);
    return v;
}

void addTensor(onnx::GraphProto& g, const std::string& name, const std::vector<std::int64_t>& dims,
               const std::vector<float>& values) {
    onnx::TensorProto* t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

onnx::NodeProto* addNode(onnx::GraphProto& g, const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
}
void addIntAttr(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}
void addIntsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a->add_ints(x);
}
void addInt64Tensor(onnx::GraphProto& g, const std::string& name, const std::vector<std::int64_t>& values) {
    onnx::TensorProto* t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (std::int64_t v : values) t->add_int64_data(v);
}

// a float tensor [batch, dim], or with `stateLayout` ONNX's recurrent state [1, batch, dim]
void addValueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int dim,
                  bool stateLayout = false) {
    onnx::ValueInfoProto* vi = list->Add();
    vi->set_name(name);
    onnx::TypeProto_Tensor* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    if (stateLayout) tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_param("batch");
    tt->mutable_shape()->add_dim()->set_dim_value(dim);
}

void checkSnapshot(const PolicySnapshot& s) {
    const core::Policy& pol = s.policy;
    const core::Mlp& net = pol.net().mlp(); // the MLP, or the CNN's head
    if (net.numLayers() < 1 || net.sizes().size() > static_cast<size_t>(kMaxLayerSizes))
        throw FileError("cannot export: the policy network has no layers or too many");
    for (int v : net.sizes())
        if (v < 1 || v > kMaxWidth) throw FileError("cannot export: a layer size is out of range");
    if (pol.obsDim() != s.observationSpace.dim())
        throw FileError("cannot export: network input size does not match the observation space");
    if (pol.discrete() != s.actionSpace.isDiscrete() || pol.outputs() != s.actionSpace.policyOutputs())
        throw FileError("cannot export: network output does not match the action space");
    if (s.theta.size() != pol.numParams())
        throw FileError("cannot export: θ has " + std::to_string(s.theta.size()) + " entries, the policy needs " +
                        std::to_string(pol.numParams()));
    if (!s.theta.allFinite()) throw FileError("cannot export: θ contains non-finite values");
    if (!s.actionSpace.isDiscrete()) {
        for (int k = 0; k < s.actionSpace.dim(); ++k)
            if (std::isnan(s.actionSpace.low[k]) || std::isnan(s.actionSpace.high[k]) ||
                s.actionSpace.low[k] > s.actionSpace.high[k])
                throw FileError("cannot export: action bounds are invalid");
    }
    if (s.normalizer.enabled) {
        const auto& rms = s.normalizer.rms;
        if (rms.mean.size() != pol.obsDim() || rms.var.size() != pol.obsDim())
            throw FileError("cannot export: the observation normaliser has the wrong size");
        if (!rms.mean.allFinite() || !rms.var.allFinite() || (rms.var.array() < 0).any() ||
            !(s.normalizer.clip > 0) || !std::isfinite(s.normalizer.clip))
            throw FileError("cannot export: the observation normaliser holds invalid values");
    }
}

json normalizerJson(const PolicySnapshot& s) {
    const int od = s.policy.obsDim();
    const VectorXd mean = s.normalizer.enabled ? s.normalizer.rms.mean : VectorXd::Zero(od);
    const VectorXd var = s.normalizer.enabled ? s.normalizer.rms.var : VectorXd::Ones(od);
    return {{"enabled", s.normalizer.enabled},
            {"mean", toStd(mean)},
            {"var", toStd(var)},
            {"epsilon", kObsEps},
            {"clip", s.normalizer.clip}};
}

void addMeta(onnx::ModelProto& m, const std::string& key, const std::string& value) {
    onnx::StringStringEntryProto* e = m.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
}

// the whole model; the snapshot must have passed checkSnapshot()
onnx::ModelProto buildModel(const PolicySnapshot& s, const PolicyMetadata& meta) {
    const core::Network& network = s.policy.net();
    const core::Mlp& net = network.mlp(); // the MLP, or the CNN's or the GRU's head
    // the head's θ: from the start for an MLP, after the conv layers or the GRU otherwise
    const int headOffset = network.headOffset();
    const bool discrete = s.policy.discrete();
    const int od = network.inputs(), nOut = network.outputs();

    onnx::ModelProto model;
    model.set_ir_version(kOnnxIrVersion);
    model.set_producer_name(kOnnxProducer);
    model.set_producer_version(TRPO_VERSION);
    model.set_domain("org.trpo-studio");
    model.set_model_version(1);
    model.set_doc_string("TRPO policy for " + s.envId);
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);

    onnx::GraphProto& g = *model.mutable_graph();
    g.set_name("trpo_policy");
    addValueInfo(g.mutable_input(), "obs", od);
    if (network.isRecurrent()) addValueInfo(g.mutable_input(), "h_in", network.stateSize(), true);

    std::string x = "obs";
    if (s.normalizer.enabled) {
        std::vector<float> mean(od), sd(od);
        for (int i = 0; i < od; ++i) {
            mean[i] = toFloat(s.normalizer.rms.mean(i), "the observation mean");
            sd[i] = toFloat(std::sqrt(s.normalizer.rms.var(i) + kObsEps), "the observation std");
        }
        const float c = toFloat(s.normalizer.clip, "the observation clip");
        addTensor(g, "obs_mean", {od}, mean);
        addTensor(g, "obs_std", {od}, sd);
        addTensor(g, "obs_clip_min", {}, {-c});
        addTensor(g, "obs_clip_max", {}, {c});
        addNode(g, "Sub", "obs_norm/sub", {"obs", "obs_mean"}, "obs_centered");
        addNode(g, "Div", "obs_norm/div", {"obs_centered", "obs_std"}, "obs_scaled");
        addNode(g, "Clip", "obs_norm/clip", {"obs_scaled", "obs_clip_min", "obs_clip_max"}, "obs_normalized");
        x = "obs_normalized";
    }

    if (network.isConv()) {
        // the observation as images (N x C x H x W: the channel-first layout of core/conv.h),
        // each layer a Conv (no padding: VALID) and a Relu, then the maps flattened (f, y, x)
        // in the order the head reads them
        const core::ConvNet& conv = network.conv();
        const core::ImageShape im = conv.shape(0);
        addInt64Tensor(g, "image_shape", {-1, im.channels, im.height, im.width});
        addNode(g, "Reshape", "image/reshape", {x, "image_shape"}, "image");
        x = "image";
        for (int l = 0; l < conv.numConvLayers(); ++l) {
            const core::ConvLayerSpec& c = conv.convLayers()[l];
            const int k = conv.patchSize(l);
            // θ holds the kernels as an F x (C·k·k) column-major matrix, column (c·k + i)·k + j:
            // row-major, that is ONNX's F x C x k x k
            const std::string p = "conv" + std::to_string(l);
            addTensor(g, p + ".weight", {c.filters, conv.shape(l).channels, c.kernel, c.kernel},
                      rowMajorFloats(s.theta.data() + conv.kernelOffset(l), c.filters, k, "a kernel weight"));
            addTensor(g, p + ".bias", {c.filters}, floatsOf(s.theta, conv.biasOffset(l), c.filters, "a kernel bias"));
            onnx::NodeProto* n = addNode(g, "Conv", p + "/conv", {x, p + ".weight", p + ".bias"}, p + "/conv");
            addIntsAttr(n, "kernel_shape", {c.kernel, c.kernel});
            addIntsAttr(n, "strides", {c.stride, c.stride});
            x = p + "/relu";
            addNode(g, "Relu", x, {p + "/conv"}, x);
        }
        addIntAttr(addNode(g, "Flatten", "features/flatten", {x}, "features"), "axis", 1);
        x = "features";
    }

    if (network.isRecurrent()) {
        // one step of ONNX's GRU (linear_before_reset = 1, gates z, r, n: θ's own layout,
        // docs/algorithm.md §12) over the batch as a sequence of length 1 from h_in; its
        // state h_out is an output, to feed back as the next step's h_in, and the head's input
        const core::GruNet& gru = network.gru();
        const int H = gru.hiddenState(), D = gru.inputs(), at = network.gruOffset();
        // B = [W's biases (z, r, n); R's biases (0, 0, c_n)]
        std::vector<float> bias = floatsOf(s.theta, at + gru.biasOffset(), 3 * H, "a GRU bias");
        bias.resize(static_cast<size_t>(5 * H), 0.0f);
        const std::vector<float> cn = floatsOf(s.theta, at + gru.resetBiasOffset(), H, "a GRU bias");
        bias.insert(bias.end(), cn.begin(), cn.end());
        addTensor(g, "gru.W", {1, 3 * H, D},
                  rowMajorFloats(s.theta.data() + at + gru.inputWeightOffset(), 3 * H, D, "a GRU weight"));
        addTensor(g, "gru.R", {1, 3 * H, H},
                  rowMajorFloats(s.theta.data() + at + gru.recurrentWeightOffset(), 3 * H, H, "a GRU weight"));
        addTensor(g, "gru.B", {1, 6 * H}, bias);
        addInt64Tensor(g, "gru/axes", {0});
        addNode(g, "Unsqueeze", "gru/unsqueeze", {x, "gru/axes"}, "gru/x");
        onnx::NodeProto* n = addNode(g, "GRU", "gru/gru", {"gru/x", "gru.W", "gru.R", "gru.B", "", "h_in"}, "");
        n->add_output("h_out");
        addIntAttr(n, "hidden_size", H);
        addIntAttr(n, "linear_before_reset", 1);
        addNode(g, "Squeeze", "gru/squeeze", {"h_out", "gru/axes"}, "gru/h");
        x = "gru/h";
    }

    const std::string outName = discrete ? "logits" : "action_mean";
    for (int l = 0; l < net.numLayers(); ++l) {
        const int out = net.sizes()[l + 1], in = net.sizes()[l];
        const std::string p = "layer" + std::to_string(l);
        addTensor(g, p + ".weight", {out, in},
                  rowMajorFloats(s.theta.data() + headOffset + net.weightOffset(l), out, in, "a weight"));
        addTensor(g, p + ".bias", {out}, floatsOf(s.theta, headOffset + net.biasOffset(l), out, "a bias"));
        const bool last = l + 1 == net.numLayers();
        const std::string y = last ? outName : p + "/gemm";
        onnx::NodeProto* gemm = addNode(g, "Gemm", p + "/gemm", {x, p + ".weight", p + ".bias"}, y);
        addIntAttr(gemm, "transB", 1);
        x = y;
        if (!last) {
            const bool tanh = net.activation() == core::Activation::Tanh;
            x = p + (tanh ? "/tanh" : "/relu");
            addNode(g, tanh ? "Tanh" : "Relu", x, {y}, x);
        }
    }

    addValueInfo(g.mutable_output(), outName, nOut);
    if (discrete) {
        addIntAttr(addNode(g, "Softmax", "softmax", {"logits"}, "probabilities"), "axis", 1);
        addValueInfo(g.mutable_output(), "probabilities", nOut);
    } else {
        const auto& lo = s.actionSpace.low;
        const auto& hi = s.actionSpace.high;
        const bool uniform = std::all_of(lo.begin(), lo.end(), [&](double v) { return v == lo[0]; }) &&
                             std::all_of(hi.begin(), hi.end(), [&](double v) { return v == hi[0]; });
        if (uniform) {
            addTensor(g, "action_low", {}, {static_cast<float>(lo[0])});
            addTensor(g, "action_high", {}, {static_cast<float>(hi[0])});
            addNode(g, "Clip", "action_clip", {"action_mean", "action_low", "action_high"}, "action");
        } else {
            std::vector<float> l(nOut), h(nOut);
            for (int k = 0; k < nOut; ++k) {
                l[k] = static_cast<float>(lo[k]);
                h[k] = static_cast<float>(hi[k]);
            }
            addTensor(g, "action_low", {nOut}, l);
            addTensor(g, "action_high", {nOut}, h);
            addNode(g, "Max", "action_clip/max", {"action_mean", "action_low"}, "action_above_low");
            addNode(g, "Min", "action_clip/min", {"action_above_low", "action_high"}, "action");
        }
        addValueInfo(g.mutable_output(), "action", nOut);
    }
    if (network.isRecurrent()) addValueInfo(g.mutable_output(), "h_out", network.stateSize(), true);

    // metadata
    addMeta(model, kFormatKey, kFormatValue);
    addMeta(model, "env_id", s.envId);
    addMeta(model, "observation_space", core::spaceToJson(s.observationSpace).dump());
    addMeta(model, "action_space", core::spaceToJson(s.actionSpace).dump());
    addMeta(model, "algorithm", "TRPO");
    json dh = json::array();
    for (const auto& [it, d] : meta.deltaHistory) dh.push_back({{"iteration", it}, {"delta", d}});
    addMeta(model, "delta_history", dh.dump());
    addMeta(model, "seed", std::to_string(meta.seed));
    addMeta(model, "iteration", std::to_string(s.iteration));
    addMeta(model, "env_steps", std::to_string(s.envSteps));
    addMeta(model, "studio_version", TRPO_VERSION);
    addMeta(model, "distribution", discrete ? "categorical" : "diagonal_gaussian");
    addMeta(model, "activation", net.activation() == core::Activation::Tanh ? "tanh" : "relu");
    // an MLP's model has no such entries (as before CNN policies existed)
    if (network.kind() != core::NetworkKind::Mlp) addMeta(model, "network", core::networkName(network.kind()));
    if (network.isConv()) {
        const core::ConvNet& conv = network.conv();
        const core::ImageShape im = conv.shape(0);
        addMeta(model, "image", json{{"channels", im.channels}, {"height", im.height}, {"width", im.width}}.dump());
        json cl = json::array();
        for (const core::ConvLayerSpec& c : conv.convLayers())
            cl.push_back({{"filters", c.filters}, {"kernel", c.kernel}, {"stride", c.stride}});
        addMeta(model, "conv_layers", cl.dump());
    }
    if (network.isRecurrent()) addMeta(model, "gru_hidden_size", std::to_string(network.stateSize()));
    addMeta(model, "layer_sizes", json(net.sizes()).dump());
    if (!discrete) addMeta(model, "log_std", json(toStd(s.theta.tail(nOut))).dump());
    addMeta(model, "obs_normalizer", normalizerJson(s).dump());
    const std::string extra = meta.extraJson.empty() ? "{}" : meta.extraJson;
    addMeta(model, "extra", extra);
    return model;
}

// ---- reading --------------------------------------------------------------------------

std::vector<float> tensorFloats(const onnx::TensorProto& t) {
    if (t.data_type() != onnx::TensorProto::FLOAT)
        throw std::runtime_error("initializer '" + t.name() + "' is not float32");
    if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
        throw std::runtime_error("initializer '" + t.name() + "' uses external data");
    std::int64_t n = 1;
    for (auto d : t.dims()) {
        if (d < 0 || d > (std::int64_t{1} << 26)) throw std::runtime_error("initializer '" + t.name() + "' has bad dims");
        n *= d;
        if (n > (std::int64_t{1} << 26)) throw std::runtime_error("initializer '" + t.name() + "' is too large");
    }
    // the data's size against the dims before the buffer: dims alone must not allocate
    const size_t count = static_cast<size_t>(n);
    if (t.has_raw_data()) {
        if (t.raw_data().size() != count * sizeof(float))
            throw std::runtime_error("initializer '" + t.name() + "' has " + std::to_string(t.raw_data().size()) +
                                     " bytes of data, its dims need " + std::to_string(count * sizeof(float)));
    } else if (t.float_data_size() != n) {
        throw std::runtime_error("initializer '" + t.name() + "' has the wrong amount of data");
    }
    std::vector<float> v(count);
    if (t.has_raw_data()) {
        if (!v.empty()) std::memcpy(v.data(), t.raw_data().data(), count * sizeof(float));
    } else {
        for (int i = 0; i < t.float_data_size(); ++i) v[static_cast<size_t>(i)] = t.float_data(i);
    }
    return v;
}

template <typename T>
T parseInteger(const std::string& text, const char* what) {
    T v{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        throw std::runtime_error(std::string("metadata '") + what + "' is not an integer: '" + text.substr(0, 40) + "'");
    return v;
}

json parseJsonMeta(const std::string& text, const char* what) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("metadata '") + what + "' is not valid JSON");
    }
}

std::string serialized(const google::protobuf::Message& m) {
    std::string s;
    m.SerializeToString(&s);
    return s;
}

// metadata keys whose values define the snapshot; covered by the checksum together with
// every initializer's values
const char* const kChecksummedKeys[] = {kFormatKey,   "env_id",     "observation_space", "action_space",
                                        "delta_history", "seed",     "iteration",         "env_steps",
                                        "distribution",  "activation", "layer_sizes",     "log_std",
                                        "obs_normalizer", "extra"};
// a CNN policy's keys, covered when present (an MLP's model has none, so its checksum is what
// it was before CNN policies existed)
const char* const kCnnChecksummedKeys[] = {"network", "image", "conv_layers"};
constexpr const char* kChecksumKey = "content_fnv1a64";

std::string contentChecksum(const onnx::ModelProto& m) {
    std::string buf;
    for (const auto& t : m.graph().initializer()) {
        if (t.data_type() == onnx::TensorProto::INT64) { // a CNN's image_shape
            buf += t.name();
            buf.push_back('\0');
            for (const std::int64_t v : t.int64_data()) buf.append(reinterpret_cast<const char*>(&v), sizeof v);
            continue;
        }
        const std::vector<float> v = tensorFloats(t);
        buf += t.name();
        buf.push_back('\0');
        buf.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
    for (const char* key : kChecksummedKeys) {
        buf += key;
        buf.push_back('\0');
        for (const auto& e : m.metadata_props())
            if (e.key() == key) {
                buf += e.value();
                buf.push_back('\0');
            }
    }
    for (const char* key : kCnnChecksummedKeys)
        for (const auto& e : m.metadata_props())
            if (e.key() == key) {
                buf += key;
                buf.push_back('\0');
                buf += e.value();
                buf.push_back('\0');
            }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(core::fnv1a64(reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size())));
    return hex;
}

} // namespace

std::string policyToOnnx(const PolicySnapshot& s, const PolicyMetadata& meta) {
    checkSnapshot(s);
    {
        json extra;
        try {
            extra = json::parse(meta.extraJson.empty() ? "{}" : meta.extraJson);
        } catch (const json::exception&) {
            throw FileError("cannot export: the extra metadata is not valid JSON");
        }
        if (!extra.is_object()) throw FileError("cannot export: the extra metadata is not a JSON object");
    }
    onnx::ModelProto model = buildModel(s, meta);
    addMeta(model, kChecksumKey, contentChecksum(model));
    try {
        onnx::checker::check_model(model);
    } catch (const std::exception& e) {
        throw FileError(std::string("the exported ONNX model failed the ONNX checker: ") + e.what());
    }
    if (model.ByteSizeLong() > static_cast<size_t>(INT_MAX)) throw FileError("the ONNX model would exceed 2 GB");
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw FileError("could not serialize the ONNX model");
    return bytes;
}

void writePolicyOnnx(const PolicySnapshot& s, const PolicyMetadata& meta, const std::filesystem::path& p) {
    std::string bytes;
    try {
        bytes = policyToOnnx(s, meta);
    } catch (const FileError& e) {
        throw FileError(p.string() + ": " + e.what());
    }
    core::writeFileAtomic(p, bytes);
}

core::SnapshotPtr policyFromOnnx(const std::string& bytes, PolicyMetadata* metaOut) {
    if (bytes.empty()) throw std::runtime_error("the ONNX file is empty");
    if (bytes.size() > static_cast<size_t>(INT_MAX)) throw std::runtime_error("the ONNX file is larger than 2 GB");
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes))
        throw std::runtime_error("not an ONNX model (the protobuf data is truncated or corrupt)");
    if (model.producer_name() != kOnnxProducer)
        throw std::runtime_error("not a TRPO Studio policy: the model was produced by '" +
                                 model.producer_name().substr(0, 60) + "'");
    std::map<std::string, std::string> md;
    for (const auto& e : model.metadata_props()) md[e.key()] = e.value();
    auto get = [&](const char* key) -> const std::string& {
        auto it = md.find(key);
        if (it == md.end()) throw std::runtime_error(std::string("metadata '") + key + "' is missing");
        return it->second;
    };
    if (get(kFormatKey) != kFormatValue)
        throw std::runtime_error("unsupported TRPO Studio ONNX format '" + get(kFormatKey).substr(0, 40) + "' (expected " +
                                 kFormatValue + ")");
    if (get(kChecksumKey) != contentChecksum(model))
        throw std::runtime_error("checksum mismatch: the weights or metadata are corrupted");
    bool opsetOk = false;
    for (const auto& o : model.opset_import())
        if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() == kOnnxOpset) opsetOk = true;
    if (!opsetOk) throw std::runtime_error("the model does not import opset " + std::to_string(kOnnxOpset));

    auto s = std::make_shared<PolicySnapshot>();
    PolicyMetadata meta;
    try {
        s->envId = get("env_id");
        s->observationSpace = core::spaceFromJson(parseJsonMeta(get("observation_space"), "observation_space"));
        s->actionSpace = core::spaceFromJson(parseJsonMeta(get("action_space"), "action_space"));
        const std::string act = get("activation");
        if (act != "tanh" && act != "relu") throw std::runtime_error("unknown activation '" + act.substr(0, 40) + "'");
        const std::string dist = get("distribution");
        if (dist != "categorical" && dist != "diagonal_gaussian")
            throw std::runtime_error("unknown distribution '" + dist.substr(0, 40) + "'");
        const bool discrete = dist == "categorical";
        if (discrete != s->actionSpace.isDiscrete()) throw std::runtime_error("distribution does not match the action space");
        const auto sizes = core::jsonIntegers(parseJsonMeta(get("layer_sizes"), "layer_sizes"));
        if (sizes.size() < 2 || sizes.size() > static_cast<size_t>(kMaxLayerSizes))
            throw std::runtime_error("layer_sizes must list 2 to 10 sizes");
        for (int v : sizes)
            if (v < 1 || v > kMaxWidth) throw std::runtime_error("a layer size is out of range");
        // models without "network" (all MLPs, as every model before CNN policies) hold an MLP
        core::NetworkSpec spec{core::NetworkKind::Mlp, s->observationSpace.dim(), {}, {},
                               std::vector<int>(sizes.begin() + 1, sizes.end() - 1),
                               act == "tanh" ? core::Activation::Tanh : core::Activation::Relu};
        const auto kindEntry = md.find("network");
        const std::string kindText = kindEntry == md.end() ? "mlp" : kindEntry->second;
        const std::optional<core::NetworkKind> kind = core::networkFromName(kindText);
        if (!kind)
            throw std::runtime_error("unknown network '" + kindText.substr(0, 40) +
                                     "' (expected cnn, gru or cnn_gru, or no entry for an MLP)");
        spec.kind = *kind;
        const bool conv = core::hasConvLayers(*kind), recurrent = core::isRecurrentNetwork(*kind);
        int gruInputs = s->observationSpace.dim(); // the GRU reads the observation or the conv features
        if (recurrent) {
            spec.state = parseInteger<int>(get("gru_hidden_size"), "gru_hidden_size");
            if (spec.state < 1 || spec.state > kMaxWidth) throw std::runtime_error("gru_hidden_size is out of range");
            if (sizes.front() != spec.state)
                throw std::runtime_error("layer_sizes does not start at the GRU's " + std::to_string(spec.state) + " states");
        }
        if (conv) {
            const json im = parseJsonMeta(get("image"), "image");
            spec.image = {core::jsonInteger<int>(im.at("channels")), core::jsonInteger<int>(im.at("height")),
                          core::jsonInteger<int>(im.at("width"))};
            if (spec.image.channels < 1 || spec.image.height < 1 || spec.image.width < 1 || spec.image.channels > kMaxWidth ||
                spec.image.height > kMaxWidth || spec.image.width > kMaxWidth ||
                static_cast<long long>(spec.image.channels) * spec.image.height * spec.image.width != s->observationSpace.dim())
                throw std::runtime_error("image: channels x height x width must be positive and equal the observation size");
            const json cl = parseJsonMeta(get("conv_layers"), "conv_layers");
            if (!cl.is_array() || cl.empty() || cl.size() > 8) throw std::runtime_error("conv_layers must list 1 to 8 layers");
            core::ImageShape in = spec.image;
            for (size_t l = 0; l < cl.size(); ++l) {
                const core::ConvLayerSpec c{core::jsonInteger<int>(cl[l].at("filters")), core::jsonInteger<int>(cl[l].at("kernel")),
                                            core::jsonInteger<int>(cl[l].at("stride"))};
                const std::string name = "conv layer " + std::to_string(l + 1);
                if (c.filters < 1 || c.filters > 256 || c.kernel < 1 || c.kernel > 64 || c.stride < 1 || c.stride > 64)
                    throw std::runtime_error(name + ": filters (1 to 256), kernel and stride (1 to 64) are out of range");
                if (c.kernel > in.height || c.kernel > in.width)
                    throw std::runtime_error(name + ": its kernel does not fit its input");
                spec.conv.push_back(c);
                in = {c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1};
            }
            if (!recurrent && sizes.front() != in.size())
                throw std::runtime_error("layer_sizes does not start at the conv layers' " + std::to_string(in.size()) + " features");
            gruInputs = in.size();
        } else if (!recurrent && sizes.front() != s->observationSpace.dim()) {
            throw std::runtime_error("network input size does not match the observation space");
        }
        if (sizes.back() != s->actionSpace.policyOutputs())
            throw std::runtime_error("network output size does not match the action space");
        // the weight initializers and their shapes before θ is allocated: layer_sizes alone (a
        // few bytes of metadata) must not make the loader allocate a large network
        std::map<std::string, const onnx::TensorProto*> inits;
        for (const auto& t : model.graph().initializer())
            if (!inits.emplace(t.name(), &t).second)
                throw std::runtime_error("initializer '" + t.name().substr(0, 60) + "' appears twice");
        auto values = [](const onnx::TensorProto& t) {
            return t.has_raw_data() ? t.raw_data().size() / sizeof(float) : static_cast<size_t>(t.float_data_size());
        };
        {
            core::ImageShape in = spec.image;
            for (size_t l = 0; l < spec.conv.size(); ++l) {
                const core::ConvLayerSpec& c = spec.conv[l];
                const std::string p = "conv" + std::to_string(l);
                auto wi = inits.find(p + ".weight"), bi = inits.find(p + ".bias");
                if (wi == inits.end() || bi == inits.end()) throw std::runtime_error("initializers of " + p + " are missing");
                const onnx::TensorProto& w = *wi->second;
                const onnx::TensorProto& b = *bi->second;
                const size_t count = static_cast<size_t>(c.filters) * in.channels * c.kernel * c.kernel;
                if (w.dims_size() != 4 || w.dims(0) != c.filters || w.dims(1) != in.channels || w.dims(2) != c.kernel ||
                    w.dims(3) != c.kernel || b.dims_size() != 1 || b.dims(0) != c.filters ||
                    values(w) != count || values(b) != static_cast<size_t>(c.filters))
                    throw std::runtime_error(p + " has the wrong shape for conv_layers");
                in = {c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1};
            }
        }
        if (recurrent) {
            const std::int64_t H = spec.state, D = gruInputs;
            const std::pair<const char*, std::vector<std::int64_t>> shapes[] = {
                {"gru.W", {1, 3 * H, D}}, {"gru.R", {1, 3 * H, H}}, {"gru.B", {1, 6 * H}}};
            for (const auto& [name, dims] : shapes) {
                auto it = inits.find(name);
                if (it == inits.end()) throw std::runtime_error(std::string("initializer ") + name + " is missing");
                std::int64_t count = 1;
                bool ok = it->second->dims_size() == static_cast<int>(dims.size());
                for (size_t d = 0; ok && d < dims.size(); ++d) {
                    ok = it->second->dims(static_cast<int>(d)) == dims[d];
                    count *= dims[d];
                }
                if (!ok || values(*it->second) != static_cast<size_t>(count))
                    throw std::runtime_error(std::string(name) + " has the wrong shape for gru_hidden_size");
            }
        }
        for (size_t l = 0; l + 1 < sizes.size(); ++l) {
            const std::string p = "layer" + std::to_string(l);
            auto wi = inits.find(p + ".weight"), bi = inits.find(p + ".bias");
            if (wi == inits.end() || bi == inits.end()) throw std::runtime_error("initializers of " + p + " are missing");
            if (wi->second->dims_size() != 2 || wi->second->dims(0) != sizes[l + 1] || wi->second->dims(1) != sizes[l] ||
                bi->second->dims_size() != 1 || bi->second->dims(0) != sizes[l + 1])
                throw std::runtime_error(p + " has the wrong shape for layer_sizes");
            if (values(*wi->second) != static_cast<size_t>(sizes[l + 1]) * static_cast<size_t>(sizes[l]) ||
                values(*bi->second) != static_cast<size_t>(sizes[l + 1]))
                throw std::runtime_error(p + " has the wrong amount of data for layer_sizes");
        }
        s->policy = core::Policy(spec, s->actionSpace);
        s->theta = VectorXd::Zero(s->policy.numParams());

        // weights from the initializers
        const core::Mlp& net = s->policy.net().mlp();
        const int headOffset = s->policy.net().headOffset();
        if (s->policy.net().isRecurrent()) { // back from ONNX's row-major [1, 3H, ·] and B
            const core::GruNet& gru = s->policy.net().gru();
            const int H = gru.hiddenState(), D = gru.inputs(), at = s->policy.net().gruOffset();
            fromRowMajor(tensorFloats(*inits.at("gru.W")), s->theta.data() + at + gru.inputWeightOffset(), 3 * H, D);
            fromRowMajor(tensorFloats(*inits.at("gru.R")), s->theta.data() + at + gru.recurrentWeightOffset(), 3 * H, H);
            const std::vector<float> b = tensorFloats(*inits.at("gru.B"));
            for (int k = 0; k < 3 * H; ++k) s->theta(at + gru.biasOffset() + k) = b[static_cast<size_t>(k)];
            for (int k = 0; k < H; ++k) s->theta(at + gru.resetBiasOffset() + k) = b[static_cast<size_t>(5 * H + k)];
            for (int k = 3 * H; k < 5 * H; ++k)
                if (b[static_cast<size_t>(k)] != 0.0f)
                    throw std::runtime_error("gru.B: the recurrent biases of z and r must be zero (the policy has none)");
        }
        if (s->policy.net().isConv()) {
            const core::ConvNet& conv = s->policy.net().conv();
            for (int l = 0; l < conv.numConvLayers(); ++l) {
                const std::string p = "conv" + std::to_string(l);
                const std::vector<float> w = tensorFloats(*inits.at(p + ".weight")), b = tensorFloats(*inits.at(p + ".bias"));
                const int f = conv.convLayers()[l].filters, k = conv.patchSize(l);
                if (w.size() != static_cast<size_t>(f) * k || b.size() != static_cast<size_t>(f))
                    throw std::runtime_error(p + " has the wrong shape for conv_layers");
                fromRowMajor(w, s->theta.data() + conv.kernelOffset(l), f, k);
                for (int r = 0; r < f; ++r) s->theta(conv.biasOffset(l) + r) = b[static_cast<size_t>(r)];
            }
        }
        for (int l = 0; l < net.numLayers(); ++l) {
            const int out = sizes[l + 1], in = sizes[l];
            const std::string p = "layer" + std::to_string(l);
            auto wi = inits.find(p + ".weight"), bi = inits.find(p + ".bias");
            if (wi == inits.end() || bi == inits.end()) throw std::runtime_error("initializers of " + p + " are missing");
            const std::vector<float> w = tensorFloats(*wi->second), b = tensorFloats(*bi->second);
            if (wi->second->dims_size() != 2 || wi->second->dims(0) != out || wi->second->dims(1) != in ||
                bi->second->dims_size() != 1 || bi->second->dims(0) != out)
                throw std::runtime_error(p + " has the wrong shape for layer_sizes");
            fromRowMajor(w, s->theta.data() + headOffset + net.weightOffset(l), out, in);
            for (int r = 0; r < out; ++r) s->theta(headOffset + net.biasOffset(l) + r) = b[static_cast<size_t>(r)];
        }
        if (!discrete) {
            const auto ls = parseJsonMeta(get("log_std"), "log_std").get<std::vector<double>>();
            if (static_cast<int>(ls.size()) != s->policy.outputs()) throw std::runtime_error("log_std has the wrong size");
            for (size_t k = 0; k < ls.size(); ++k) s->theta(s->policy.logStdOffset() + static_cast<int>(k)) = ls[k];
        }
        if (!s->theta.allFinite()) throw std::runtime_error("weights contain non-finite values");

        const json nj = parseJsonMeta(get("obs_normalizer"), "obs_normalizer");
        s->normalizer.enabled = nj.at("enabled").get<bool>();
        s->normalizer.clip = nj.at("clip").get<double>();
        const auto mean = nj.at("mean").get<std::vector<double>>();
        const auto var = nj.at("var").get<std::vector<double>>();
        const size_t od = static_cast<size_t>(s->observationSpace.dim());
        if (mean.size() != od || var.size() != od) throw std::runtime_error("obs_normalizer has the wrong size");
        s->normalizer.rms.mean = Eigen::Map<const VectorXd>(mean.data(), static_cast<Eigen::Index>(od));
        s->normalizer.rms.var = Eigen::Map<const VectorXd>(var.data(), static_cast<Eigen::Index>(od));
        if (!s->normalizer.rms.mean.allFinite() || !s->normalizer.rms.var.allFinite() ||
            (s->normalizer.rms.var.array() < 0).any() || !(s->normalizer.clip > 0) || !std::isfinite(s->normalizer.clip))
            throw std::runtime_error("obs_normalizer holds invalid values");

        s->iteration = parseInteger<int>(get("iteration"), "iteration");
        s->envSteps = parseInteger<std::int64_t>(get("env_steps"), "env_steps");
        meta.seed = parseInteger<std::uint64_t>(get("seed"), "seed");
        const json dh = parseJsonMeta(get("delta_history"), "delta_history");
        if (!dh.is_array()) throw std::runtime_error("metadata 'delta_history' is not an array");
        for (const auto& e : dh) meta.deltaHistory.emplace_back(core::jsonInteger<int>(e.at("iteration")), e.at("delta").get<double>());
        const json extra = parseJsonMeta(get("extra"), "extra");
        if (!extra.is_object()) throw std::runtime_error("metadata 'extra' is not a JSON object");
        meta.extraJson = extra.dump();
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("metadata has a missing or mistyped field: ") + e.what());
    }

    // the graph must be exactly the one this exporter writes for these parameters
    onnx::ModelProto expect;
    try {
        checkSnapshot(*s);
        expect = buildModel(*s, meta);
    } catch (const FileError& e) {
        throw std::runtime_error(std::string("inconsistent policy model: ") + e.what());
    }
    const onnx::GraphProto& g = model.graph();
    const onnx::GraphProto& eg = expect.graph();
    if (g.node_size() != eg.node_size()) throw std::runtime_error("the graph's nodes are not those of a TRPO Studio policy");
    for (int i = 0; i < g.node_size(); ++i)
        if (serialized(g.node(i)) != serialized(eg.node(i)))
            throw std::runtime_error("graph node " + std::to_string(i) + " ('" + g.node(i).name().substr(0, 60) +
                                     "') is not what the exporter writes");
    if (g.input_size() != eg.input_size() || g.output_size() != eg.output_size())
        throw std::runtime_error("the graph's inputs or outputs are not those of a TRPO Studio policy");
    for (int i = 0; i < g.input_size(); ++i)
        if (serialized(g.input(i)) != serialized(eg.input(i))) throw std::runtime_error("graph input '" + g.input(i).name().substr(0, 60) + "' differs");
    for (int i = 0; i < g.output_size(); ++i)
        if (serialized(g.output(i)) != serialized(eg.output(i))) throw std::runtime_error("graph output '" + g.output(i).name().substr(0, 60) + "' differs");
    if (g.initializer_size() != eg.initializer_size()) throw std::runtime_error("the graph has unexpected initializers");
    for (const auto& et : eg.initializer()) {
        const onnx::TensorProto* t = nullptr;
        for (const auto& c : g.initializer())
            if (c.name() == et.name()) t = &c;
        if (!t) throw std::runtime_error("initializer '" + et.name() + "' is missing");
        bool same = t->dims_size() == et.dims_size();
        for (int k = 0; same && k < t->dims_size(); ++k) same = t->dims(k) == et.dims(k);
        if (et.data_type() == onnx::TensorProto::INT64) { // a CNN's image_shape
            if (!same || serialized(*t) != serialized(et))
                throw std::runtime_error("initializer '" + et.name() + "' does not match the metadata");
        } else if (!same || tensorFloats(*t) != tensorFloats(et))
            throw std::runtime_error("initializer '" + et.name() + "' does not match the metadata");
    }
    if (metaOut) *metaOut = meta;
    return s;
}

core::SnapshotPtr readPolicyOnnx(const std::filesystem::path& p, PolicyMetadata* meta) {
    const std::vector<std::uint8_t> bytes = core::readFileBytes(p);
    try {
        return policyFromOnnx(std::string(bytes.begin(), bytes.end()), meta);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(p.string() + ": " + e.what());
    }
}

std::string resealPolicyOnnx(const std::string& bytes) {
    if (bytes.size() > static_cast<size_t>(INT_MAX)) return bytes;
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes)) return bytes;
    std::string checksum;
    try {
        checksum = contentChecksum(model);
    } catch (const std::exception&) {
        return bytes;
    }
    bool found = false;
    for (auto& e : *model.mutable_metadata_props())
        if (e.key() == kChecksumKey) {
            e.set_value(checksum);
            found = true;
        }
    if (!found) return bytes;
    std::string out;
    if (!model.SerializeToString(&out)) return bytes;
    return out;
}

} // namespace exporter
