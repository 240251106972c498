#include "core/mlp.h"

#include <cmath>
#include <stdexcept>

#include "core/rng.h"

namespace core {

void fastTanhInPlace(Eigen::Ref<MatrixXd> x) {
    // tanh(x) = 1 - 2 / (exp(2x) + 1); clamp so exp never overflows
    auto a = x.array();
    a = 1.0 - 2.0 / ((2.0 * a.max(-40.0).min(40.0)).exp() + 1.0);
}

void fastTanhInPlace(Eigen::Ref<Eigen::MatrixXf> x) { x.array() = x.array().tanh(); }

template <typename Scalar>
BasicMlp<Scalar>::BasicMlp(std::vector<int> sizes, Activation act) : m_sizes(std::move(sizes)), m_act(act) {
    if (m_sizes.size() < 2) throw std::invalid_argument("Mlp needs at least an input and an output size");
    for (int s : m_sizes)
        if (s <= 0) throw std::invalid_argument("Mlp layer sizes must be positive");
    m_offsets.resize(m_sizes.size() - 1);
    int off = 0;
    for (size_t l = 0; l + 1 < m_sizes.size(); ++l) {
        m_offsets[l] = off;
        off += m_sizes[l + 1] * m_sizes[l] + m_sizes[l + 1];
    }
    m_numParams = off;
}

MatrixXd orthogonalInit(int rows, int cols, double gain, Rng& rng) {
    const int big = std::max(rows, cols), small = std::min(rows, cols);
    MatrixXd a(big, small);
    for (int j = 0; j < small; ++j)
        for (int i = 0; i < big; ++i) a(i, j) = rng.normal();
    Eigen::HouseholderQR<MatrixXd> qr(a);
    MatrixXd q = qr.householderQ() * MatrixXd::Identity(big, small);
    const MatrixXd r = qr.matrixQR().topRows(small).triangularView<Eigen::Upper>();
    for (int j = 0; j < small; ++j)
        if (r(j, j) < 0) q.col(j) *= -1.0;
    return rows >= cols ? MatrixXd(gain * q) : MatrixXd(gain * q.transpose());
}

template <typename Scalar>
void BasicMlp<Scalar>::initialize(Eigen::Ref<Vector> theta, double outGain, Rng& rng) const {
    for (int l = 0; l < numLayers(); ++l) {
        const int out = m_sizes[l + 1], in = m_sizes[l];
        const double gain = (l + 1 == numLayers()) ? outGain : std::sqrt(2.0);
        Eigen::Map<Matrix>(theta.data() + weightOffset(l), out, in) = orthogonalInit(out, in, gain, rng).template cast<Scalar>();
        theta.segment(biasOffset(l), out).setZero();
    }
}

template <typename Scalar>
auto BasicMlp<Scalar>::forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const
    -> const Matrix& {
    const int L = numLayers();
    ws.h.resize(L + 1);
    ws.h[0] = input;
    for (int l = 0; l < L; ++l) {
        const int out = m_sizes[l + 1], in = m_sizes[l];
        Eigen::Map<const Matrix> W(theta.data() + weightOffset(l), out, in);
        Eigen::Map<const Vector> b(theta.data() + biasOffset(l), out);
        Matrix& z = ws.h[l + 1];
        z.resize(out, input.cols());
        z.noalias() = W * ws.h[l];
        z.colwise() += b;
        if (l + 1 < L) {
            if (m_act == Activation::Tanh)
                fastTanhInPlace(z);
            else
                z = z.cwiseMax(Scalar(0));
        }
    }
    return ws.h[L];
}

template <typename Scalar>
void BasicMlp<Scalar>::backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws,
                                Eigen::Ref<Vector> grad, Matrix* dInput) const {
    const int L = numLayers();
    ws.dh.resize(L + 1);
    ws.dh[L] = dOut;
    for (int l = L - 1; l >= 0; --l) {
        const int out = m_sizes[l + 1], in = m_sizes[l];
        Eigen::Map<const Matrix> W(theta.data() + weightOffset(l), out, in);
        Eigen::Map<Matrix> gW(grad.data() + weightOffset(l), out, in);
        gW.noalias() += ws.dh[l + 1] * ws.h[l].transpose();
        grad.segment(biasOffset(l), out) += ws.dh[l + 1].rowwise().sum();
        if (l == 0) {
            if (dInput) dInput->noalias() = W.transpose() * ws.dh[1];
            break;
        }
        Matrix& d = ws.dh[l];
        d.resize(in, dOut.cols());
        d.noalias() = W.transpose() * ws.dh[l + 1];
        // through the activation of layer l's input (h[l] is post-activation)
        if (m_act == Activation::Tanh)
            d.array() *= Scalar(1) - ws.h[l].array().square();
        else
            d.array() *= (ws.h[l].array() > Scalar(0)).template cast<Scalar>();
    }
}

template <typename Scalar>
auto BasicMlp<Scalar>::jvp(const Params& theta, const Params& v, Workspace& ws, const Matrix* inputTangent) const
    -> const Matrix& {
    const int L = numLayers();
    ws.dh.resize(L + 1);
    for (int l = 0; l < L; ++l) {
        const int out = m_sizes[l + 1], in = m_sizes[l];
        Eigen::Map<const Matrix> W(theta.data() + weightOffset(l), out, in);
        Eigen::Map<const Matrix> dW(v.data() + weightOffset(l), out, in);
        Eigen::Map<const Vector> db(v.data() + biasOffset(l), out);
        Matrix& dz = ws.dh[l + 1];
        dz.resize(out, ws.h[0].cols());
        dz.noalias() = dW * ws.h[l];
        if (l > 0) dz.noalias() += W * ws.dh[l];
        else if (inputTangent) dz.noalias() += W * *inputTangent;
        dz.colwise() += db;
        if (l + 1 < L) {
            if (m_act == Activation::Tanh)
                dz.array() *= Scalar(1) - ws.h[l + 1].array().square();
            else
                dz.array() *= (ws.h[l + 1].array() > Scalar(0)).template cast<Scalar>();
        }
    }
    return ws.dh[L];
}

template class BasicMlp<double>;
template class BasicMlp<float>;

} // namespace core
