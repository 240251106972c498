#include "core/gru.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/rng.h"

namespace core {

SequenceLayout SequenceLayout::blocks(int sequences, int steps) {
    SequenceLayout l;
    for (int s = 0; s < sequences; ++s) {
        l.begin.push_back(s * steps);
        l.length.push_back(steps);
    }
    return l;
}

void SequenceLayout::check(int n) const {
    if (begin.size() != length.size()) throw std::invalid_argument("sequence layout: begin and length differ in size");
    if (!episodeStart.empty() && static_cast<int>(episodeStart.size()) != n)
        throw std::invalid_argument("sequence layout: " + std::to_string(episodeStart.size()) +
                                    " episode-start flags for " + std::to_string(n) + " samples");
    std::vector<std::uint8_t> used(static_cast<size_t>(n), 0);
    for (size_t s = 0; s < begin.size(); ++s) {
        if (begin[s] < 0 || length[s] < 0 || begin[s] + length[s] > n)
            throw std::invalid_argument("sequence layout: sequence " + std::to_string(s) + " lies outside the " +
                                        std::to_string(n) + " samples");
        for (int c = begin[s]; c < begin[s] + length[s]; ++c) {
            if (used[static_cast<size_t>(c)]) throw std::invalid_argument("sequence layout: sequences overlap at sample " + std::to_string(c));
            used[static_cast<size_t>(c)] = 1;
        }
    }
}

template <typename Scalar>
BasicGruNet<Scalar>::BasicGruNet(int inputs, int hiddenState, std::vector<int> headHidden, int outputs, Activation headAct)
    : m_inputs(inputs), m_hidden(hiddenState) {
    if (inputs < 1 || hiddenState < 1 || outputs < 1) throw std::invalid_argument("GRU network: sizes must be at least 1");
    for (int h : headHidden)
        if (h < 1) throw std::invalid_argument("GRU network: a head layer has fewer than 1 unit");
    std::vector<int> sizes{hiddenState};
    sizes.insert(sizes.end(), headHidden.begin(), headHidden.end());
    sizes.push_back(outputs);
    m_head = BasicMlp<Scalar>(sizes, headAct);
    m_headOffset = resetBiasOffset() + hiddenState;
}

template <typename Scalar>
void BasicGruNet<Scalar>::initialize(Eigen::Ref<Vector> theta, double outGain, Rng& rng) const {
    const int H = m_hidden, D = m_inputs;
    Eigen::Map<Matrix> W(theta.data() + inputWeightOffset(), 3 * H, D);
    Eigen::Map<Matrix> U(theta.data() + recurrentWeightOffset(), 3 * H, H);
    for (int g = 0; g < 3; ++g) {
        W.middleRows(g * H, H) = orthogonalInit(H, D, 1.0, rng).template cast<Scalar>();
        U.middleRows(g * H, H) = orthogonalInit(H, H, 1.0, rng).template cast<Scalar>();
    }
    theta.segment(biasOffset(), 4 * H).setZero();
    m_head.initialize(theta.segment(m_headOffset, m_head.numParams()), outGain, rng);
}

template <typename Scalar>
void BasicGruNet<Scalar>::columnsAt(const SequenceLayout& layout, int t, std::vector<int>& cols,
                                    std::vector<int>* sequences) {
    cols.clear();
    if (sequences) sequences->clear();
    for (int s = 0; s < layout.sequences(); ++s) {
        if (t >= layout.length[s]) continue;
        cols.push_back(layout.begin[s] + t);
        if (sequences) sequences->push_back(s);
    }
}

template <typename Scalar>
int BasicGruNet<Scalar>::longest(const SequenceLayout& layout) {
    int t = 0;
    for (int len : layout.length) t = std::max(t, len);
    return t;
}

template <typename Scalar>
auto BasicGruNet<Scalar>::forward(const Params& theta, const Eigen::Ref<const Matrix>& input, const SequenceLayout& layout,
                                  const Eigen::Ref<const Matrix>& h0, Workspace& ws) const -> const Matrix& {
    const int H = m_hidden, D = m_inputs;
    const Eigen::Index N = input.cols();
    if (input.rows() != D) throw std::invalid_argument("GRU network: input has the wrong number of rows");
    layout.check(static_cast<int>(N));
    if (h0.rows() != H || h0.cols() != layout.sequences())
        throw std::invalid_argument("GRU network: h0 must be hidden-state size x sequences");
    Eigen::Map<const Matrix> W(theta.data() + inputWeightOffset(), 3 * H, D);
    Eigen::Map<const Matrix> U(theta.data() + recurrentWeightOffset(), 3 * H, H);
    Eigen::Map<const Vector> b(theta.data() + biasOffset(), 3 * H);
    Eigen::Map<const Vector> cn(theta.data() + resetBiasOffset(), H);

    // the input side of every gate for all samples at once
    ws.x = input;
    ws.xw.resize(3 * H, N);
    ws.xw.noalias() = W * input;
    ws.xw.colwise() += b;
    for (Matrix* m : {&ws.hPrev, &ws.z, &ws.r, &ws.n, &ws.un, &ws.h}) m->setZero(H, N);
    ws.cutBefore.assign(static_cast<size_t>(N), 0);

    // step t of every sequence at once: the previous states gathered into one matrix for U
    std::vector<int> cols, seqs;
    Matrix hp, uh;
    const int T = longest(layout);
    for (int t = 0; t < T; ++t) {
        columnsAt(layout, t, cols, &seqs);
        const Eigen::Index S = static_cast<Eigen::Index>(cols.size());
        hp.resize(H, S);
        for (Eigen::Index j = 0; j < S; ++j) {
            const int c = cols[static_cast<size_t>(j)];
            const bool start = !layout.episodeStart.empty() && layout.episodeStart[static_cast<size_t>(c)];
            if (start)
                hp.col(j).setZero();
            else if (t == 0)
                hp.col(j) = h0.col(seqs[static_cast<size_t>(j)]);
            else
                hp.col(j) = ws.h.col(c - 1);
            ws.cutBefore[static_cast<size_t>(c)] = (start || t == 0) ? 1 : 0;
        }
        uh.resize(3 * H, S);
        uh.noalias() = U * hp;
        for (Eigen::Index j = 0; j < S; ++j) {
            const int c = cols[static_cast<size_t>(j)];
            auto z = ws.z.col(c), r = ws.r.col(c), n = ws.n.col(c);
            ws.hPrev.col(c) = hp.col(j);
            ws.un.col(c) = uh.col(j).segment(2 * H, H) + cn;
            z = (Scalar(1) + (-(ws.xw.col(c).segment(0, H) + uh.col(j).segment(0, H)).array()).exp()).inverse().matrix();
            r = (Scalar(1) + (-(ws.xw.col(c).segment(H, H) + uh.col(j).segment(H, H)).array()).exp()).inverse().matrix();
            n = (ws.xw.col(c).segment(2 * H, H).array() + r.array() * ws.un.col(c).array()).tanh().matrix();
            ws.h.col(c) = ((Scalar(1) - z.array()) * n.array() + z.array() * hp.col(j).array()).matrix();
        }
    }
    return m_head.forward(theta.segment(m_headOffset, m_head.numParams()), ws.h, ws.head);
}

template <typename Scalar>
auto BasicGruNet<Scalar>::finalState(const SequenceLayout& layout, const Workspace& ws) const -> Matrix {
    Matrix out(m_hidden, layout.sequences());
    for (int s = 0; s < layout.sequences(); ++s) {
        if (layout.length[s] > 0)
            out.col(s) = ws.h.col(layout.begin[s] + layout.length[s] - 1);
        else
            out.col(s).setZero();
    }
    return out;
}

template <typename Scalar>
void BasicGruNet<Scalar>::backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, const SequenceLayout& layout,
                                   Workspace& ws, Eigen::Ref<Vector> grad, Matrix* dInput) const {
    const int H = m_hidden, D = m_inputs;
    const Eigen::Index N = ws.h.cols();
    Eigen::Map<const Matrix> U(theta.data() + recurrentWeightOffset(), 3 * H, H);
    // dLoss/dh_t from the head, at every sample
    Matrix dhHead(H, N);
    m_head.backward(theta.segment(m_headOffset, m_head.numParams()), dOut, ws.head,
                    grad.segment(m_headOffset, m_head.numParams()), &dhHead);

    // back through time, latest steps first. ws.dh(:, c) gathers the error on h at sample c
    // that step c + 1 sends back; ws.g(:, c) holds sample c's errors on z's and r's
    // pre-activations, on n's input side a = W_n x + b_n + r ⊙ (U_n h + c_n), and on
    // U_n h + c_n
    ws.g.setZero(4 * H, N);
    ws.dh.setZero(H, N);
    std::vector<int> cols;
    using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    Array e(H), dn(H);
    for (int t = longest(layout) - 1; t >= 0; --t) {
        columnsAt(layout, t, cols);
        for (const int c : cols) {
            e = dhHead.col(c).array() + ws.dh.col(c).array(); // the error on h_t
            const auto z = ws.z.col(c).array(), r = ws.r.col(c).array(), n = ws.n.col(c).array();
            const auto hp = ws.hPrev.col(c).array();
            dn = e * (Scalar(1) - z);
            auto g = ws.g.col(c);
            g.segment(0, H) = (e * (hp - n) * z * (Scalar(1) - z)).matrix();
            g.segment(2 * H, H) = (dn * (Scalar(1) - n.square())).matrix();
            g.segment(H, H) = (g.segment(2 * H, H).array() * ws.un.col(c).array() * r * (Scalar(1) - r)).matrix();
            g.segment(3 * H, H) = (g.segment(2 * H, H).array() * r).matrix();
            if (ws.cutBefore[static_cast<size_t>(c)]) continue; // h_{t-1} is a constant
            auto back = ws.dh.col(c - 1);
            back = (e * z).matrix();
            back.noalias() += U.middleRows(0, H).transpose() * g.segment(0, H);
            back.noalias() += U.middleRows(H, H).transpose() * g.segment(H, H);
            back.noalias() += U.middleRows(2 * H, H).transpose() * g.segment(3 * H, H);
        }
    }
    // the parameters, over all samples at once: W and b see [z; r; a]'s errors, U sees
    // [z; r; U_n h + c_n]'s with the previous states, c_n the last
    Eigen::Map<Matrix> gW(grad.data() + inputWeightOffset(), 3 * H, D);
    Eigen::Map<Matrix> gU(grad.data() + recurrentWeightOffset(), 3 * H, H);
    gW.noalias() += ws.g.topRows(3 * H) * ws.x.transpose();
    gU.topRows(2 * H).noalias() += ws.g.topRows(2 * H) * ws.hPrev.transpose();
    gU.bottomRows(H).noalias() += ws.g.bottomRows(H) * ws.hPrev.transpose();
    grad.segment(biasOffset(), 3 * H) += ws.g.topRows(3 * H).rowwise().sum();
    grad.segment(resetBiasOffset(), H) += ws.g.bottomRows(H).rowwise().sum();
    // the input reaches the gates through W alone
    if (dInput) {
        Eigen::Map<const Matrix> W(theta.data() + inputWeightOffset(), 3 * H, D);
        dInput->noalias() = W.transpose() * ws.g.topRows(3 * H);
    }
}

