#include "core/value_function.h"

#include "core/parallel.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace core {

void Adam::step(Eigen::Ref<VectorXd> theta, const VectorXd& grad) {
    ++t;
    m = beta1 * m + (1.0 - beta1) * grad;
    v = beta2 * v + (1.0 - beta2) * grad.cwiseAbs2();
    const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
    const double stepSize = lr * std::sqrt(bc2) / bc1;
    theta.array() -= stepSize * m.array() / (v.array().sqrt() + eps * std::sqrt(bc2));
}

double explainedVariance(const VectorXd& pred, const VectorXd& target) {
    const double n = static_cast<double>(target.size());
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    const double meanY = target.mean();
    const double varY = (target.array() - meanY).square().sum() / n;
    // targets without variance (every episode solved and bootstrapped alike: the returns agree
    // to 1e-4 of their size) leave nothing to explain: undefined, not a huge negative number
    if (!(varY > 1e-8 * (meanY * meanY + varY))) return std::numeric_limits<double>::quiet_NaN();
    const VectorXd diff = target - pred;
    const double varD = (diff.array() - diff.mean()).square().sum() / n;
    return 1.0 - varD / varY;
}

namespace {
// a network critic's parameters at the start: the network `net` describes, one output,
// initialised in double (the float network evaluating them has the same flat layout)
VectorXd initialCriticParams(const NetworkSpec& net, Rng& rng) {
    const Network layout(net, 1);
    VectorXd theta(layout.numParams());
    layout.initialize(theta, 1.0, rng);
    return theta;
}
// [θ, Adam's m, v, t]: the head of a network critic's state vector
VectorXd paramsAndAdam(const VectorXd& theta, const Adam& adam) {
    VectorXd s(3 * theta.size() + 1);
    s << theta, adam.m, adam.v, static_cast<double>(adam.t);
    return s;
}
// back from the head of s (the caller has checked that s holds at least 3·|θ| + 1 values)
void setParamsAndAdam(const VectorXd& s, VectorXd& theta, Adam& adam) {
    const Eigen::Index p = theta.size();
    theta = s.segment(0, p);
    adam.m = s.segment(p, p);
    adam.v = s.segment(2 * p, p);
    adam.t = static_cast<long long>(s(3 * p));
}
} // namespace

void scoreFit(const VectorXd& pred, const VectorXd& returns, double& loss, double& explained) {
    loss = (pred - returns).squaredNorm() / static_cast<double>(returns.size());
    explained = explainedVariance(pred, returns);
}

NetworkValueFunction::NetworkValueFunction(int obsDim, const std::vector<int>& hidden, Activation act, Rng& rng)
    : NetworkValueFunction(NetworkSpec{NetworkKind::Mlp, obsDim, {}, {}, hidden, act}, rng) {}

NetworkValueFunction::NetworkValueFunction(const NetworkSpec& net, Rng& rng)
    : m_net(net, 1), m_theta(initialCriticParams(net, rng)) {
    m_adam.reset(m_net.numParams());
}

VectorXd NetworkValueFunction::predict(const MatrixXd& obs, const Eigen::VectorXi&) const {
    m_predictX = obs.cast<float>();
    return m_net.forward(m_theta.cast<float>(), m_predictX, m_predictWs).row(0).transpose().cast<double>();
}

