// The sampler's held exploration noise (noise_hold_steps): ε is drawn at the start of each
// episode and then every k steps, held in between; k = 1 is the ordinary white noise; the
// batch does not depend on the thread count; a checkpoint taken while a noise is held
// resumes exactly; a hold below 1 is refused. A time-limit truncation bootstraps from the
// final observation of its episode, a termination from nothing.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/presets.h"
#include "core/sampler.h"
#include "core/serialization.h"
#include "core/snapshot.h"
#include "core/trainer.h"
#include "sim/registry.h"

using namespace core;

namespace {

struct Setup {
    Policy policy;
    VectorXd theta;
    ObsNormalizer obsNorm;
    RewardScaler rewardScaler;
};

Setup makeSetup(const Sampler& s, double logStd = -0.3) {
    Setup u;
    u.policy = Policy(s.spec().observation.dim(), s.spec().action, {16, 16}, Activation::Tanh);
    Rng init(7);
    u.theta = u.policy.initialParams(init, logStd);
    // a visibly state-dependent mean, so "held noise" and "held action" differ
    if (!u.policy.discrete()) u.theta.head(u.policy.logStdOffset()) *= 30.0;
    u.obsNorm.rms.reset(s.spec().observation.dim());
    u.rewardScaler.rms.reset(1);
    return u;
}

SampleSettings sampleSettings(int steps, int threads, int hold = 1) {
    SampleSettings ss;
    ss.gamma = 0.99;
    ss.steps = steps;
    ss.threads = threads;
    ss.noiseHoldSteps = hold;
    return ss;
}

Batch collect(Sampler& s, const Setup& u, int steps, int threads, int hold) {
    Batch b;
    s.collect(u.policy, u.theta, u.obsNorm, u.rewardScaler, sampleSettings(steps, threads, hold), b);
    return b;
}

// ε of every batch column: (a - μ(s)) / σ
MatrixXd noiseOf(const Setup& u, const Batch& b) {
    NetworkWorkspace ws;
    DistBatch d;
    u.policy.distribution(u.theta, b.obs, ws, d);
    const VectorXd sigma = d.logStd.array().exp();
    return (b.actions - d.out).array().colwise() / sigma.array();
}

bool sameBits(const MatrixXd& a, const MatrixXd& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())) == 0;
}
bool sameBatch(const Batch& a, const Batch& b) {
    return sameBits(a.obs, b.obs) && sameBits(a.actions, b.actions) && sameBits(a.logp, b.logp) &&
           sameBits(a.rewards, b.rewards);
}

// A tiny environment whose observation says where it is: (steps since reset, episode id),
// the id being 1000 x instance + episodes started. Time limit 5 steps; by the episode's
// kind ((episodes + instance) mod 3) it is truncated at the limit, terminates at the limit
// (terminated wins: no bootstrap), or terminates after 3 steps.
class CountingEnv : public Environment {
public:
    static constexpr int kLimit = 5;
    explicit CountingEnv(int instance) : m_instance(instance) {
        m_spec.id = "Counting-v0";
        m_spec.observation = Space::box({-1e9, -1e9}, {1e9, 1e9});
        m_spec.action = Space::discrete(2);
        m_spec.maxEpisodeSteps = kLimit;
    }
    const EnvSpec& spec() const override { return m_spec; }
    // 0: truncated at the limit, 1: terminates at the limit, 2: terminates after 3 steps
    static int kind(double episodeId) {
        const int id = static_cast<int>(episodeId);
        return (id % 1000 + id / 1000) % 3;
    }

protected:
    void doReset(std::uint64_t, std::span<double> obs) override {
        ++m_episodes;
        m_step = 0;
        write(obs);
    }
    StepResult doStep(std::span<const double>, std::span<double> obs) override {
        ++m_step;
        write(obs);
        const int k = kind(id());
        return {1.0, (k == 1 && m_step == kLimit) || (k == 2 && m_step == 3), false};
    }

private:
    double id() const { return 1000.0 * m_instance + m_episodes; }
    void write(std::span<double> obs) const {
        obs[0] = m_step;
        obs[1] = id();
    }
    EnvSpec m_spec;
    int m_instance, m_episodes = 0, m_step = 0;
};

TrpoConfig heldConfig() {
    TrpoConfig c = presetConfig("Pendulum-v1");
    c.seed = 5;
    c.numEnvs = 3;
    c.stepsPerIteration = 3 * 301; // 301 steps per copy: noise blocks straddle iterations
    c.valueEpochs = 2;
    c.noiseHoldSteps = 7;
    c.normalizeObs = c.normalizeReward = true;
    return c;
}

} // namespace

