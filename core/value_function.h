// Critics: a network (an MLP, or a CNN over image observations: core/network.h) fitted by
// Adam in minibatch epochs on the returns (SB3-contrib's default), or rllab's linear-feature
// baseline fitted by ridge regression.
#pragma once

#include <Eigen/Dense>
#include <memory>

#include "core/cancel.h"
#include "core/collective.h"
#include "core/config.h"
#include "core/network.h"
#include "core/rng.h"

namespace core {

struct Adam {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-5;
    VectorXd m, v;
    long long t = 0;
    void reset(int n) {
        m = VectorXd::Zero(n);
        v = VectorXd::Zero(n);
        t = 0;
    }
    void step(Eigen::Ref<VectorXd> theta, const VectorXd& grad);
};

struct FitResult {
    double lossBefore = 0, lossAfter = 0;
    double explainedVarianceBefore = 0, explainedVarianceAfter = 0;
    // the MLP critic: each epoch's mean squared error over its minibatches, each measured
    // before its Adam step (empty for the linear baseline, which has no epochs)
    std::vector<double> epochLosses = {};
};

// 1 − Var(target − pred) / Var(target); NaN (undefined) for fewer than 2 targets or targets
// without variance (their spread below 1e-4 of their size)
double explainedVariance(const VectorXd& pred, const VectorXd& target);
// the mean squared error of predictions and their explained variance
void scoreFit(const VectorXd& pred, const VectorXd& returns, double& loss, double& explained);

// a batch as a critic predicts on it: the sampler's steps (copy-major: `copies` blocks of
// `steps`), each step's index in its episode, and the bootstrap observations, each with the
// batch column it follows
struct CriticBatch {
    const MatrixXd& obs;
    const Eigen::VectorXi& timestep;
    int copies, steps;
    const MatrixXd& bootObs;
    const Eigen::VectorXi& bootTimestep;
    const std::vector<int>& bootIndex;
};

class ValueFunction {
public:
    virtual ~ValueFunction() = default;
    // obs: obsDim x N; timestep: step index within the episode (N)
    // (one caller at a time: implementations may reuse scratch buffers)
    virtual VectorXd predict(const MatrixXd& obs, const Eigen::VectorXi& timestep) const = 0;
    // the values of a batch's steps and of its bootstrap observations (what phase 2 of an
    // iteration needs); by default predict() on each. A recurrent critic reads the steps as
    // its copies' sequences and remembers them for the fit() on the same batch.
    virtual void predictBatch(const CriticBatch& b, VectorXd& values, VectorXd& bootValues) {
        values = predict(b.obs, b.timestep);
        bootValues = b.bootIndex.empty() ? VectorXd() : predict(b.bootObs, b.bootTimestep);
    }
    // cancel: looked at before each minibatch step; when set, fit throws Interrupted
    // (core/cancel.h) and leaves the parameters part way (the caller restores them).
    // collective: with several ranks (core/collective.h) every rank calls fit with the same
    // arguments; the MLP critic then shares each minibatch's shards out among the ranks and
    // exchanges their gradients, with the same result on every rank as in one process.
    virtual FitResult fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns,
                          const TrpoConfig& cfg, Rng& rng, CancelFlag cancel = nullptr,
                          Collective* collective = nullptr) = 0;
    // flat state for checkpoints (parameters and optimiser)
    virtual VectorXd state() const = 0;
    virtual void setState(const VectorXd& s) = 0;
};

class NetworkValueFunction : public ValueFunction {
public:
    // an MLP critic
    NetworkValueFunction(int obsDim, const std::vector<int>& hidden, Activation act, Rng& rng);
    // over the network `net` describes, one output
    NetworkValueFunction(const NetworkSpec& net, Rng& rng);
    VectorXd predict(const MatrixXd& obs, const Eigen::VectorXi& timestep) const override;
    FitResult fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns, const TrpoConfig& cfg,
                  Rng& rng, CancelFlag cancel = nullptr, Collective* collective = nullptr) override;
    VectorXd state() const override;
    void setState(const VectorXd& s) override;
    const VectorXd& params() const { return m_theta; }

    // the critic trained in the policy's Adam steps (value_coeff; docs/algorithm.md §11.6):
    // the gradient of coeff·mean_i (V(s_i) − R_i)² over the columns `cols` of obs (float,
    // obsDim x N) and returns (N), in float as fit() computes it; returns Σ_i (V(s_i) − R_i)²
    double lossGradient(const Eigen::MatrixXf& obs, const std::vector<int>& cols, const VectorXd& returns,
                        double coeff, VectorXd& grad);
    // one step of the critic's Adam down `grad` at learning rate lr
    void adamStep(const VectorXd& grad, double lr);

