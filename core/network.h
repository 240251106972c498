// The network a policy or a critic holds (the `network` setting): an MLP over the
// observation vector (core/mlp.h), a convolutional network over the observation image
// (core/conv.h: conv layers, ReLU, flatten, then the same MLP head), a recurrent network
// (core/gru.h: one GRU layer, then the MLP head), or both in a row (cnn_gru: the conv layers,
// then the GRU over their flattened features, then the MLP head; in θ the conv layers' part,
// then the GRU's, then the head's). All have the same contract — θ and a workspace passed
// in, forward, backward and forward-mode jvp — so the policy's gradient and its exact
// Gauss-Newton Fisher-vector product (docs/algorithm.md §4.1) are written once; a call
// costs the MLP one predictable branch.
//
// A recurrent network reads its samples as sequences: the workspace's `sequences` (a
// SequenceLayout) and `h0` (each sequence's starting state) say how, and whoever runs the
// forward pass sets them first (sequencesFor() for a batch's columns). Left empty, the
// samples are one episode from its first step: one sequence from a zero state.
#pragma once

#include <vector>

#include "core/config.h"
#include "core/conv.h"
#include "core/environment.h"
#include "core/gru.h"
#include "core/mlp.h"

namespace core {

// what a network is, apart from its number of outputs
struct NetworkSpec {
    NetworkKind kind = NetworkKind::Mlp;
    int inputs = 0;                  // the observation's size
    ImageShape image;                // cnn: the observation as an image (image.size() == inputs)
    std::vector<ConvLayerSpec> conv; // cnn: the convolution layers
    std::vector<int> hidden;         // the (head's) hidden layer sizes
    Activation act = Activation::Tanh;
    int state = 0;                   // gru: the hidden state's size
};

// the policy's (hidden = cfg.hidden) or the critic's (cfg.valueHidden) network for cfg on an
// environment. Throws ConfigError when network = cnn and the environment's observation is
// not an image, or a conv layer's kernel does not fit the image the layers before it leave.
NetworkSpec networkSpec(const TrpoConfig& cfg, const EnvSpec& env, const std::vector<int>& hidden);
// the critic's: networkSpec() over cfg.valueHidden; when the policy is recurrent, a GRU with
// cfg.gruCritic, else an MLP
NetworkSpec criticSpec(const TrpoConfig& cfg, const EnvSpec& env);
// the same check alone (no-op for mlp and gru; TrpoConfig::validate() refuses the settings a
// GRU cannot train with)
void checkNetwork(const TrpoConfig& cfg, const EnvSpec& env);

template <typename Scalar>
struct BasicNetworkWorkspace {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    BasicMlpWorkspace<Scalar> mlp;      // network = mlp
    BasicConvNetWorkspace<Scalar> conv; // network = cnn
    BasicGruWorkspace<Scalar> gru;      // network = gru
    // network = gru: how the samples form sequences, and each sequence's starting state
    // (state size x sequences); set before forward(), read by backward() and jvp() too
    SequenceLayout sequences;
    Matrix h0;
};

// a batch's sequences for a recurrent policy: the sampler's steps, copy e's T steps one
// block, each with the state the policy had before it. states == nullptr: not recurrent.
struct BatchSequences {
    const MatrixXd* states = nullptr;          // state size x N
    const Eigen::VectorXi* timestep = nullptr; // each step's index in its episode (0 starts one)
    int blockLength = 0;                       // T
    int bpttSteps = 16;                        // the longest sequence (truncated BPTT)
    bool recurrent() const { return states != nullptr; }
};
// Sets ws.sequences and ws.h0 for the batch columns [first, first + count): sequences cut at
// `first`, at each copy's first step and every bpttSteps steps of a copy, each starting from
// the state recorded before its first step, with episode starts flagged. Does nothing when
// the batch is not recurrent.
template <typename Scalar>
void sequencesFor(const BatchSequences& b, int first, int count, BasicNetworkWorkspace<Scalar>& ws);

template <typename Scalar>
class BasicNetwork {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Params = Eigen::Ref<const Vector>;
    using Workspace = BasicNetworkWorkspace<Scalar>;

    BasicNetwork() = default;
    // throws std::invalid_argument (from the conv net) on sizes that do not fit
    BasicNetwork(const NetworkSpec& spec, int outputs);

    NetworkKind kind() const { return m_kind; }
    // it has conv layers (cnn, cnn_gru) / a GRU (gru, cnn_gru)
    bool isConv() const { return hasConvLayers(m_kind); }
    bool isRecurrent() const { return isRecurrentNetwork(m_kind); }
    // the MLP, or the conv net's or the GRU's head
    const BasicMlp<Scalar>& mlp() const { return isRecurrent() ? m_gru.head() : isConv() ? m_conv.head() : m_mlp; }
    // the conv layers (for cnn_gru a trunk without a head, at the start of θ)
    const BasicConvNet<Scalar>& conv() const { return m_conv; }
    // the GRU and its head, whose offsets count from gruOffset() in θ
    const BasicGruNet<Scalar>& gru() const { return m_gru; }
    int gruOffset() const { return m_kind == NetworkKind::CnnGru ? m_conv.numParams() : 0; }
    int numParams() const {
        return isRecurrent() ? gruOffset() + m_gru.numParams() : isConv() ? m_conv.numParams() : m_mlp.numParams();
    }
    int inputs() const { return isConv() ? m_conv.inputs() : isRecurrent() ? m_gru.inputs() : m_mlp.inputs(); }
    int outputs() const { return isRecurrent() ? m_gru.outputs() : isConv() ? m_conv.outputs() : m_mlp.outputs(); }
    // where the MLP (or the head) starts in θ
    int headOffset() const {
        return isRecurrent() ? gruOffset() + m_gru.headOffset() : isConv() ? m_conv.headOffset() : 0;
    }
    // the recurrent state's size (0 unless network = gru or cnn_gru)
    int stateSize() const { return isRecurrent() ? m_gru.hiddenState() : 0; }
    // the spec this network was built from
    NetworkSpec spec() const;

