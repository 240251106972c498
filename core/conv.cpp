#include "core/conv.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/rng.h"

namespace core {

namespace {

// im2col blocks hold about this many scalars (4 MB in double)
constexpr long kBlockElements = 1L << 19;

std::string shapeText(const ImageShape& s) {
    return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

} // namespace

template <typename Scalar>
BasicConvNet<Scalar>::BasicConvNet(ImageShape input, std::vector<ConvLayerSpec> conv, std::vector<int> head,
                                   Activation headAct)
    : m_conv(std::move(conv)) {
    if (input.channels <= 0 || input.height <= 0 || input.width <= 0)
        throw std::invalid_argument("ConvNet: the input image " + shapeText(input) + " must have positive sizes");
    m_shapes.push_back(input);
    int off = 0;
    for (std::size_t l = 0; l < m_conv.size(); ++l) {
        const ConvLayerSpec& c = m_conv[l];
        const ImageShape& in = m_shapes.back();
        const std::string name = "ConvNet: conv layer " + std::to_string(l + 1);
        if (c.filters <= 0 || c.kernel <= 0 || c.stride <= 0)
            throw std::invalid_argument(name + ": filters, kernel and stride must be positive (got " + std::to_string(c.filters) +
                                        ", " + std::to_string(c.kernel) + ", " + std::to_string(c.stride) + ")");
        if (c.kernel > in.height || c.kernel > in.width)
            throw std::invalid_argument(name + ": a " + std::to_string(c.kernel) + "x" + std::to_string(c.kernel) +
                                        " kernel does not fit its " + shapeText(in) + " input");
        m_offsets.push_back(off);
        off += c.filters * in.channels * c.kernel * c.kernel + c.filters;
        m_shapes.push_back({c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1});
    }
    m_headOffset = off;
    m_numParams = off;
    m_hasHead = !head.empty();
    if (m_hasHead) {
        std::vector<int> sizes{m_shapes.back().size()};
        sizes.insert(sizes.end(), head.begin(), head.end());
        m_head = BasicMlp<Scalar>(std::move(sizes), headAct);
        m_numParams += m_head.numParams();
    }
}

template <typename Scalar>
std::string BasicConvNet<Scalar>::describe() const {
    std::string s = "conv";
    for (std::size_t l = 0; l < m_conv.size(); ++l) {
        const ConvLayerSpec& c = m_conv[l];
        s.append(l ? ", " : " ");
        s.append(std::to_string(c.filters)).append("x").append(std::to_string(c.kernel)).append("x");
        s.append(std::to_string(c.kernel)).append("/").append(std::to_string(c.stride));
    }
    if (m_conv.empty()) s.append(" none");
    if (!m_hasHead) return s;
    s.append(", head");
    const auto& sizes = m_head.sizes();
    for (std::size_t i = 1; i < sizes.size(); ++i) s.append(i == 1 ? " " : "-").append(std::to_string(sizes[i]));
    return s;
}

template <typename Scalar>
void BasicConvNet<Scalar>::initialize(Eigen::Ref<Vector> theta, double outGain, Rng& rng) const {
    for (int l = 0; l < numConvLayers(); ++l) {
        const int f = m_conv[l].filters, k = patchSize(l);
        Eigen::Map<Matrix>(theta.data() + kernelOffset(l), f, k) = orthogonalInit(f, k, std::sqrt(2.0), rng).template cast<Scalar>();
        theta.segment(biasOffset(l), f).setZero();
    }
    if (m_hasHead) m_head.initialize(theta.segment(m_headOffset, m_head.numParams()), outGain, rng);
}

template <typename Scalar>
int BasicConvNet<Scalar>::blockSize(int l) const {
    const long perSample = static_cast<long>(m_shapes[l + 1].height) * m_shapes[l + 1].width * patchSize(l);
    return static_cast<int>(std::max(1L, kBlockElements / perSample));
}

template <typename Scalar>
void BasicConvNet<Scalar>::im2col(int l, const Matrix& in, int n0, int count, Matrix& out) const {
    const ImageShape& s = m_shapes[l];
    const ImageShape& o = m_shapes[l + 1];
    const int k = m_conv[l].kernel, stride = m_conv[l].stride;
    out.resize(static_cast<Eigen::Index>(count) * o.height * o.width, patchSize(l));
    for (int c = 0; c < s.channels; ++c)
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
                Scalar* dst = out.col((c * k + i) * k + j).data();
                for (int n = 0; n < count; ++n) {
                    const Scalar* img = in.col(n0 + n).data() + static_cast<Eigen::Index>(c) * s.height * s.width;
                    for (int y = 0; y < o.height; ++y) {
                        const Scalar* row = img + (stride * y + i) * s.width + j;
                        for (int x = 0; x < o.width; ++x) *dst++ = row[stride * x];
                    }
                }
            }
}

template <typename Scalar>
void BasicConvNet<Scalar>::col2im(int l, const Matrix& dPatches, int n0, int count, Matrix& dIn) const {
    const ImageShape& s = m_shapes[l];
    const ImageShape& o = m_shapes[l + 1];
    const int k = m_conv[l].kernel, stride = m_conv[l].stride;
    for (int c = 0; c < s.channels; ++c)
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
                const Scalar* src = dPatches.col((c * k + i) * k + j).data();
                for (int n = 0; n < count; ++n) {
                    Scalar* img = dIn.col(n0 + n).data() + static_cast<Eigen::Index>(c) * s.height * s.width;
                    for (int y = 0; y < o.height; ++y) {
                        Scalar* row = img + (stride * y + i) * s.width + j;
                        for (int x = 0; x < o.width; ++x) row[stride * x] += *src++;
                    }
                }
            }
}