private:
    NetworkFloat m_net; // evaluated in float (see BasicMlp)
    VectorXd m_theta; // master parameters, updated by Adam in double
    Adam m_adam;
    // scratch buffers reused between calls (predict and fit are not for concurrent use)
    struct FitPart {
        NetworkFloat::Workspace ws;
        Eigen::MatrixXf x, dOut;
        Eigen::VectorXf grad;
        double lossSum = 0; // Σ (V − R)² over the shard, before the step
    };
    std::vector<FitPart> m_fitParts;
    // part.grad and part.lossSum for the len samples obs.col(cols[i]), returns(cols[i]); the
    // output derivative of sample i is scale·(V_i − R_i)
    void shardGradient(FitPart& part, const Eigen::VectorXf& thetaF, const Eigen::MatrixXf& obs, const int* cols,
                       int len, const VectorXd& returns, double scale);
    void exchangeShards(Collective& c, int count, Share own);
    std::vector<double> m_exchange; // a split minibatch's shard gradients and losses, as exchanged
    mutable NetworkFloat::Workspace m_predictWs;
    mutable Eigen::MatrixXf m_predictX;
};

// A GRU critic (network = gru with gru_critic; README "Recurrent policies"): a GRU of
// gru_state units over the observation, then value_hidden, one output, evaluated in float
// like the MLP critic. It carries a state per environment copy from batch to batch:
// predictBatch() runs each copy's steps as one sequence from the copy's carried state (zero at
// an episode's start), records the state before every step and carries the state after the
// last one; a bootstrap observation is valued from the state after the step it follows.
// fit() then trains on that batch in chunks of bptt_steps steps of a copy, each starting from
// its recorded state: every epoch shuffles the chunks and takes them in minibatches of about
// value_minibatch steps (one thread; with several ranks every rank fits the same). state()
// holds the carried states after the parameters and the optimiser, so a checkpoint resumes
// them.
class RecurrentValueFunction : public ValueFunction {
public:
    RecurrentValueFunction(const NetworkSpec& net, Rng& rng); // net.kind == gru
    // obs read as one episode from a zero state
    VectorXd predict(const MatrixXd& obs, const Eigen::VectorXi& timestep) const override;
    void predictBatch(const CriticBatch& b, VectorXd& values, VectorXd& bootValues) override;
    // on the batch of the last predictBatch() (throws std::logic_error for another size)
    FitResult fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns, const TrpoConfig& cfg,
                  Rng& rng, CancelFlag cancel = nullptr, Collective* collective = nullptr) override;
    VectorXd state() const override;
    void setState(const VectorXd& s) override;
    const VectorXd& params() const { return m_theta; }
    // each copy's state before its next step (state size x copies; empty before a batch)
    const MatrixXd& carried() const { return m_carried; }

private:
    // the values of the last predictBatch()'s steps at the current θ, from the states it
    // recorded at each copy's first step
    VectorXd valuesOfBatch(const Eigen::MatrixXf& obs) const;
    NetworkFloat m_net;
    VectorXd m_theta;
    Adam m_adam;
    MatrixXd m_carried;
    // the last predictBatch()'s layout (one sequence per copy) and recorded states
    int m_copies = 0, m_steps = 0;
    SequenceLayout m_layout;
    Eigen::MatrixXf m_states;
    mutable NetworkFloat::Workspace m_ws;
};

class LinearFeatureBaseline : public ValueFunction {
public:
    explicit LinearFeatureBaseline(int obsDim);
    VectorXd predict(const MatrixXd& obs, const Eigen::VectorXi& timestep) const override;
    FitResult fit(const MatrixXd& obs, const Eigen::VectorXi& timestep, const VectorXd& returns, const TrpoConfig& cfg,
                  Rng& rng, CancelFlag cancel = nullptr, Collective* collective = nullptr) override;
    VectorXd state() const override { return m_coeffs; }
    void setState(const VectorXd& s) override;

private:
    MatrixXd features(const MatrixXd& obs, const Eigen::VectorXi& timestep) const; // F x N
    int m_obsDim;
    VectorXd m_coeffs;
};

// the critic cfg.baseline names for an environment (network = cnn: conv layers over its
// image, then cfg.valueHidden; network = gru: an MLP over the observation, or with gru_critic
// a RecurrentValueFunction, criticSpec());
// throws ConfigError as networkSpec() does
std::unique_ptr<ValueFunction> makeValueFunction(const TrpoConfig& cfg, const EnvSpec& env, Rng& rng);

} // namespace core