FitResult NetworkValueFunction::fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns,
                                    const TrpoConfig& cfg, Rng& rng, CancelFlag cancel, Collective* collective) {
    FitResult r;
    const int n = static_cast<int>(returns.size());
    VectorXd pred = predict(obs, timestep);
    scoreFit(pred, returns, r.lossBefore, r.explainedVarianceBefore);

    m_adam.lr = cfg.valueLr;
    const int mb = std::min(cfg.valueMinibatch, n);
    std::vector<int> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    // each minibatch is cut into fixed shards (by size only) whose gradients are summed in
    // order, so the fit is identical with any thread count
    const Eigen::MatrixXf obsF = obs.cast<float>();
    Eigen::VectorXf thetaF;
    std::vector<FitPart>& parts = m_fitParts; // kept between fits: no fresh pages each time
    parts.resize(Shards(mb, 128).count());
    VectorXd grad(m_theta.size());
    r.epochLosses.reserve(static_cast<size_t>(std::max(0, cfg.valueEpochs)));
    for (int epoch = 0; epoch < cfg.valueEpochs; ++epoch) {
        double epochLoss = 0;
        // Fisher-Yates shuffle with our own RNG (std::shuffle is implementation-defined)
        for (int i = n - 1; i > 0; --i) std::swap(idx[i], idx[static_cast<int>(rng.below(i + 1))]);
        for (int start = 0; start < n; start += mb) {
            throwIfCancelled(cancel);
            const int b = std::min(mb, n - start);
            const Shards cut(b, 128);
            thetaF = m_theta.cast<float>();
            // with several ranks a minibatch of several shards is shared out like the TRPO
            // update's shards (docs/design.md §7): each rank computes its own, then every
            // shard's gradient and loss reach every rank, which sums them in shard order below
            const bool split = distributed(collective) && cut.count() > 1;
            const Share own = split ? shareOf(cut.count(), collective->rank(), collective->size())
                                    : Share{0, cut.count()};
            parallelFor(own.count(), cfg.threads, [&](int i) {
                const int k = own.begin + i;
                shardGradient(parts[k], thetaF, obsF, idx.data() + start + cut.begin[k], cut.size[k], returns, 2.0 / b);
            });
            if (split) exchangeShards(*collective, cut.count(), own);
            grad = parts[0].grad.cast<double>();
            for (int k = 1; k < cut.count(); ++k) grad += parts[k].grad.cast<double>();
            for (int k = 0; k < cut.count(); ++k) epochLoss += parts[k].lossSum;
            m_adam.step(m_theta, grad);
        }
        r.epochLosses.push_back(epochLoss / n);
    }
    pred = predict(obs, timestep);
    scoreFit(pred, returns, r.lossAfter, r.explainedVarianceAfter);
    return r;
}

void NetworkValueFunction::shardGradient(FitPart& p, const Eigen::VectorXf& thetaF, const Eigen::MatrixXf& obs,
                                         const int* cols, int len, const VectorXd& returns, double scale) {
    p.x.resize(obs.rows(), len);
    p.dOut.resize(1, len);
    for (int c = 0; c < len; ++c) p.x.col(c) = obs.col(cols[c]);
    const Eigen::MatrixXf& out = m_net.forward(thetaF, p.x, p.ws);
    p.lossSum = 0;
    for (int c = 0; c < len; ++c) {
        const double e = out(0, c) - returns(cols[c]);
        p.lossSum += e * e;
        p.dOut(0, c) = static_cast<float>(scale * e);
    }
    p.grad.setZero(m_theta.size());
    m_net.backward(thetaF, p.dOut, p.ws, p.grad);
}

double NetworkValueFunction::lossGradient(const Eigen::MatrixXf& obs, const std::vector<int>& cols,
                                          const VectorXd& returns, double coeff, VectorXd& grad) {
    if (m_fitParts.empty()) m_fitParts.resize(1);
    FitPart& p = m_fitParts[0];
    const int len = static_cast<int>(cols.size());
    shardGradient(p, m_theta.cast<float>(), obs, cols.data(), len, returns, coeff * 2.0 / len);
    grad = p.grad.cast<double>();
    return p.lossSum;
}

void NetworkValueFunction::adamStep(const VectorXd& grad, double lr) {
    m_adam.lr = lr;
    m_adam.step(m_theta, grad);
}