class TestSampler : public QObject {
    Q_OBJECT
private slots:
    void snapshotHoldsNoiseLikeTheSampler() {
        // the studio's viewer plays snapshots: it must explore as training does
        TrpoConfig c = presetConfig("Pendulum-v1");
        c.noiseHoldSteps = 4;
        c.logStdInit = -2.0; // small noise: no action reaches the clip at ±2
        Trainer t(c, sim::environmentFactory("Pendulum-v1"));
        const SnapshotPtr snap = t.snapshot();
        QCOMPARE(snap->noiseHoldSteps, 4);
        const std::vector<double> obs{0.3, -0.2, 0.1};
        Rng rng(5);
        PolicySnapshot::ActState held;
        std::vector<double> a(8);
        for (int i = 0; i < 8; ++i) snap->act(obs, rng, false, std::span<double>(&a[i], 1), &held);
        for (int i : {1, 2, 3}) QCOMPARE(a[i], a[0]);
        for (int i : {5, 6, 7}) QCOMPARE(a[i], a[4]);
        QVERIFY(a[4] != a[0]);
        // a new episode redraws at once; without a holder every call draws
        double b = 0, c1 = 0, c2 = 0;
        snap->act(obs, rng, false, std::span<double>(&b, 1), &held); // 1 of 4 of the held noise
        held.reset();
        snap->act(obs, rng, false, std::span<double>(&c1, 1), &held);
        QVERIFY(c1 != b);
        snap->act(obs, rng, false, std::span<double>(&c1, 1));
        snap->act(obs, rng, false, std::span<double>(&c2, 1));
        QVERIFY(c1 != c2);
        // deterministic play ignores the noise
        double m1 = 0, m2 = 0;
        snap->act(obs, rng, true, std::span<double>(&m1, 1), &held);
        snap->act(obs, rng, true, std::span<double>(&m2, 1), &held);
        QCOMPARE(m1, m2);
    }

    void noiseIsHeldForKStepsAndRedrawnAtEachEpisode() {
        const int k = 7;
        Sampler s(sim::environmentFactory("Pendulum-v1"), 2, 11); // 200-step episodes
        const Setup u = makeSetup(s);
        const Batch b = collect(s, u, 2 * 450, 1, k);
        const MatrixXd eps = noiseOf(u, b);
        const int T = b.stepsPerEnv;
        int redraws = 0;
        for (int e = 0; e < b.numEnvs; ++e) {
            int age = 0; // steps since the current noise was drawn
            for (int t = 0; t < T; ++t) {
                const int col = e * T + t;
                const bool episodeStart = b.timestep(col) == 0;
                if (t > 0 && (episodeStart || age == k)) {
                    // a new draw: differs from the held one
                    QVERIFY2((eps.col(col) - eps.col(col - 1)).norm() > 1e-6, qPrintable(QString::number(col)));
                    age = 0;
                    ++redraws;
                } else if (t > 0) {
                    QVERIFY2((eps.col(col) - eps.col(col - 1)).norm() < 1e-9, qPrintable(QString::number(col)));
                }
                ++age;
            }
        }
        // 450 steps per copy: 64 blocks of 7 within an episode-restarted schedule, and two resets
        QVERIFY(redraws > 2 * 60);
        // the actions themselves move with the state, the noise does not
        QVERIFY((b.actions.col(1) - b.actions.col(0)).norm() > 1e-6);
        // a held ε is still an ordinary N(0, 1) draw: its mean and spread over the blocks
        const double m = eps.mean();
        const double sd = std::sqrt((eps.array() - m).square().mean());
        QVERIFY2(std::abs(m) < 0.4 && sd > 0.6 && sd < 1.4, qPrintable(QString("%1 %2").arg(m).arg(sd)));
        // log π_old is the per-step diagonal Gaussian of the sampled action
        NetworkWorkspace ws;
        DistBatch d;
        u.policy.distribution(u.theta, b.obs, ws, d);
        QVERIFY((u.policy.logProb(d, b.actions) - b.logp).cwiseAbs().maxCoeff() < 1e-9);
    }

    void holdOfOneIsWhiteNoise() {
        Sampler a(sim::environmentFactory("Pendulum-v1"), 2, 3), b(sim::environmentFactory("Pendulum-v1"), 2, 3);
        const Setup u = makeSetup(a);
        Batch ba, bb;
        SampleSettings defaults; // γ 0.99, one thread, hold 1 by default
        defaults.steps = 600;
        a.collect(u.policy, u.theta, u.obsNorm, u.rewardScaler, defaults, ba);
        bb = collect(b, u, 600, 1, 1);
        QVERIFY(sameBatch(ba, bb));
        const MatrixXd eps = noiseOf(u, bb);
        int equalNeighbours = 0;
        for (Eigen::Index c = 1; c < eps.cols(); ++c) equalNeighbours += (eps.col(c) - eps.col(c - 1)).norm() < 1e-9;
        QCOMPARE(equalNeighbours, 0);
    }

