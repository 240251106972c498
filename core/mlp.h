// A multilayer perceptron laid out over one flat parameter vector.
//
// Layer l maps h_l (in_l x N, one sample per column) to h_{l+1} = act(W_l h_l + b_l), the
// last layer is linear. In the flat vector, layer l stores W_l (out_l x in_l, column-major)
// followed by b_l (out_l). The network holds no parameters and no activations: forward(),
// backward() and jvp() take θ and a Workspace, so a const Mlp is safe to share across
// threads (one Workspace per thread), as MuJoCo splits mjModel from mjData.
#pragma once

#include <Eigen/Dense>
#include <vector>

#include "core/config.h"

namespace core {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using ParamRef = Eigen::Ref<const VectorXd>;

// rows x cols with orthonormal rows or columns (whichever are fewer) times gain: QR of a
// Gaussian matrix (column by column from rng) with the signs fixed by diag(R); the MLP's
// and the convolutional network's initialisation
MatrixXd orthogonalInit(int rows, int cols, double gain, class Rng& rng);

// activations of one forward pass: h[0] = input, h[L] = output (L = number of layers)
template <typename Scalar>
struct BasicMlpWorkspace {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    std::vector<Matrix> h;
    std::vector<Matrix> dh; // forward-mode tangents (jvp) or back-propagated errors
};

// Scalar = double for the policy (the TRPO maths, checked to 1e-9 against the golden
// reference), float for the critic (Eigen vectorises float twice as wide, and tanh too)
template <typename Scalar>
class BasicMlp {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Params = Eigen::Ref<const Vector>;
    using Workspace = BasicMlpWorkspace<Scalar>;

    BasicMlp() = default;
    // sizes = {inputs, hidden..., outputs}
    BasicMlp(std::vector<int> sizes, Activation act);

    int numParams() const { return m_numParams; }
    int inputs() const { return m_sizes.front(); }
    int outputs() const { return m_sizes.back(); }
    int numLayers() const { return static_cast<int>(m_sizes.size()) - 1; }
    const std::vector<int>& sizes() const { return m_sizes; }
    Activation activation() const { return m_act; }

    // offsets of W_l and b_l inside θ
    int weightOffset(int l) const { return m_offsets[l]; }
    int biasOffset(int l) const { return m_offsets[l] + m_sizes[l + 1] * m_sizes[l]; }

    // orthogonal initialisation (gain per layer, SB3 style: sqrt(2) hidden, outGain last), zero biases
    void initialize(Eigen::Ref<Vector> theta, double outGain, class Rng& rng) const;

    // input: inputs x N. Fills ws.h; returns a reference to the output (outputs x N).
    const Matrix& forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const;

    // reverse mode after forward(): dOut (outputs x N) = dLoss/dOutput. Accumulates
    // dLoss/dθ into grad (grad += ...). Overwrites ws.dh. With dInput, also writes
    // dLoss/dInput (inputs x N) there (a network below this one needs it: core/conv.h).
    void backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws,
                  Eigen::Ref<Vector> grad, Matrix* dInput = nullptr) const;

    // forward mode after forward(): returns J v, the directional derivative of the output
    // along parameter direction v (outputs x N). Overwrites ws.dh. With inputTangent
    // (inputs x N), the input moves too: the result is J v + (∂out/∂input)·inputTangent.
    const Matrix& jvp(const Params& theta, const Params& v, Workspace& ws, const Matrix* inputTangent = nullptr) const;

private:
    std::vector<int> m_sizes;
    std::vector<int> m_offsets;
    int m_numParams = 0;
    Activation m_act = Activation::Tanh;
};

using Mlp = BasicMlp<double>;
using MlpWorkspace = BasicMlpWorkspace<double>;
using MlpFloat = BasicMlp<float>;

// tanh evaluated with Eigen's vectorised exp (Eigen vectorises tanh for float only);
// exact to ~1e-16 absolute, saturates cleanly at ±1
void fastTanhInPlace(Eigen::Ref<MatrixXd> x);
void fastTanhInPlace(Eigen::Ref<Eigen::MatrixXf> x); // Eigen's own vectorised float tanh

} // namespace core
