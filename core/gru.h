// A recurrent network, for a recurrent policy and critic (docs/algorithm.md §12): one GRU
// layer over the observations, then an MLP head on its hidden state. It has the contract of core/mlp.h and core/conv.h — θ and a workspace passed
// in, forward, backward and forward-mode jvp — with one addition: the samples are read as
// sequences (a SequenceLayout), because each output depends on the steps before it.
//
// The GRU is ONNX's with linear_before_reset = 1 (PyTorch's nn.GRU), gates in ONNX's order
// z, r, n, so that export writes θ as it is:
//     z_t = σ(W_z x_t + U_z h_{t-1} + b_z)
//     r_t = σ(W_r x_t + U_r h_{t-1} + b_r)
//     n_t = tanh(W_n x_t + b_n + r_t ⊙ (U_n h_{t-1} + c_n))
//     h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
// In the flat θ: W (3H x D, rows z, r, n; column-major), U (3H x H, the same), b (3H), c_n
// (H), then the head's parameters (core/mlp.h's layout) mapping h_t to the outputs.
//
// Truncated backpropagation through time: a sequence's starting state h0 (the state the
// sampler carried over from the batch before) is a constant, so gradients and tangents flow
// through the steps of one sequence only. A step flagged as an episode start starts from a
// zero state instead, and nothing flows across it either.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "core/mlp.h"

namespace core {

// How N samples (columns) form sequences: sequence s is the columns begin[s], begin[s] + 1,
// ..., begin[s] + length[s] − 1, in time order (the sampler's layout: environment copy e's
// T steps are one block); sequences do not overlap. episodeStart[c] != 0: column c is the
// first step of an episode (its previous state is zero, not the step before). Empty:
// no column starts an episode.
struct SequenceLayout {
    std::vector<int> begin, length;
    std::vector<std::uint8_t> episodeStart;

    int sequences() const { return static_cast<int>(begin.size()); }
    // S sequences of T steps each, one after the other (N = S·T)
    static SequenceLayout blocks(int sequences, int steps);
    // throws std::invalid_argument unless the sequences lie inside [0, n) without overlap and
    // episodeStart is empty or has n flags
    void check(int n) const;
};

template <typename Scalar>
struct BasicGruWorkspace {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    // per column: the input, W x + b (3H), the previous state, z, r, n, U_n h_{t-1} + c_n,
    // the state
    Matrix x, xw, hPrev, z, r, n, un, h;
    // the head's activations, and the tangents (jvp) or errors (backward) of the recurrence
    BasicMlpWorkspace<Scalar> head;
    Matrix dh, g;
    std::vector<std::uint8_t> cutBefore; // column c's previous state is a constant (h0 or zero)
};

template <typename Scalar>
class BasicGruNet {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Params = Eigen::Ref<const Vector>;
    using Workspace = BasicGruWorkspace<Scalar>;

    BasicGruNet() = default;
    // inputs D, hidden state H, the head's hidden layers and outputs; throws
    // std::invalid_argument for sizes below 1
    BasicGruNet(int inputs, int hiddenState, std::vector<int> headHidden, int outputs, Activation headAct);

    int inputs() const { return m_inputs; }
    int hiddenState() const { return m_hidden; }
    int outputs() const { return m_head.outputs(); }
    int numParams() const { return m_headOffset + m_head.numParams(); }
    const BasicMlp<Scalar>& head() const { return m_head; }
    // offsets inside θ
    int inputWeightOffset() const { return 0; }
    int recurrentWeightOffset() const { return 3 * m_hidden * m_inputs; }
    int biasOffset() const { return recurrentWeightOffset() + 3 * m_hidden * m_hidden; }
    int resetBiasOffset() const { return biasOffset() + 3 * m_hidden; } // c_n
    int headOffset() const { return m_headOffset; }

    // W and U orthogonal per gate (gain 1), biases zero, the head as core/mlp.h's with
    // outGain on its last layer
    void initialize(Eigen::Ref<Vector> theta, double outGain, class Rng& rng) const;

    // input: D x N read as `layout`; h0: H x S, each sequence's state before its first step
    // (ignored where that step starts an episode). Fills ws; returns the outputs (outputs x N).
    const Matrix& forward(const Params& theta, const Eigen::Ref<const Matrix>& input, const SequenceLayout& layout,
                          const Eigen::Ref<const Matrix>& h0, Workspace& ws) const;
    // each sequence's state after its last step (H x S), after forward(): what the sampler
    // carries into the next batch
    Matrix finalState(const SequenceLayout& layout, const Workspace& ws) const;

    // reverse mode after forward() (through time, within each sequence): accumulates
    // dLoss/dθ into grad for dOut (outputs x N) = dLoss/dOutput; with dInput, also sets it
    // to dLoss/dInput (D x N), for a network in front of the GRU (network = cnn_gru)
    void backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, const SequenceLayout& layout,
                  Workspace& ws, Eigen::Ref<Vector> grad, Matrix* dInput = nullptr) const;
    // forward mode after forward(): J v, the outputs' directional derivative along θ
    // direction v (outputs x N); with inputTangent (D x N), the inputs move along it too
    const Matrix& jvp(const Params& theta, const Params& v, const SequenceLayout& layout, Workspace& ws,
                      const Matrix* inputTangent = nullptr) const;

private:
    // the columns at step t of every sequence long enough, in sequence order, and with
    // `sequences` the sequence each belongs to
    static void columnsAt(const SequenceLayout& layout, int t, std::vector<int>& cols,
                          std::vector<int>* sequences = nullptr);
    static int longest(const SequenceLayout& layout);

    int m_inputs = 0, m_hidden = 0, m_headOffset = 0;
    BasicMlp<Scalar> m_head;
};

using GruNet = BasicGruNet<double>;
using GruNetFloat = BasicGruNet<float>;
using GruWorkspace = BasicGruWorkspace<double>;

} // namespace core
