#include "core/network.h"

#include <algorithm>
#include <stdexcept>

namespace core {

NetworkSpec networkSpec(const TrpoConfig& cfg, const EnvSpec& env, const std::vector<int>& hidden) {
    NetworkSpec s;
    s.kind = cfg.network;
    s.inputs = env.observation.dim();
    s.hidden = hidden;
    s.act = cfg.activation;
    if (hasConvLayers(cfg.network)) {
        if (!env.image)
            throw ConfigError(std::string("network = ") + networkName(cfg.network) + " needs an image observation, and " + env.id +
                              "'s observation is a vector (use network = " + (isRecurrentNetwork(cfg.network) ? "gru" : "mlp") +
                              ", or a pixel environment such as CubeCrash-v0)");
        s.image = *env.image;
        s.conv = cfg.convLayers;
        ImageShape in = s.image;
        for (size_t l = 0; l < s.conv.size(); ++l) {
            const ConvLayerSpec& c = s.conv[l];
            if (c.kernel > in.height || c.kernel > in.width)
                throw ConfigError("conv_layers: layer " + std::to_string(l + 1) + "'s " + std::to_string(c.kernel) + "x" +
                                  std::to_string(c.kernel) + " kernel does not fit the " + std::to_string(in.height) + "x" +
                                  std::to_string(in.width) + " image it reads (" + env.id + "'s observation is " +
                                  std::to_string(s.image.channels) + " channels of " + std::to_string(s.image.height) + "x" +
                                  std::to_string(s.image.width) + ")");
            in = {c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1};
        }
    }
    if (isRecurrentNetwork(cfg.network)) s.state = cfg.gruState;
    return s;
}

NetworkSpec criticSpec(const TrpoConfig& cfg, const EnvSpec& env) {
    NetworkSpec s = networkSpec(cfg, env, cfg.valueHidden);
    if (isRecurrentNetwork(s.kind) && !cfg.gruCritic) { // the critic reads the observation alone
        s.kind = s.kind == NetworkKind::CnnGru ? NetworkKind::Cnn : NetworkKind::Mlp;
        s.state = 0;
    }
    return s;
}

void checkNetwork(const TrpoConfig& cfg, const EnvSpec& env) { (void)networkSpec(cfg, env, cfg.hidden); }

template <typename Scalar>
BasicNetwork<Scalar>::BasicNetwork(const NetworkSpec& spec, int outputs) : m_kind(spec.kind) {
    std::vector<int> sizes = spec.hidden;
    sizes.push_back(outputs);
    if (isConv() && spec.image.size() != spec.inputs)
        throw std::invalid_argument("Network: the image holds " + std::to_string(spec.image.size()) +
                                    " values, the observation " + std::to_string(spec.inputs));
    if (m_kind == NetworkKind::CnnGru) { // a conv trunk, then the GRU over its features
        m_conv = BasicConvNet<Scalar>(spec.image, spec.conv, {}, spec.act);
        m_gru = BasicGruNet<Scalar>(m_conv.features(), spec.state, spec.hidden, outputs, spec.act);
    } else if (isConv()) {
        m_conv = BasicConvNet<Scalar>(spec.image, spec.conv, std::move(sizes), spec.act);
    } else if (isRecurrent()) {
        m_gru = BasicGruNet<Scalar>(spec.inputs, spec.state, spec.hidden, outputs, spec.act);
    } else {
        sizes.insert(sizes.begin(), spec.inputs);
        m_mlp = BasicMlp<Scalar>(std::move(sizes), spec.act);
    }
}

template <typename Scalar>
NetworkSpec BasicNetwork<Scalar>::spec() const {
    NetworkSpec s;
    s.kind = m_kind;
    s.inputs = inputs();
    const BasicMlp<Scalar>& head = mlp();
    s.hidden.assign(head.sizes().begin() + 1, head.sizes().end() - 1);
    s.act = head.activation();
    if (isConv()) {
        s.image = m_conv.shape(0);
        s.conv = m_conv.convLayers();
    }
    s.state = stateSize();
    return s;
}

template <typename Scalar>
auto BasicNetwork<Scalar>::forwardSequences(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const
    -> const Matrix& {
    if (ws.sequences.sequences() == 0) { // one episode from its first step
        ws.sequences = SequenceLayout::blocks(1, static_cast<int>(input.cols()));
        ws.h0.setZero(m_gru.hiddenState(), 1);
    }
    // the GRU reads the observation, or for cnn_gru the conv trunk's features
    if (isConv()) return m_gru.forward(gruParams(theta), m_conv.features(theta, input, ws.conv), ws.sequences, ws.h0, ws.gru);
    return m_gru.forward(gruParams(theta), input, ws.sequences, ws.h0, ws.gru);
}

template <typename Scalar>
void sequencesFor(const BatchSequences& b, int first, int count, BasicNetworkWorkspace<Scalar>& ws) {
    if (!b.recurrent()) return;
    SequenceLayout& l = ws.sequences;
    l.begin.clear();
    l.length.clear();
    l.episodeStart.assign(static_cast<size_t>(count), 0);
    const int T = std::max(1, b.blockLength), L = std::max(1, b.bpttSteps);
    for (int c = 0; c < count; ++c) {
        const int col = first + c, k = col % T; // step k of its copy's block
        if (c == 0 || k % L == 0) {
            l.begin.push_back(c);
            l.length.push_back(0);
        }
        ++l.length.back();
        l.episodeStart[static_cast<size_t>(c)] = (*b.timestep)(col) == 0 ? 1 : 0;
    }
    ws.h0.resize(b.states->rows(), l.sequences());
    for (int s = 0; s < l.sequences(); ++s) ws.h0.col(s) = b.states->col(first + l.begin[s]).template cast<Scalar>();
}

template void sequencesFor(const BatchSequences&, int, int, BasicNetworkWorkspace<double>&);
template void sequencesFor(const BatchSequences&, int, int, BasicNetworkWorkspace<float>&);

template class BasicNetwork<double>;
template class BasicNetwork<float>;

} // namespace core
