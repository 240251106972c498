// Stochastic policies over a Network (an MLP, or a CNN for image observations: core/network.h): a categorical policy (logits = network output) for
// discrete actions and a diagonal Gaussian with a state-independent log-std for continuous
// ones. θ = [network parameters, log-std (Gaussian only)].
//
// Everything a TRPO update needs is here: log-probabilities, their gradient, KL and entropy,
// and the exact Fisher-vector product in Gauss-Newton form F v = (1/N) Σ_i J_iᵀ M_i J_i v,
// with J_i the Jacobian of the distribution parameters and M_i the Fisher of the
// distribution in its own parameters (diag(p) - p pᵀ for logits; diag(1/σ²) for the mean and
// 2 for each log-std entry). See docs/algorithm.md §4.1.
#pragma once

#include <Eigen/Dense>

#include "core/environment.h"
#include "core/network.h"

namespace core {

class Rng;

// a batch of distributions: logits or means (outputs x N), plus what is derived from them
struct DistBatch {
    MatrixXd out;    // logits (n x N) or means (dim x N)
    MatrixXd logp;   // categorical: log-softmax of out (n x N)
    MatrixXd p;      // categorical: softmax (n x N)
    VectorXd logStd; // Gaussian: log-std (dim)
};

class Policy {
public:
    Policy() = default;
    // an MLP policy
    Policy(int obsDim, const Space& actionSpace, const std::vector<int>& hidden, Activation act);
    // over the network `net` describes (outputs: the action space's)
    Policy(const NetworkSpec& net, const Space& actionSpace);

    bool discrete() const { return m_discrete; }
    int obsDim() const { return m_net.inputs(); }
    int outputs() const { return m_net.outputs(); }       // logits or action dims
    int actionDim() const { return m_discrete ? 1 : outputs(); }
    int numParams() const { return m_net.numParams() + (m_discrete ? 0 : outputs()); }
    const Network& net() const { return m_net; }
    int logStdOffset() const { return m_net.numParams(); }
    // a recurrent policy (network = gru) and the size of its state (0 otherwise): the
    // samples it sees form sequences, set in the workspace (core/network.h) before
    // distribution()
    bool recurrent() const { return m_net.isRecurrent(); }
    int stateSize() const { return m_net.stateSize(); }

    // SB3-style initialisation: orthogonal, gain 0.01 on the action head, log-std = logStdInit
    VectorXd initialParams(Rng& rng, double logStdInit) const;

    // forward pass on obs (obsDim x N); caches activations in ws for gradients and FVPs.
    // Recurrent: obs read as ws.sequences from the states ws.h0 (empty: one episode)
    void distribution(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs, NetworkWorkspace& ws,
                      DistBatch& d) const;

    // One step of an episode for one observation x (obsDim x 1), as the sampler and
    // PolicySnapshot::act take them: a recurrent policy starts from `state` (state size;
    // zero at an episode's first step) and leaves there its state after the step; the other
    // policies ignore it (size 0) and run distribution().
    void step(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& x, Eigen::Ref<VectorXd> state,
              NetworkWorkspace& ws, DistBatch& d) const;

    // log π(a_i | s_i) for actions (actionDim x N; a discrete action is its index)
    VectorXd logProb(const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions) const;
    // per-sample KL(old || cur) and entropy
    VectorXd kl(const DistBatch& old, const DistBatch& cur) const;
    VectorXd entropy(const DistBatch& d) const;

    // grad += d/dθ [ Σ_i w_i log π(a_i|s_i) + entCoeff · mean_i H_i ], using the activations
    // cached in ws by distribution() at the same θ
    void logProbGradient(const ParamRef& theta, const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions,
                         const Eigen::Ref<const VectorXd>& w, double entCoeff, NetworkWorkspace& ws,
                         Eigen::Ref<VectorXd> grad) const;

    // the same gradient in two parts: logProbOutputGradient() returns the derivative with
    // respect to the network's output (outputs x N) and adds a Gaussian's log-std part to
    // grad's tail; the network's part is then a backprop of it (Network::backward, or
    // backwardFloat() below)
    MatrixXd logProbOutputGradient(const DistBatch& d, const Eigen::Ref<const MatrixXd>& actions,
                                   const Eigen::Ref<const VectorXd>& w, double entCoeff,
                                   Eigen::Ref<VectorXd> grad) const;