    void discreteActionsIgnoreTheHold() {
        Sampler a(sim::environmentFactory("CartPole-v1"), 2, 3), b(sim::environmentFactory("CartPole-v1"), 2, 3);
        const Setup u = makeSetup(a);
        QVERIFY(sameBatch(collect(a, u, 600, 1, 1), collect(b, u, 600, 1, 9)));
    }

    void sameBatchWhateverTheThreadCount() {
        Sampler a(sim::environmentFactory("MountainCarContinuous-v0"), 4, 9);
        Sampler b(sim::environmentFactory("MountainCarContinuous-v0"), 4, 9);
        const Setup u = makeSetup(a);
        for (int it = 0; it < 3; ++it) QVERIFY(sameBatch(collect(a, u, 4 * 333, 1, 4), collect(b, u, 4 * 333, 2, 4)));
    }

    void trainerDeterministicAcrossThreads() {
        VectorXd thetas[2];
        for (int th = 1; th <= 2; ++th) {
            TrpoConfig c = heldConfig();
            c.threads = th;
            Trainer t(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 3; ++i) t.iterate();
            thetas[th - 1] = t.theta();
        }
        QVERIFY(sameBits(thetas[0], thetas[1]));
    }

    void resumeEqualsNeverStopping() {
        const TrpoConfig c = heldConfig();
        Trainer straight(c, sim::environmentFactory(c.env));
        std::vector<double> a;
        for (int i = 0; i < 5; ++i) a.push_back(straight.iterate().surrogateAfter);

        std::vector<std::uint8_t> saved;
        std::vector<double> b;
        {
            Trainer first(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 2; ++i) b.push_back(first.iterate().surrogateAfter);
            saved = first.saveState();
        }
        TrpoConfig other = c;
        other.noiseHoldSteps = 1; // the checkpoint's configuration wins
        Trainer second(other, sim::environmentFactory(c.env));
        second.loadState(saved);
        QCOMPARE(second.config().noiseHoldSteps, 7);
        for (int i = 0; i < 3; ++i) b.push_back(second.iterate().surrogateAfter);
        QCOMPARE(a, b);
        QVERIFY(sameBits(straight.theta(), second.theta()));
        QCOMPARE(straight.recentReturnMean().value_or(NAN), second.recentReturnMean().value_or(NAN));

        // saving a loaded state gives the same bytes (held noise and its counter included)
        Trainer x(c, sim::environmentFactory(c.env)), y(c, sim::environmentFactory(c.env));
        x.iterate();
        const auto bytes = x.saveState();
        y.loadState(bytes);
        QVERIFY(y.saveState() == bytes);
    }

