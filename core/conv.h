// A convolutional network for image observations: convolution layers (square kernels, a
// stride, VALID padding: no zero border), each followed by ReLU, then the flattened feature
// maps feed an MLP head (core/mlp.h). One flat parameter vector θ, and the same contract as
// BasicMlp: forward, backward and forward-mode jvp take θ and a Workspace, so a const
// network is shareable across threads and the exact Gauss-Newton Fisher-vector product
// (docs/algorithm.md) works through it unchanged.
//
// Images. One sample per column. A column holds channels × height × width values,
// channel first, then row (top first), then column: index (c·H + y)·W + x (the layout of the
// pixel environments, sim/cube_crash.h). Every layer's feature maps use the same layout.
//
// Layer l (C_l channels of H_l × W_l in, F_l filters of k_l × k_l, stride s_l) gives
//   H_{l+1} = ⌊(H_l − k_l)/s_l⌋ + 1,  W_{l+1} = ⌊(W_l − k_l)/s_l⌋ + 1,
//   a_{l+1}[f, y, x] = ReLU(b_l[f] + Σ_{c,i,j} K_l[f, c, i, j] · a_l[c, s·y + i, s·x + j]).
// In θ, layer l stores K_l as an F_l × (C_l·k_l·k_l) matrix, column-major, its column index
// (c·k + i)·k + j, then b_l (F_l); the head's parameters follow the last layer's. The
// convolution is computed as im2col + GEMM: each sample's patches become the rows of a
// (H_{l+1}·W_{l+1}) × (C_l·k·k) matrix P, and P·K_lᵀ holds the output maps, channel-major.
#pragma once

#include <string>
#include <vector>

#include "core/environment.h"
#include "core/mlp.h"

namespace core {

template <typename Scalar>
struct BasicConvNetWorkspace {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    std::vector<Matrix> a;  // a[0] = input, a[l + 1] = layer l's output after ReLU (features x N)
    std::vector<Matrix> da; // forward-mode tangents (jvp) or back-propagated errors of a[l]
    Matrix patches, patchTangents, maps; // im2col buffers for one block of samples
    BasicMlpWorkspace<Scalar> head;
};

template <typename Scalar>
class BasicConvNet {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Params = Eigen::Ref<const Vector>;
    using Workspace = BasicConvNetWorkspace<Scalar>;

    BasicConvNet() = default;
    // head = {hidden..., outputs}; its hidden layers use `headAct`. An empty head makes a
    // trunk: the conv layers alone, whose output is the flattened features (what network =
    // cnn_gru puts in front of its GRU); forward(), backward() and jvp() then need a head, and
    // features(), backwardFeatures() and featureTangents() serve. Throws
    // std::invalid_argument naming the layer when a size is not positive or a kernel does not
    // fit its input.
    BasicConvNet(ImageShape input, std::vector<ConvLayerSpec> conv, std::vector<int> head, Activation headAct);

    int numParams() const { return m_numParams; }
    int inputs() const { return m_shapes.front().size(); }
    bool hasHead() const { return m_hasHead; }
    int features() const { return m_shapes.back().size(); }
    int outputs() const { return m_hasHead ? m_head.outputs() : features(); }
    int numConvLayers() const { return static_cast<int>(m_conv.size()); }
    const std::vector<ConvLayerSpec>& convLayers() const { return m_conv; }
    // shape of layer l's input (l = numConvLayers(): the flattened features the head reads)
    ImageShape shape(int l) const { return m_shapes[l]; }
    const BasicMlp<Scalar>& head() const { return m_head; }
    int kernelOffset(int l) const { return m_offsets[l]; }
    int biasOffset(int l) const { return m_offsets[l] + m_conv[l].filters * patchSize(l); }
    int headOffset() const { return m_headOffset; }
    // C_l · k_l · k_l
    int patchSize(int l) const { return m_shapes[l].channels * m_conv[l].kernel * m_conv[l].kernel; }
    // "conv 32×8×8/4, 64×4×4/2, head 32-32" for logs
    std::string describe() const;

    // orthogonal kernels (each filter's C·k·k weights a row of an orthogonal matrix) with
    // gain √2, zero biases; the head as BasicMlp::initialize (outGain on its last layer)
    void initialize(Eigen::Ref<Vector> theta, double outGain, class Rng& rng) const;

    // input: inputs x N. Fills ws; returns the output (outputs x N).
    const Matrix& forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const;
    // after forward(): accumulates dLoss/dθ into grad for dOut = dLoss/dOutput (outputs x N)
    void backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws, Eigen::Ref<Vector> grad) const;
    // after forward(): J v (outputs x N), the output's derivative along parameter direction v
    const Matrix& jvp(const Params& theta, const Params& v, Workspace& ws) const;

    // The conv layers alone (a trunk's whole pass; forward() is features() then the head).
    // features(): the flattened feature maps (features() x N), filling ws.
    const Matrix& features(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const;
    // after features(), with ws.da[numConvLayers()] holding dLoss/dFeatures (ws.da sized
    // numConvLayers() + 1): accumulates the conv layers' dLoss/dθ into grad. Overwrites ws.da.
    void backwardFeatures(const Params& theta, Workspace& ws, Eigen::Ref<Vector> grad) const;
    // after features(): the features' derivative along v (features() x N, in ws.da), or
    // nullptr when there are no conv layers (the features are the image, which v does not move)
    const Matrix* featureTangents(const Params& theta, const Params& v, Workspace& ws) const;

private:
    // samples per im2col block (the patch buffer stays near 4 MB)
    int blockSize(int l) const;
    // rows [n·P, (n+1)·P) of `out` (P = output positions) get sample n0 + n's patches of `in`
    void im2col(int l, const Matrix& in, int n0, int count, Matrix& out) const;
    // the transpose: adds patch gradients back onto the input pixels they came from
    void col2im(int l, const Matrix& dPatches, int n0, int count, Matrix& dIn) const;

    std::vector<ConvLayerSpec> m_conv;
    std::vector<ImageShape> m_shapes; // input of each layer, then the flattened features
    std::vector<int> m_offsets;
    int m_headOffset = 0;
    int m_numParams = 0;
    bool m_hasHead = false;
    BasicMlp<Scalar> m_head;
};

using ConvNet = BasicConvNet<double>;
using ConvNetWorkspace = BasicConvNetWorkspace<double>;
using ConvNetFloat = BasicConvNet<float>;

} // namespace core