template <typename Scalar>
auto BasicGruNet<Scalar>::jvp(const Params& theta, const Params& v, const SequenceLayout& layout, Workspace& ws,
                              const Matrix* inputTangent) const -> const Matrix& {
    const int H = m_hidden, D = m_inputs;
    const Eigen::Index N = ws.h.cols();
    Eigen::Map<const Matrix> U(theta.data() + recurrentWeightOffset(), 3 * H, H);
    Eigen::Map<const Matrix> dW(v.data() + inputWeightOffset(), 3 * H, D);
    Eigen::Map<const Matrix> dU(v.data() + recurrentWeightOffset(), 3 * H, H);
    Eigen::Map<const Vector> db(v.data() + biasOffset(), 3 * H);
    Eigen::Map<const Vector> dcn(v.data() + resetBiasOffset(), H);
    // the input side's tangent for all samples at once, then the state's through time
    ws.g.resize(3 * H, N);
    ws.g.noalias() = dW * ws.x;
    if (inputTangent) {
        Eigen::Map<const Matrix> W(theta.data() + inputWeightOffset(), 3 * H, D);
        ws.g.noalias() += W * *inputTangent;
    }
    ws.g.colwise() += db;
    ws.dh.setZero(H, N);
    std::vector<int> cols;
    using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    Vector duh(3 * H);
    Array dz(H), dr(H), dun(H), dn(H);
    const int T = longest(layout);
    for (int t = 0; t < T; ++t) {
        columnsAt(layout, t, cols);
        for (const int c : cols) {
            const bool cut = ws.cutBefore[static_cast<size_t>(c)];
            duh.noalias() = dU * ws.hPrev.col(c);
            if (!cut) duh.noalias() += U * ws.dh.col(c - 1);
            const auto z = ws.z.col(c).array(), r = ws.r.col(c).array(), n = ws.n.col(c).array();
            const auto hp = ws.hPrev.col(c).array();
            dz = z * (Scalar(1) - z) * (ws.g.col(c).segment(0, H).array() + duh.segment(0, H).array());
            dr = r * (Scalar(1) - r) * (ws.g.col(c).segment(H, H).array() + duh.segment(H, H).array());
            dun = duh.segment(2 * H, H).array() + dcn.array();
            dn = (Scalar(1) - n.square()) *
                 (ws.g.col(c).segment(2 * H, H).array() + dr * ws.un.col(c).array() + r * dun);
            Array dh = dz * (hp - n) + (Scalar(1) - z) * dn;
            if (!cut) dh += z * ws.dh.col(c - 1).array();
            ws.dh.col(c) = dh.matrix();
        }
    }
    return m_head.jvp(theta.segment(m_headOffset, m_head.numParams()), v.segment(m_headOffset, m_head.numParams()), ws.head,
                      &ws.dh);
}

template class BasicGruNet<double>;
template class BasicGruNet<float>;

} // namespace core
