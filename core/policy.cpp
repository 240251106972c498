#include "core/policy.h"

#include <cmath>
#include <numbers>

#include "core/rng.h"

namespace core {

namespace {
constexpr double kLog2Pi = 1.8378770664093453; // log(2π)
}

Policy::Policy(int obsDim, const Space& actionSpace, const std::vector<int>& hidden, Activation act)
    : Policy(NetworkSpec{NetworkKind::Mlp, obsDim, {}, {}, hidden, act}, actionSpace) {}

Policy::Policy(const NetworkSpec& net, const Space& actionSpace)
    : m_net(net, actionSpace.policyOutputs()), m_netF(net, actionSpace.policyOutputs()),
      m_discrete(actionSpace.isDiscrete()) {}

VectorXd Policy::initialParams(Rng& rng, double logStdInit) const {
    VectorXd theta(numParams());
    m_net.initialize(theta.head(m_net.numParams()), 0.01, rng);
    if (!m_discrete) theta.tail(outputs()).setConstant(logStdInit);
    return theta;
}

void Policy::distribution(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs, NetworkWorkspace& ws,
                          DistBatch& d) const {
    d.out = m_net.forward(theta.head(m_net.numParams()), obs, ws);
    finishDistribution(theta, d);
}

void Policy::step(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& x, Eigen::Ref<VectorXd> state,
                  NetworkWorkspace& ws, DistBatch& d) const {
    if (recurrent()) { // one sequence of one step from `state`
        if (ws.sequences.sequences() != 1 || ws.sequences.length[0] != 1) ws.sequences = SequenceLayout::blocks(1, 1);
        ws.h0 = state;
    }
    distribution(theta, x, ws, d);
    if (recurrent()) state = ws.gru.h.col(0);
}

void Policy::finishDistribution(const ParamRef& theta, DistBatch& d) const {
    if (m_discrete) {
        // stable log-softmax per column
        const Eigen::RowVectorXd mx = d.out.colwise().maxCoeff();
        d.logp = d.out.rowwise() - mx;
        const Eigen::RowVectorXd lse = d.logp.array().exp().colwise().sum().log();
        d.logp.rowwise() -= lse;
        d.p = d.logp.array().exp();
    } else {
        d.logStd = theta.tail(outputs());
    }
}

VectorXd Policy::logProb(const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions) const {
    const Eigen::Index n = d.out.cols();
    VectorXd lp(n);
    if (m_discrete) {
        for (Eigen::Index i = 0; i < n; ++i) lp(i) = d.logp(static_cast<int>(actions(0, i)), i);
    } else {
        const VectorXd invVar = (-2.0 * d.logStd).array().exp();
        const double c = -d.logStd.sum() - 0.5 * kLog2Pi * outputs();
        lp = (-0.5 * ((actions - d.out).array().square().colwise() * invVar.array()).colwise().sum()).transpose();
        lp.array() += c;
    }
    return lp;
}

VectorXd Policy::kl(const DistBatch& old, const DistBatch& cur) const {
    if (m_discrete) return (old.p.array() * (old.logp - cur.logp).array()).colwise().sum().transpose();
    // Σ_j log(σn/σo) + (σo² + (μo-μn)²) / (2σn²) - 1/2
    const VectorXd varOld = (2.0 * old.logStd).array().exp();
    const VectorXd invVarNew = (-2.0 * cur.logStd).array().exp();
    const double constPart =
        (cur.logStd - old.logStd).sum() + 0.5 * (varOld.array() * invVarNew.array()).sum() - 0.5 * outputs();
    VectorXd k = (0.5 * ((old.out - cur.out).array().square().colwise() * invVarNew.array()).colwise().sum())
                     .transpose();
    k.array() += constPart;
    return k;
}

VectorXd Policy::entropy(const DistBatch& d) const {
    if (m_discrete) return (-(d.p.array() * d.logp.array()).colwise().sum()).transpose();
    const double h = d.logStd.sum() + 0.5 * outputs() * (1.0 + kLog2Pi);
    return VectorXd::Constant(d.out.cols(), h);
}

void Policy::logProbGradient(const ParamRef& theta, const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions,
                             const Eigen::Ref<const VectorXd>& w, double entCoeff, NetworkWorkspace& ws,
                             Eigen::Ref<VectorXd> grad) const {
    const MatrixXd dOut = logProbOutputGradient(d, actions, w, entCoeff, grad);
    m_net.backward(theta.head(m_net.numParams()), dOut, ws, grad.head(m_net.numParams()));
}

MatrixXd Policy::logProbOutputGradient(const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions,
                                       const Eigen::Ref<const VectorXd>& w, double entCoeff,
                                       Eigen::Ref<VectorXd> grad) const {
    const Eigen::Index n = d.out.cols();
    MatrixXd dOut(outputs(), n);
    if (m_discrete) {
        // d log p_a / dz = onehot(a) - p
        dOut = -d.p;
        for (Eigen::Index i = 0; i < n; ++i) dOut(static_cast<int>(actions(0, i)), i) += 1.0;
        dOut.array().rowwise() *= w.transpose().array();
        if (entCoeff != 0.0) {
            // dH/dz_k = -p_k (log p_k + H)
            const Eigen::RowVectorXd H = -(d.p.array() * d.logp.array()).colwise().sum();
            MatrixXd dH = d.logp;
            dH.rowwise() += H;
            dOut.array() -= (entCoeff / n) * d.p.array() * dH.array();
        }
    } else {
        const VectorXd invVar = (-2.0 * d.logStd).array().exp();
        const MatrixXd diff = actions - d.out;
        dOut = diff.array().colwise() * invVar.array();
        // d/dlogσ_j Σ_i w_i logp_i = Σ_i w_i ((a-μ)²/σ² - 1)
        MatrixXd z2 = diff.array().square().colwise() * invVar.array();
        z2.array() -= 1.0;
        grad.tail(outputs()) += z2 * w + VectorXd::Constant(outputs(), entCoeff);
        dOut.array().rowwise() *= w.transpose().array();
    }
    return dOut;
}

const Eigen::MatrixXf& Policy::forwardFloat(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs,
                                            const NetworkWorkspace& sequences, NetworkFloat::Workspace& ws,
                                            Eigen::MatrixXf& obsF, Eigen::VectorXf& thetaF) const {
    obsF = obs.cast<float>();
    ws.sequences = sequences.sequences;
    ws.h0 = sequences.h0.cast<float>();
    thetaF = theta.head(m_net.numParams()).cast<float>();
    return m_netF.forward(thetaF, obsF, ws);
}

void Policy::distributionFloat(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs,
                               const NetworkWorkspace& sequences, FloatPass& c, DistBatch& d) const {
    d.out = forwardFloat(theta, obs, sequences, c.ws, c.obs, c.theta).cast<double>();
    finishDistribution(theta, d);
}

void Policy::backwardFloat(const Eigen::Ref<const MatrixXd>& dOut, FloatPass& c, Eigen::Ref<VectorXd> grad) const {
    const int np = m_net.numParams();
    c.dOut = dOut.cast<float>();
    c.grad.setZero(np);
    m_netF.backward(c.theta, c.dOut, c.ws, c.grad);
    grad.head(np) += c.grad.cast<double>();
}

void Policy::fisherVectorProduct(const ParamRef& theta, const DistBatch& d, const ParamRef& v, NetworkWorkspace& ws,
                                 Eigen::Ref<VectorXd> out) const {
    const int np = m_net.numParams();
    const Eigen::Index n = d.out.cols();
    MatrixXd u = m_net.jvp(theta.head(np), v.head(np), ws); // J v
    if (m_discrete) {
        // M u = p ⊙ u - p (pᵀu)
        const Eigen::RowVectorXd pu = (d.p.array() * u.array()).colwise().sum();
        u = d.p.array() * (u.rowwise() - pu).array();
    } else {
        const VectorXd invVar = (-2.0 * d.logStd).array().exp();
        u.array().colwise() *= invVar.array();
    }
    u /= static_cast<double>(n);
    out.setZero();
    m_net.backward(theta.head(np), u, ws, out.head(np));
    if (!m_discrete) out.tail(outputs()) = 2.0 * v.tail(outputs());
}

void Policy::prepareFloatFisher(const ParamRef& theta, const DistBatch& d, const NetworkWorkspace& ws,
                            FloatFisherCache& c) const {
    c.theta = theta.head(m_net.numParams()).cast<float>();
    copyActivations(ws, c.ws, [](const MatrixXd& m) { return m.cast<float>(); });
    if (m_discrete) c.p = d.p.cast<float>();
}

void Policy::floatFisherVectorProduct(const DistBatch& d, const ParamRef& v, FloatFisherCache& c,
                                  Eigen::Ref<VectorXd> out) const {
    const int np = m_net.numParams();
    const Eigen::Index n = NetworkFloat::samples(c.ws);
    c.v = v.head(np).cast<float>();
    c.u = m_netF.jvp(c.theta, c.v, c.ws); // J v
    if (m_discrete) {
        const Eigen::RowVectorXf pu = (c.p.array() * c.u.array()).colwise().sum();
        c.u = c.p.array() * (c.u.rowwise() - pu).array();
    } else {
        const Eigen::VectorXf invVar = (-2.0 * d.logStd).array().exp().cast<float>();
        c.u.array().colwise() *= invVar.array();
    }
    c.u *= 1.0f / static_cast<float>(n);
    c.grad.setZero(np);
    m_netF.backward(c.theta, c.u, c.ws, c.grad);
    out.head(np) = c.grad.cast<double>();
    if (!m_discrete) out.tail(outputs()) = 2.0 * v.tail(outputs());
}

void Policy::prepareFloatDistribution(const ParamRef& thetaRef, const Eigen::Ref<const MatrixXd>& obs,
                                      const NetworkWorkspace& sequences, FloatForwardCache& c) const {
    c.outRef = forwardFloat(thetaRef, obs, sequences, c.ws, c.obs, c.theta);
}

void Policy::floatDistribution(const ParamRef& theta, const DistBatch& ref, FloatForwardCache& c,
                               DistBatch& d) const {
    c.theta = theta.head(m_net.numParams()).cast<float>();
    const Eigen::MatrixXf& out = m_netF.forward(c.theta, c.obs, c.ws);
    d.out = ref.out + (out - c.outRef).cast<double>();
    finishDistribution(theta, d);
}

void Policy::sampleHeld(const DistBatch& d, int col, Rng& rng, int holdSteps, Eigen::Ref<VectorXd> eps, int& left,
                        double* action) const {
    if (left <= 0) {
        for (Eigen::Index j = 0; j < eps.size(); ++j) eps(j) = rng.normal();
        left = holdSteps;
    }
    --left;
    for (int j = 0; j < outputs(); ++j) action[j] = d.out(j, col) + std::exp(d.logStd(j)) * eps(j);
}

void Policy::sample(const DistBatch& d, int col, Rng& rng, bool deterministic, double* action) const {
    if (m_discrete) {
        int a = 0;
        if (deterministic) {
            d.out.col(col).maxCoeff(&a);
        } else {
            double u = rng.uniform(), acc = 0.0;
            const int n = outputs();
            a = n - 1;
            for (int k = 0; k < n; ++k) {
                acc += d.p(k, col);
                if (u < acc) {
                    a = k;
                    break;
                }
            }
        }
        action[0] = a;
    } else {
        for (int j = 0; j < outputs(); ++j)
            action[j] = d.out(j, col) + (deterministic ? 0.0 : std::exp(d.logStd(j)) * rng.normal());
    }
}

} // namespace core