    void checkpointsWithoutHeldNoiseStillLoad() {
        // checkpoints written before noise_hold_steps existed: no held noise, no setting
        const TrpoConfig c = heldConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        nlohmann::json j = nlohmann::json::from_cbor(decodeContainer(ContainerKind::Checkpoint, t.saveState()));
        QVERIFY(j["copies"][0].contains("held_noise"));
        QCOMPARE(j["copies"][0]["held_noise"].size(), size_t(1));
        for (auto& cp : j["copies"]) {
            cp.erase("held_noise");
            cp.erase("held_noise_steps");
        }
        j["config"].erase("noise_hold_steps");
        TrpoConfig fresh = c;
        fresh.noiseHoldSteps = 1;
        Trainer old(fresh, sim::environmentFactory(c.env));
        old.loadState(encodeContainer(ContainerKind::Checkpoint, nlohmann::json::to_cbor(j)));
        QCOMPARE(old.iteration(), 1);
        old.iterate(); // a new noise is drawn for each copy at its next step
        QVERIFY(old.theta().allFinite());

        // a held noise of the wrong size is refused, naming the problem
        nlohmann::json bad = nlohmann::json::from_cbor(decodeContainer(ContainerKind::Checkpoint, t.saveState()));
        bad["copies"][1]["held_noise"] = {0.1, 0.2};
        try {
            old.loadState(encodeContainer(ContainerKind::Checkpoint, nlohmann::json::to_cbor(bad)));
            QFAIL("accepted a held noise of the wrong size");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("noise") != std::string::npos, e.what());
        }
        QCOMPARE(old.iteration(), 2); // unchanged
    }

    void holdIsAHotSetting() {
        TrpoConfig c = heldConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        TrpoConfig next = t.config();
        next.noiseHoldSteps = 3;
        const auto changes = t.applyHotConfig(next);
        QCOMPARE(changes.size(), size_t(1));
        QCOMPARE(changes[0].key, std::string("noise_hold_steps"));
        QCOMPARE(changes[0].from, std::string("7"));
        QCOMPARE(changes[0].to, std::string("3"));
        t.iterate();
        QCOMPARE(t.config().noiseHoldSteps, 3);
    }

    void truncationBootstrapsFromTheFinalObservation() {
        // 2 copies x 12 steps per batch, 5 batches: cuts fall mid-episode, on a truncation (copy 0,
        // step 36) and on a termination (copy 1, step 24). Every truncated step must bootstrap from the observation its own
        // step returned (steps = 5, same episode), not from the next episode's first one;
        // a terminated step from nothing; a cut mid-episode from the next step's observation.
        int instances = 0;
        Sampler s([&] { return std::make_unique<CountingEnv>(instances++); }, 2, 3);
        Setup u;
        u.policy = Policy(2, Space::discrete(2), {8}, Activation::Tanh);
        Rng init(1);
        u.theta = u.policy.initialParams(init, 0.0);
        u.obsNorm.rms.reset(2);
        u.rewardScaler.rms.reset(1);
        const int T = 12;
        int truncations = 0, terminations = 0, cuts = 0, cutsOnTruncation = 0, cutsOnTermination = 0;
        std::vector<VectorXd> expectedFirst(2); // what a cut promised the next batch
        for (int it = 0; it < 5; ++it) {
            Batch b;
            s.collect(u.policy, u.theta, u.obsNorm, u.rewardScaler, sampleSettings(24, 2), b);
            QCOMPARE(b.stepsPerEnv, T);
            QCOMPARE(static_cast<size_t>(b.bootObs.cols()), b.bootIndex.size());
            QCOMPARE(static_cast<size_t>(b.bootTimestep.size()), b.bootIndex.size());
            for (int e = 0; e < 2; ++e)
                if (expectedFirst[e].size()) QVERIFY(b.rawObs.col(e * T) == expectedFirst[e]);
            for (int col = 0; col < b.size(); ++col) {
                const QByteArray where = QString("iteration %1, column %2").arg(it).arg(col).toUtf8();
                // the batch's own observation: as the environment wrote it before the step
                QCOMPARE(b.rawObs(0, col), double(b.timestep(col)));
                const double episode = b.rawObs(1, col);
                const int kind = CountingEnv::kind(episode);
                const auto at = std::find(b.bootIndex.begin(), b.bootIndex.end(), col);
                const bool booted = at != b.bootIndex.end();
                if (booted) QVERIFY2(std::count(b.bootIndex.begin(), b.bootIndex.end(), col) == 1, where.constData());
                const int j = booted ? static_cast<int>(at - b.bootIndex.begin()) : -1;
                if (b.terminated[col]) {
                    ++terminations;
                    QVERIFY2(kind != 0, where.constData());
                    QVERIFY2(!b.truncated[col], where.constData()); // terminated at the limit is not a truncation
                    QVERIFY2(!booted, where.constData());
                    if (b.segmentEnd[col]) {
                        ++cutsOnTermination;
                        expectedFirst[col / T] = (VectorXd(2) << 0, episode + 1).finished();
                    }
                } else if (b.truncated[col]) {
                    ++truncations;
                    QVERIFY2(kind == 0 && b.timestep(col) == CountingEnv::kLimit - 1, where.constData());
                    QVERIFY2(booted, where.constData());
                    // the final observation of this episode: (5, this episode), not (0, the next)
                    QCOMPARE(b.bootObs(0, j), double(CountingEnv::kLimit));
                    QCOMPARE(b.bootObs(1, j), episode);
                    QCOMPARE(b.bootTimestep(j), CountingEnv::kLimit);
                    if (b.segmentEnd[col]) {
                        ++cutsOnTruncation;
                        expectedFirst[col / T] = (VectorXd(2) << 0, episode + 1).finished(); // the reset one
                    }
                } else if (b.segmentEnd[col]) {
                    ++cuts;
                    QVERIFY2(booted, where.constData());
                    QCOMPARE(b.bootObs(0, j), double(b.timestep(col) + 1));
                    QCOMPARE(b.bootObs(1, j), episode);
                    QCOMPARE(b.bootTimestep(j), b.timestep(col) + 1);
                    expectedFirst[col / T] = b.bootObs.col(j); // the next batch continues from it
                } else {
                    QVERIFY2(!booted, where.constData());
                }
            }
        }
        // every case really occurred
        QVERIFY(truncations >= 4);
        QVERIFY(terminations >= 4);
        QVERIFY(cuts >= 2);
        QVERIFY(cutsOnTruncation >= 1);
        QVERIFY(cutsOnTermination >= 1);
    }

    void refusesAHoldBelowOne() {
        // (the config side of noise_hold_steps is in test_config)
        Sampler s(sim::environmentFactory("Pendulum-v1"), 1, 1);
        const Setup u = makeSetup(s);
        Batch b;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 s.collect(u.policy, u.theta, u.obsNorm, u.rewardScaler, sampleSettings(10, 1, 0), b));
    }
};

QTEST_APPLESS_MAIN(TestSampler)
#include "test_sampler.moc"