    // The first-order updates' minibatch passes with the network in single precision
    // (docs/algorithm.md §11): distributionFloat() runs the float copy of the network at θ on
    // obs (a recurrent policy reads obs as `sequences`' layout and starting states) and gives
    // its output in double, the log-softmax and everything after it in double;
    // backwardFloat() then adds the backprop of dOut (outputs x N) through the same float pass
    // to grad's network part.
    struct FloatPass {
        NetworkFloat::Workspace ws;
        Eigen::VectorXf theta, grad;
        Eigen::MatrixXf obs, dOut;
    };
    void distributionFloat(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs,
                           const NetworkWorkspace& sequences, FloatPass& c, DistBatch& d) const;
    void backwardFloat(const Eigen::Ref<const MatrixXd>& dOut, FloatPass& c, Eigen::Ref<VectorXd> grad) const;

    // out = F v (no damping), using the activations cached in ws and the distributions d
    // at the same θ. the tangents in ws are overwritten; the activations are kept, so CG can call this repeatedly.
    void fisherVectorProduct(const ParamRef& theta, const DistBatch& d, const ParamRef& v, NetworkWorkspace& ws,
                             Eigen::Ref<VectorXd> out) const;

    // The same product with the network work in single precision (Eigen vectorises float
    // twice as wide as double), for the CG iterations of an update: prepareFloatFisher() copies
    // θ and the activations cached in ws by distribution() into c, then each call of
    // floatFisherVectorProduct() costs one float JVP and one float backprop. Relative error
    // about 1e-6; trpoUpdate uses it unless UpdateSettings::fvpDoublePrecision is set.
    struct FloatFisherCache {
        NetworkFloat::Workspace ws;
        Eigen::VectorXf theta, v, grad;
        Eigen::MatrixXf p; // categorical: probabilities at θ
        Eigen::MatrixXf u;
    };
    void prepareFloatFisher(const ParamRef& theta, const DistBatch& d, const NetworkWorkspace& ws, FloatFisherCache& c) const;
    void floatFisherVectorProduct(const DistBatch& d, const ParamRef& v, FloatFisherCache& c, Eigen::Ref<VectorXd> out) const;

    // Distributions at θ with the network evaluated in single precision, for the trust-region
    // probe's curve (docs/algorithm.md §9). prepareFloatDistribution() stores the inputs and
    // the float network's output at a reference θ_ref; floatDistribution() then gives
    //   out = ref.out + (f32(θ) − f32(θ_ref)),
    // with ref the exact (double) distributions at θ_ref, so the rounding of the float pass
    // cancels in the difference and the KL near θ_ref stays accurate. The log-softmax is in
    // double. A recurrent policy reads obs as `sequences`' layout and starting states.
    struct FloatForwardCache {
        NetworkFloat::Workspace ws; // recurrent: prepareFloatDistribution() copies the sequences in
        Eigen::MatrixXf obs;    // the inputs, in float
        Eigen::MatrixXf outRef; // the float network's output at θ_ref
        Eigen::VectorXf theta;
    };
    void prepareFloatDistribution(const ParamRef& thetaRef, const Eigen::Ref<const MatrixXd>& obs,
                                  const NetworkWorkspace& sequences, FloatForwardCache& c) const;
    void floatDistribution(const ParamRef& theta, const DistBatch& ref, FloatForwardCache& c, DistBatch& d) const;

    // draws an action for column `col` (or the mode when deterministic) into action[0..actionDim)
    void sample(const DistBatch& d, int col, Rng& rng, bool deterministic, double* action) const;
    // Gaussian only, held exploration noise (noise_hold_steps): action = μ + σ ⊙ ε, where
    // ε ~ N(0, I) is redrawn when `left` is 0 and then used for `holdSteps` calls (`left`
    // counts them down); the sampler and the studio's viewer both explore this way
    void sampleHeld(const DistBatch& d, int col, Rng& rng, int holdSteps, Eigen::Ref<VectorXd> eps, int& left,
                    double* action) const;

private:
    // fills logp and p (categorical) or logStd (Gaussian) from d.out and θ
    void finishDistribution(const ParamRef& theta, DistBatch& d) const;
    // the float network's output at θ on obs: θ and obs rounded to float into thetaF and obsF,
    // a recurrent policy's sequences and starting states copied into ws (which then holds
    // the pass, for a backprop)
    const Eigen::MatrixXf& forwardFloat(const ParamRef& theta, const Eigen::Ref<const MatrixXd>& obs,
                                        const NetworkWorkspace& sequences, NetworkFloat::Workspace& ws,
                                        Eigen::MatrixXf& obsF, Eigen::VectorXf& thetaF) const;

    Network m_net;
    NetworkFloat m_netF; // same layout, for floatFisherVectorProduct
    bool m_discrete = true;
};

} // namespace core