// every shard's float gradient (its bytes, two floats to a double) and loss sum reach every
// rank; the copies are exact, so the sums below are those of one process
void NetworkValueFunction::exchangeShards(Collective& c, int count, Share own) {
    const Eigen::Index p = m_theta.size();
    const size_t gradDoubles = (static_cast<size_t>(p) * sizeof(float) + sizeof(double) - 1) / sizeof(double);
    const size_t w = gradDoubles + 1;
    m_exchange.assign(static_cast<size_t>(count) * w, 0.0);
    for (int k = own.begin; k < own.end; ++k) {
        double* at = m_exchange.data() + static_cast<size_t>(k) * w;
        std::memcpy(at, m_fitParts[k].grad.data(), static_cast<size_t>(p) * sizeof(float));
        at[gradDoubles] = m_fitParts[k].lossSum;
    }
    std::vector<int> counts(static_cast<size_t>(c.size()));
    for (int r = 0; r < c.size(); ++r) counts[r] = shareOf(count, r, c.size()).count() * static_cast<int>(w);
    c.allGatherInPlace(m_exchange.data(), counts);
    for (int k = 0; k < count; ++k) {
        if (k >= own.begin && k < own.end) continue;
        const double* at = m_exchange.data() + static_cast<size_t>(k) * w;
        m_fitParts[k].grad.resize(p);
        std::memcpy(m_fitParts[k].grad.data(), at, static_cast<size_t>(p) * sizeof(float));
        m_fitParts[k].lossSum = at[gradDoubles];
    }
}

VectorXd NetworkValueFunction::state() const { return paramsAndAdam(m_theta, m_adam); }

void NetworkValueFunction::setState(const VectorXd& s) {
    if (s.size() != 3 * m_theta.size() + 1) throw std::runtime_error("value function state has the wrong size");
    setParamsAndAdam(s, m_theta, m_adam);
}

RecurrentValueFunction::RecurrentValueFunction(const NetworkSpec& net, Rng& rng) : m_net(net, 1) {
    if (!m_net.isRecurrent()) throw std::invalid_argument("RecurrentValueFunction needs network = gru or cnn_gru");
    m_theta = initialCriticParams(net, rng);
    m_adam.reset(m_net.numParams());
}

VectorXd RecurrentValueFunction::predict(const MatrixXd& obs, const Eigen::VectorXi&) const {
    NetworkFloat::Workspace ws; // no layout: one episode
    const Eigen::MatrixXf x = obs.cast<float>();
    return m_net.forward(m_theta.cast<float>(), x, ws).row(0).transpose().cast<double>();
}

void RecurrentValueFunction::predictBatch(const CriticBatch& b, VectorXd& values, VectorXd& bootValues) {
    const int E = b.copies, T = b.steps, N = E * T, H = m_net.stateSize();
    if (b.obs.cols() != N || b.timestep.size() != N) throw std::invalid_argument("critic batch: sizes do not match");
    if (m_carried.rows() != H || m_carried.cols() != E) m_carried = MatrixXd::Zero(H, E);
    m_copies = E;
    m_steps = T;
    m_layout = SequenceLayout::blocks(E, T);
    m_layout.episodeStart.resize(static_cast<size_t>(N));
    for (int c = 0; c < N; ++c) m_layout.episodeStart[static_cast<size_t>(c)] = b.timestep(c) == 0 ? 1 : 0;
    const Eigen::VectorXf theta = m_theta.cast<float>();
    NetworkFloat::Workspace& ws = m_ws;
    ws.sequences = m_layout;
    ws.h0 = m_carried.cast<float>();
    values = m_net.forward(theta, b.obs.cast<float>(), ws).row(0).transpose().cast<double>();
    m_states = ws.gru.hPrev;
    const Eigen::MatrixXf after = ws.gru.h;
    for (int e = 0; e < E; ++e) m_carried.col(e) = after.col(e * T + T - 1).cast<double>();
    bootValues.resize(static_cast<Eigen::Index>(b.bootIndex.size()));
    if (b.bootIndex.empty()) return;
    // each bootstrap observation is the step after its column, in the same episode
    const int B = static_cast<int>(b.bootIndex.size());
    NetworkFloat::Workspace boot;
    boot.sequences = SequenceLayout::blocks(B, 1);
    boot.h0.resize(H, B);
    for (int i = 0; i < B; ++i) boot.h0.col(i) = after.col(b.bootIndex[static_cast<size_t>(i)]);
    bootValues = m_net.forward(theta, b.bootObs.cast<float>(), boot).row(0).transpose().cast<double>();
}

