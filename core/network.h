// The network a policy or a critic holds (the `network` setting): an MLP over the
// observation vector (core/mlp.h), or a convolutional network over the observation image
// (core/conv.h: conv layers, ReLU, flatten, then the same MLP head). Both have the same
// contract — θ and a workspace passed in, forward, backward and forward-mode jvp — so the
// policy's gradient and its exact Gauss-Newton Fisher-vector product (docs/algorithm.md
// §4.1) are written once; a call costs the MLP one predictable branch.
#pragma once

#include <vector>

#include "core/config.h"
#include "core/conv.h"
#include "core/environment.h"
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
};

// the policy's (hidden = cfg.hidden) or the critic's (cfg.valueHidden) network for cfg on an
// environment. Throws ConfigError when network = cnn and the environment's observation is
// not an image, or a conv layer's kernel does not fit the image the layers before it leave.
NetworkSpec networkSpec(const TrpoConfig& cfg, const EnvSpec& env, const std::vector<int>& hidden);
// the same check alone (no-op for mlp)
void checkNetwork(const TrpoConfig& cfg, const EnvSpec& env);

template <typename Scalar>
struct BasicNetworkWorkspace {
    BasicMlpWorkspace<Scalar> mlp;      // network = mlp
    BasicConvNetWorkspace<Scalar> conv; // network = cnn
};

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
    bool isConv() const { return m_kind == NetworkKind::Cnn; }
    // the MLP, or the conv net's head
    const BasicMlp<Scalar>& mlp() const { return isConv() ? m_conv.head() : m_mlp; }
    const BasicConvNet<Scalar>& conv() const { return m_conv; }
    int numParams() const { return isConv() ? m_conv.numParams() : m_mlp.numParams(); }
    int inputs() const { return isConv() ? m_conv.inputs() : m_mlp.inputs(); }
    int outputs() const { return isConv() ? m_conv.outputs() : m_mlp.outputs(); }
    // the spec this network was built from
    NetworkSpec spec() const;

    void initialize(Eigen::Ref<Vector> theta, double outGain, class Rng& rng) const {
        if (isConv()) m_conv.initialize(theta, outGain, rng);
        else m_mlp.initialize(theta, outGain, rng);
    }
    const Matrix& forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const {
        return isConv() ? m_conv.forward(theta, input, ws.conv) : m_mlp.forward(theta, input, ws.mlp);
    }
    void backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws, Eigen::Ref<Vector> grad) const {
        if (isConv()) m_conv.backward(theta, dOut, ws.conv, grad);
        else m_mlp.backward(theta, dOut, ws.mlp, grad);
    }
    const Matrix& jvp(const Params& theta, const Params& v, Workspace& ws) const {
        return isConv() ? m_conv.jvp(theta, v, ws.conv) : m_mlp.jvp(theta, v, ws.mlp);
    }
    // the number of samples the last forward() into ws saw
    static Eigen::Index samples(const Workspace& ws) {
        return !ws.mlp.h.empty() ? ws.mlp.h[0].cols() : ws.conv.a.empty() ? 0 : ws.conv.a[0].cols();
    }

private:
    NetworkKind m_kind = NetworkKind::Mlp;
    BasicMlp<Scalar> m_mlp;
    BasicConvNet<Scalar> m_conv;
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
}

using Network = BasicNetwork<double>;
using NetworkWorkspace = BasicNetworkWorkspace<double>;
using NetworkFloat = BasicNetwork<float>;

} // namespace core