    // A recurrent network is its GRU (and head) at gruOffset() in θ, reading the observation
    // or, for cnn_gru, the conv trunk's features: one path for both, the trunk's part skipped
    // when there is none (gruOffset() is 0 and gruParams() all of θ for gru).
    void initialize(Eigen::Ref<Vector> theta, double outGain, class Rng& rng) const {
        if (isConv()) m_conv.initialize(theta, outGain, rng); // a cnn_gru trunk has no head to initialise
        if (isRecurrent()) m_gru.initialize(theta.segment(gruOffset(), m_gru.numParams()), outGain, rng);
        if (!isConv() && !isRecurrent()) m_mlp.initialize(theta, outGain, rng);
    }
    const Matrix& forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const {
        if (isRecurrent()) return forwardSequences(theta, input, ws);
        return isConv() ? m_conv.forward(theta, input, ws.conv) : m_mlp.forward(theta, input, ws.mlp);
    }
    void backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws, Eigen::Ref<Vector> grad) const {
        if (isRecurrent()) { // the GRU's input error is the trunk's output error
            const int L = isConv() ? m_conv.numConvLayers() : 0;
            if (L > 0) ws.conv.da.resize(L + 1);
            m_gru.backward(gruParams(theta), dOut, ws.sequences, ws.gru, grad.segment(gruOffset(), m_gru.numParams()),
                           L > 0 ? &ws.conv.da[L] : nullptr);
            if (L > 0) m_conv.backwardFeatures(theta, ws.conv, grad);
        } else if (isConv()) {
            m_conv.backward(theta, dOut, ws.conv, grad);
        } else {
            m_mlp.backward(theta, dOut, ws.mlp, grad);
        }
    }
    const Matrix& jvp(const Params& theta, const Params& v, Workspace& ws) const {
        if (isRecurrent())
            return m_gru.jvp(gruParams(theta), gruParams(v), ws.sequences, ws.gru,
                             isConv() ? m_conv.featureTangents(theta, v, ws.conv) : nullptr);
        return isConv() ? m_conv.jvp(theta, v, ws.conv) : m_mlp.jvp(theta, v, ws.mlp);
    }
    // network = gru, after forward(): each sequence's state after its last step (state size
    // x sequences)
    Matrix finalState(const Workspace& ws) const { return m_gru.finalState(ws.sequences, ws.gru); }
    // the number of samples the last forward() into ws saw
    static Eigen::Index samples(const Workspace& ws) {
        if (!ws.mlp.h.empty()) return ws.mlp.h[0].cols();
        if (!ws.conv.a.empty()) return ws.conv.a[0].cols();
        return ws.gru.h.cols();
    }

private:
    // the GRU's (and its head's) part of θ or of a direction
    Params gruParams(const Params& p) const { return p.segment(gruOffset(), m_gru.numParams()); }
    // the recurrent forward pass, with an empty layout read as one episode
    const Matrix& forwardSequences(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const;

    NetworkKind m_kind = NetworkKind::Mlp;
    BasicMlp<Scalar> m_mlp;
    BasicConvNet<Scalar> m_conv;
    BasicGruNet<Scalar> m_gru;
};

// `to` receives what backward() and jvp() read of the activations a forward pass left in
// `from` (not the outputs), each matrix passed through take(): a column subset, a cast
template <typename From, typename To, typename Take>
void copyActivations(const BasicNetworkWorkspace<From>& from, BasicNetworkWorkspace<To>& to, Take&& take) {
    const auto hidden = [&](const auto& src, auto& dst) { // all but the output h[L]
        dst.resize(src.size());
        for (size_t l = 0; l + 1 < src.size(); ++l) dst[l] = take(src[l]);
    };
    hidden(from.mlp.h, to.mlp.h);
    to.conv.a.resize(from.conv.a.size());
    for (size_t l = 0; l < from.conv.a.size(); ++l) to.conv.a[l] = take(from.conv.a[l]);
    hidden(from.conv.head.h, to.conv.head.h);
    // a recurrent network's: every step's state and gates, and the layout they were run with
    // (a column subset would cut its sequences, so `take` must keep every column)
    const auto& g = from.gru;
    auto& G = to.gru;
    if (g.h.size() == 0 && G.h.size() == 0) return;
    G.x = take(g.x);
    G.hPrev = take(g.hPrev);
    G.z = take(g.z);
    G.r = take(g.r);
    G.n = take(g.n);
    G.un = take(g.un);
    G.h = take(g.h);
    G.cutBefore = g.cutBefore;
    hidden(g.head.h, G.head.h);
    to.sequences = from.sequences;
}

using Network = BasicNetwork<double>;
using NetworkWorkspace = BasicNetworkWorkspace<double>;
using NetworkFloat = BasicNetwork<float>;

} // namespace core