VectorXd RecurrentValueFunction::valuesOfBatch(const Eigen::MatrixXf& obs) const {
    m_ws.sequences = m_layout;
    m_ws.h0.resize(m_states.rows(), m_copies);
    for (int e = 0; e < m_copies; ++e) m_ws.h0.col(e) = m_states.col(e * m_steps);
    return m_net.forward(m_theta.cast<float>(), obs, m_ws).row(0).transpose().cast<double>();
}

FitResult RecurrentValueFunction::fit(const MatrixXd& obs, const Eigen::VectorXi&, const VectorXd& returns,
                                      const TrpoConfig& cfg, Rng& rng, CancelFlag cancel, Collective*) {
    const int n = static_cast<int>(returns.size());
    if (n != m_copies * m_steps || obs.cols() != n)
        throw std::logic_error("RecurrentValueFunction::fit: not the batch of the last predictBatch()");
    FitResult r;
    const Eigen::MatrixXf obsF = obs.cast<float>();
    VectorXd pred = valuesOfBatch(obsF);
    scoreFit(pred, returns, r.lossBefore, r.explainedVarianceBefore);

    // the chunks: bptt_steps steps of one copy at most, each from its recorded state
    struct Chunk {
        int begin, length;
    };
    std::vector<Chunk> chunks;
    const int L = std::max(1, cfg.bpttSteps);
    for (int e = 0; e < m_copies; ++e)
        for (int k = 0; k < m_steps; k += L) chunks.push_back({e * m_steps + k, std::min(L, m_steps - k)});
    m_adam.lr = cfg.valueLr;
    const int mb = std::max(1, std::min(cfg.valueMinibatch, n));
    const int H = m_net.stateSize();
    NetworkFloat::Workspace ws;
    Eigen::MatrixXf x, dOut;
    Eigen::VectorXf grad;
    std::vector<int> cols;
    r.epochLosses.reserve(static_cast<size_t>(std::max(0, cfg.valueEpochs)));
    for (int epoch = 0; epoch < cfg.valueEpochs; ++epoch) {
        // Fisher-Yates over the chunks with our own RNG
        for (int i = static_cast<int>(chunks.size()) - 1; i > 0; --i)
            std::swap(chunks[static_cast<size_t>(i)], chunks[static_cast<size_t>(rng.below(i + 1))]);
        double epochLoss = 0;
        for (size_t first = 0; first < chunks.size();) {
            throwIfCancelled(cancel);
            // chunks until the minibatch holds value_minibatch steps
            size_t last = first;
            cols.clear();
            SequenceLayout& l = ws.sequences;
            l.begin.clear();
            l.length.clear();
            l.episodeStart.clear();
            while (last < chunks.size() && static_cast<int>(cols.size()) < mb) {
                const Chunk& ch = chunks[last++];
                l.begin.push_back(static_cast<int>(cols.size()));
                l.length.push_back(ch.length);
                for (int c = ch.begin; c < ch.begin + ch.length; ++c) {
                    cols.push_back(c);
                    l.episodeStart.push_back(m_layout.episodeStart[static_cast<size_t>(c)]);
                }
            }
            const int m = static_cast<int>(cols.size());
            x.resize(obsF.rows(), m);
            ws.h0.resize(H, l.sequences());
            for (int c = 0; c < m; ++c) x.col(c) = obsF.col(cols[static_cast<size_t>(c)]);
            for (int s = 0; s < l.sequences(); ++s) ws.h0.col(s) = m_states.col(cols[static_cast<size_t>(l.begin[s])]);
            const Eigen::VectorXf theta = m_theta.cast<float>();
            const Eigen::MatrixXf& out = m_net.forward(theta, x, ws);
            dOut.resize(1, m);
            for (int c = 0; c < m; ++c) {
                const double err = out(0, c) - returns(cols[static_cast<size_t>(c)]);
                epochLoss += err * err;
                dOut(0, c) = static_cast<float>((2.0 / m) * err);
            }
            grad.setZero(m_theta.size());
            m_net.backward(theta, dOut, ws, grad);
            m_adam.step(m_theta, grad.cast<double>());
            first = last;
        }
        r.epochLosses.push_back(epochLoss / n);
    }
    pred = valuesOfBatch(obsF);
    scoreFit(pred, returns, r.lossAfter, r.explainedVarianceAfter);
    return r;
}