template <typename Scalar>
auto BasicConvNet<Scalar>::forward(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const
    -> const Matrix& {
    if (!m_hasHead) throw std::invalid_argument("ConvNet: a trunk (no head) runs features(), not forward()");
    return m_head.forward(theta.segment(m_headOffset, m_head.numParams()), features(theta, input, ws), ws.head);
}

template <typename Scalar>
auto BasicConvNet<Scalar>::features(const Params& theta, const Eigen::Ref<const Matrix>& input, Workspace& ws) const
    -> const Matrix& {
    const int L = numConvLayers();
    const int N = static_cast<int>(input.cols());
    ws.a.resize(L + 1);
    ws.a[0] = input;
    for (int l = 0; l < L; ++l) {
        const int f = m_conv[l].filters, positions = m_shapes[l + 1].height * m_shapes[l + 1].width;
        Eigen::Map<const Matrix> K(theta.data() + kernelOffset(l), f, patchSize(l));
        Eigen::Map<const Vector> b(theta.data() + biasOffset(l), f);
        Matrix& a = ws.a[l + 1];
        a.resize(static_cast<Eigen::Index>(f) * positions, N);
        const int block = blockSize(l);
        for (int n0 = 0; n0 < N; n0 += block) {
            const int count = std::min(block, N - n0);
            im2col(l, ws.a[l], n0, count, ws.patches);
            ws.maps.noalias() = ws.patches * K.transpose(); // (count·positions) x f
            for (int n = 0; n < count; ++n)
                for (int c = 0; c < f; ++c)
                    a.col(n0 + n).segment(c * positions, positions) =
                        (ws.maps.col(c).segment(n * positions, positions).array() + b(c)).cwiseMax(Scalar(0));
        }
    }
    return ws.a[L];
}

template <typename Scalar>
void BasicConvNet<Scalar>::backward(const Params& theta, const Eigen::Ref<const Matrix>& dOut, Workspace& ws,
                                    Eigen::Ref<Vector> grad) const {
    const int L = numConvLayers();
    ws.da.resize(L + 1);
    m_head.backward(theta.segment(m_headOffset, m_head.numParams()), dOut, ws.head, grad.segment(m_headOffset, m_head.numParams()),
                    L > 0 ? &ws.da[L] : nullptr);
    backwardFeatures(theta, ws, grad);
}

template <typename Scalar>
void BasicConvNet<Scalar>::backwardFeatures(const Params& theta, Workspace& ws, Eigen::Ref<Vector> grad) const {
    const int L = numConvLayers();
    const int N = static_cast<int>(ws.a[0].cols());
    for (int l = L - 1; l >= 0; --l) {
        const int f = m_conv[l].filters, positions = m_shapes[l + 1].height * m_shapes[l + 1].width;
        Eigen::Map<const Matrix> K(theta.data() + kernelOffset(l), f, patchSize(l));
        Eigen::Map<Matrix> gK(grad.data() + kernelOffset(l), f, patchSize(l));
        // through the ReLU: d now holds dLoss/d(pre-activation)
        Matrix& d = ws.da[l + 1];
        d.array() *= (ws.a[l + 1].array() > Scalar(0)).template cast<Scalar>();
        if (l > 0) ws.da[l].setZero(m_shapes[l].size(), N);
        const int block = blockSize(l);
        for (int n0 = 0; n0 < N; n0 += block) {
            const int count = std::min(block, N - n0);
            im2col(l, ws.a[l], n0, count, ws.patches);
            ws.maps.resize(static_cast<Eigen::Index>(count) * positions, f);
            for (int n = 0; n < count; ++n)
                for (int c = 0; c < f; ++c)
                    ws.maps.col(c).segment(n * positions, positions) = d.col(n0 + n).segment(c * positions, positions);
            gK.noalias() += ws.maps.transpose() * ws.patches;
            grad.segment(biasOffset(l), f) += ws.maps.colwise().sum().transpose();
            if (l > 0) {
                ws.patchTangents.noalias() = ws.maps * K;
                col2im(l, ws.patchTangents, n0, count, ws.da[l]);
            }
        }
    }
}

template <typename Scalar>
auto BasicConvNet<Scalar>::jvp(const Params& theta, const Params& v, Workspace& ws) const -> const Matrix& {
    const Matrix* dFeatures = featureTangents(theta, v, ws);
    return m_head.jvp(theta.segment(m_headOffset, m_head.numParams()), v.segment(m_headOffset, m_head.numParams()), ws.head,
                      dFeatures);
}

template <typename Scalar>
auto BasicConvNet<Scalar>::featureTangents(const Params& theta, const Params& v, Workspace& ws) const -> const Matrix* {
    const int L = numConvLayers();
    const int N = static_cast<int>(ws.a[0].cols());
    ws.da.resize(L + 1);
    for (int l = 0; l < L; ++l) {
        const int f = m_conv[l].filters, positions = m_shapes[l + 1].height * m_shapes[l + 1].width;
        Eigen::Map<const Matrix> K(theta.data() + kernelOffset(l), f, patchSize(l));
        Eigen::Map<const Matrix> dK(v.data() + kernelOffset(l), f, patchSize(l));
        Eigen::Map<const Vector> db(v.data() + biasOffset(l), f);
        Matrix& t = ws.da[l + 1];
        t.resize(static_cast<Eigen::Index>(f) * positions, N);
        const int block = blockSize(l);
        for (int n0 = 0; n0 < N; n0 += block) {
            const int count = std::min(block, N - n0);
            im2col(l, ws.a[l], n0, count, ws.patches);
            ws.maps.noalias() = ws.patches * dK.transpose();
            if (l > 0) { // the input moves too (the first layer's input, the image, does not)
                im2col(l, ws.da[l], n0, count, ws.patchTangents);
                ws.maps.noalias() += ws.patchTangents * K.transpose();
            }
            for (int n = 0; n < count; ++n)
                for (int c = 0; c < f; ++c) {
                    const auto out = ws.a[l + 1].col(n0 + n).segment(c * positions, positions).array();
                    t.col(n0 + n).segment(c * positions, positions) =
                        (ws.maps.col(c).segment(n * positions, positions).array() + db(c)) * (out > Scalar(0)).template cast<Scalar>();
                }
        }
    }
    return L > 0 ? &ws.da[L] : nullptr;
}

template class BasicConvNet<double>;
template class BasicConvNet<float>;

} // namespace core