VectorXd RecurrentValueFunction::state() const {
    const VectorXd head = paramsAndAdam(m_theta, m_adam);
    VectorXd s(head.size() + m_carried.size());
    s << head, Eigen::Map<const VectorXd>(m_carried.data(), m_carried.size());
    return s;
}

void RecurrentValueFunction::setState(const VectorXd& s) {
    const Eigen::Index head = 3 * m_theta.size() + 1, H = m_net.stateSize();
    const Eigen::Index carried = s.size() - head;
    if (carried < 0 || carried % H != 0) throw std::runtime_error("value function state has the wrong size");
    setParamsAndAdam(s, m_theta, m_adam);
    m_carried = Eigen::Map<const MatrixXd>(s.data() + head, H, carried / H);
}

LinearFeatureBaseline::LinearFeatureBaseline(int obsDim) : m_obsDim(obsDim) {
    m_coeffs = VectorXd::Zero(2 * obsDim + 4);
}

MatrixXd LinearFeatureBaseline::features(const MatrixXd& obs, const Eigen::VectorXi& timestep) const {
    // rllab: [clip(o, ±10), clip(o, ±10)², t/100, (t/100)², (t/100)³, 1]
    const Eigen::Index n = obs.cols();
    MatrixXd f(2 * m_obsDim + 4, n);
    const MatrixXd o = obs.cwiseMax(-10.0).cwiseMin(10.0);
    f.topRows(m_obsDim) = o;
    f.middleRows(m_obsDim, m_obsDim) = o.array().square();
    const Eigen::RowVectorXd t = timestep.cast<double>().transpose() / 100.0;
    f.row(2 * m_obsDim) = t;
    f.row(2 * m_obsDim + 1) = t.array().square();
    f.row(2 * m_obsDim + 2) = t.array().cube();
    f.row(2 * m_obsDim + 3).setOnes();
    return f;
}

VectorXd LinearFeatureBaseline::predict(const MatrixXd& obs, const Eigen::VectorXi& timestep) const {
    return features(obs, timestep).transpose() * m_coeffs;
}

FitResult LinearFeatureBaseline::fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns,
                                     const TrpoConfig&, Rng&, CancelFlag, Collective*) {
    FitResult r;
    VectorXd pred = predict(obs, timestep);
    scoreFit(pred, returns, r.lossBefore, r.explainedVarianceBefore);
    const MatrixXd f = features(obs, timestep);
    const MatrixXd ff = f * f.transpose();
    const VectorXd fy = f * returns;
    double reg = 1e-5;
    for (int attempt = 0; attempt < 5; ++attempt, reg *= 10) {
        const VectorXd c = (ff + reg * MatrixXd::Identity(ff.rows(), ff.cols())).ldlt().solve(fy);
        if (c.allFinite()) {
            m_coeffs = c;
            break;
        }
    }
    pred = predict(obs, timestep);
    scoreFit(pred, returns, r.lossAfter, r.explainedVarianceAfter);
    return r;
}

void LinearFeatureBaseline::setState(const VectorXd& s) {
    if (s.size() != m_coeffs.size()) throw std::runtime_error("linear baseline state has the wrong size");
    m_coeffs = s;
}

std::unique_ptr<ValueFunction> makeValueFunction(const TrpoConfig& cfg, const EnvSpec& env, Rng& rng) {
    if (cfg.baseline == BaselineKind::Linear) return std::make_unique<LinearFeatureBaseline>(env.observation.dim());
    const NetworkSpec spec = criticSpec(cfg, env);
    if (isRecurrentNetwork(spec.kind)) return std::make_unique<RecurrentValueFunction>(spec, rng);
    return std::make_unique<NetworkValueFunction>(spec, rng);
}

} // namespace core
