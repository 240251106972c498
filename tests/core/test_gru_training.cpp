// GRU policies (network = gru) on the training pipeline: the sampler records each step's
// state and the update's sequences reproduce the sampled log-probabilities whatever the
// cut; the surrogate gradient and the Fisher-vector product through the unrolled sequences
// against finite differences; a run resumed from a checkpoint equals one never stopped, on
// any thread count, with an MLP or a GRU critic; the GRU critic's batch values, bootstrap
// values and fit; act() carries an episode's state; policy.json round-trips; and the
// settings a recurrent policy cannot train with are refused with a message.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/presets.h"
#include "core/sampler.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "core/trpo.h"
#include "core/value_function.h"
#include "sim/registry.h"
#include "support/test_util.h"

using namespace core;
using namespace testutil;

namespace {

// a small GRU policy on an environment, its θ perturbed so that the gates are not at their
// initial values, and the second of two batches sampled with it (so that each copy's first
// state was carried over from the first batch)
struct SampledGru {
    Policy policy;
    VectorXd theta;
    Batch batch;
    VectorXd adv;
};
// network = gru over the observation, or cnn_gru (two small conv layers, then the GRU over
// their features) over an image
SampledGru sampleGru(const std::string& env, std::uint64_t seed, NetworkKind kind = NetworkKind::Gru) {
    Sampler sampler(sim::environmentFactory(env), 3, seed);
    const EnvSpec& sp = sampler.spec();
    SampledGru g;
    NetworkSpec spec{kind, sp.observation.dim(), {}, {}, {8}, Activation::Tanh, 6};
    if (kind == NetworkKind::CnnGru) {
        spec.image = *sp.image;
        spec.conv = {{4, 8, 4}, {6, 3, 2}};
    }
    g.policy = Policy(spec, sp.action);
    Rng rng(seed);
    g.theta = g.policy.initialParams(rng, -0.3);
    // the GRU and the head moved off their initial values; the conv layers less, but enough
    // that their biases are not zero: a black patch would sit on every ReLU's kink, where the
    // finite differences below are not the derivative
    const int from = g.policy.net().gruOffset(), count = g.policy.net().numParams() - from;
    g.theta.segment(from, count) += randomVector(count, rng, 0.3);
    g.theta.head(from) += randomVector(from, rng, 0.1);
    ObsNormalizer norm;
    RewardScaler scaler;
    SampleSettings ss;
    ss.steps = 450; // 150 steps a copy: Pendulum's 200-step episodes run across the batches
    sampler.collect(g.policy, g.theta, norm, scaler, ss, g.batch);
    sampler.collect(g.policy, g.theta, norm, scaler, ss, g.batch);
    g.adv = randomVector(g.batch.size(), rng);
    return g;
}

UpdateSettings settings(int samplesPerShard) {
    UpdateSettings s;
    s.samplesPerShard = samplesPerShard;
    s.fvpDoublePrecision = true;
    return s;
}

TrpoConfig smallGruConfig() {
    TrpoConfig c = presetConfig("CartPoleNoVel-v1");
    c.network = NetworkKind::Gru;
    c.gruState = 8;
    c.hidden = {16};
    c.fvpSubsample = 1;
    c.stepsPerIteration = 512;
    c.numEnvs = 2;
    c.bpttSteps = 16;
    c.seed = 3;
    return c;
}

} // namespace

class TestGruTraining : public QObject {
    Q_OBJECT
private slots:
    void sampledStepsAreTheUpdatesSequences_data() {
        QTest::addColumn<QString>("env");
        QTest::addColumn<bool>("conv"); // cnn_gru rather than gru
        QTest::newRow("CartPoleNoVel, categorical") << "CartPoleNoVel-v1" << false;
        QTest::newRow("Pendulum, Gaussian") << "Pendulum-v1" << false;
        QTest::newRow("CubeCrashScreenBecomesBlack, cnn_gru") << "CubeCrashScreenBecomesBlack-v0" << true;
    }
    void sampledStepsAreTheUpdatesSequences() {
        QFETCH(QString, env);
        QFETCH(bool, conv);
        const SampledGru g = sampleGru(env.toStdString(), 11, conv ? NetworkKind::CnnGru : NetworkKind::Gru);
        const Batch& b = g.batch;
        const int N = b.size(), T = b.stepsPerEnv;
        QCOMPARE(b.states.rows(), 6);
        QCOMPARE(b.states.cols(), Eigen::Index(N));
        int carried = 0;
        for (int c = 0; c < N; ++c) {
            if (b.timestep(c) == 0) QVERIFY2(b.states.col(c).isZero(0), "an episode's first step starts from a zero state");
            if (c % T == 0 && b.timestep(c) > 0) carried += b.states.col(c).norm() > 0 ? 1 : 0;
        }
        QVERIFY2(carried > 0, "no copy carried its state into the batch");
        // the update's forward pass gives the sampled log-probabilities, however the batch is
        // cut into shards and sequences: each sequence starts from the recorded state
        for (int bptt : {1, 7, 16, 100000}) {
            for (int shard : {64, 256, N}) {
                const BatchSequences seq = b.sequences(bptt);
                double worst = 0;
                for (int first = 0; first < N; first += shard) {
                    const int count = std::min(shard, N - first);
                    NetworkWorkspace ws;
                    sequencesFor(seq, first, count, ws);
                    DistBatch d;
                    g.policy.distribution(g.theta, b.obs.middleCols(first, count), ws, d);
                    const VectorXd lp = g.policy.logProb(d, b.actions.middleCols(first, count));
                    worst = std::max(worst, (lp - b.logp.segment(first, count)).cwiseAbs().maxCoeff());
                }
                QVERIFY2(worst < 1e-12, qPrintable(QString("bptt %1, shards of %2: |Δ log π| %3").arg(bptt).arg(shard).arg(worst)));
            }
        }
    }

    // g from the sharded update (sequences cut at the shards, at the copies and every
    // bptt_steps) is the derivative of the surrogate evaluated on the same sequences
    void surrogateGradientMatchesFiniteDifferences_data() {
        QTest::addColumn<bool>("conv");
        QTest::newRow("gru, CartPoleNoVel") << false;
        QTest::newRow("cnn_gru, CubeCrashScreenBecomesBlack") << true;
    }
    void surrogateGradientMatchesFiniteDifferences() {
        QFETCH(bool, conv);
        const SampledGru g = conv ? sampleGru("CubeCrashScreenBecomesBlack-v0", 12, NetworkKind::CnnGru)
                                  : sampleGru("CartPoleNoVel-v1", 12);
        UpdateBatch batch{g.batch.obs, g.batch.actions, g.adv, g.batch.logp, g.batch.sequences(16)};
        const UpdateSettings s = settings(100);
        UpdateWorkspace ws;
        const SurrogateGradient sg = surrogateGradient(g.policy, g.theta, batch, s, ws);
        QVERIFY(ws.shards.size() >= 4); // cuts inside the copies' 150-step blocks
        if (conv) QVERIFY2(sg.g.head(g.policy.net().gruOffset()).norm() > 0, "no gradient reached the conv layers");
        Rng rng(5);
        const double eps = 1e-5;
        for (int k = 0; k < 6; ++k) {
            const VectorXd dir = randomVector(g.policy.numParams(), rng);
            const double up = evaluateTrial(g.policy, g.theta + eps * dir, batch, s, ws).surrogate;
            const double down = evaluateTrial(g.policy, g.theta - eps * dir, batch, s, ws).surrogate;
            const double fd = (up - down) / (2 * eps), an = sg.g.dot(dir);
            QVERIFY2(std::abs(fd - an) <= 1e-6 * (1 + std::abs(an)), qPrintable(QString("fd %1, g·d %2").arg(fd).arg(an)));
        }
    }

    // uᵀ F v by the Gauss-Newton product through the unrolled sequences against the mixed
    // second difference of the mean KL(π_old ‖ π_θ), and the float product against the double
    void fisherProductMatchesKlHessian_data() { sampledStepsAreTheUpdatesSequences_data(); }
    void fisherProductMatchesKlHessian() {
        QFETCH(QString, env);
        QFETCH(bool, conv);
        const SampledGru g = sampleGru(env.toStdString(), 13, conv ? NetworkKind::CnnGru : NetworkKind::Gru);
        UpdateBatch batch{g.batch.obs, g.batch.actions, g.adv, g.batch.logp, g.batch.sequences(16)};
        UpdateSettings s = settings(100);
        s.fvpDoublePrecision = false; // both products: the double one is always there too
        UpdateWorkspace ws;
        surrogateGradient(g.policy, g.theta, batch, s, ws);
        const int P = g.policy.numParams();
        const double N = g.batch.size();
        Rng rng(8);
        for (int k = 0; k < 3; ++k) {
            const VectorXd u = randomVector(P, rng), v = randomVector(P, rng);
            VectorXd Fv = VectorXd::Zero(P), FvFloat = VectorXd::Zero(P), part(P);
            for (UpdateShard& sh : ws.shards) {
                g.policy.fisherVectorProduct(g.theta, sh.distOld, v, sh.ws, part);
                Fv += (sh.count / N) * part;
                g.policy.floatFisherVectorProduct(sh.distOld, v, sh.floatFisher, part);
                FvFloat += (sh.count / N) * part;
            }
            const double e = conv ? 3e-5 : 2e-4; // smaller through ReLUs, whose kinks a wider step may cross
            auto kl = [&](const VectorXd& d) { return evaluateTrial(g.policy, g.theta + d, batch, s, ws).klMean; };
            const double fd = (kl(e * u + e * v) - kl(e * u - e * v) - kl(-e * u + e * v) + kl(-e * u - e * v)) / (4 * e * e);
            const double an = u.dot(Fv);
            QVERIFY2(std::abs(fd - an) <= 1e-4 * (std::abs(an) + 1e-3),
                     qPrintable(QString("uᵀFv %1, second difference %2").arg(an).arg(fd)));
            QVERIFY2((FvFloat - Fv).norm() <= 1e-5 * Fv.norm(), "the float product differs from the double one");
        }
    }

    void resumeEqualsNeverStoppingOnAnyThreadCount_data() {
        QTest::addColumn<bool>("gruCritic");
        QTest::newRow("MLP critic") << false;
        QTest::newRow("GRU critic") << true;
    }
    void resumeEqualsNeverStoppingOnAnyThreadCount() {
        QFETCH(bool, gruCritic);
        TrpoConfig c = smallGruConfig();
        c.gruCritic = gruCritic;
        c.threads = 1;
        Trainer straight(c, sim::environmentFactory(c.env));
        QVERIFY(straight.policy().recurrent());
        QCOMPARE(straight.policy().stateSize(), 8);
        const std::vector<std::string> a = testutil::iterateRows(straight, 4);
        std::vector<std::string> b;
        std::vector<std::uint8_t> saved;
        c.threads = 2;
        {
            Trainer first(c, sim::environmentFactory(c.env));
            b = testutil::iterateRows(first, 2);
            const TrainerState st = first.state();
            for (const CopyState& cs : st.copies) QCOMPARE(cs.hidden.size(), size_t(8));
            // a GRU critic's state ends with its two copies' carried states
            Rng scratch(1);
            const Eigen::Index criticParams =
                makeValueFunction(c, sim::environmentFactory(c.env)()->spec(), scratch)->state().size();
            QCOMPARE(st.critic.size(), criticParams + (gruCritic ? 2 * 8 : 0));
            saved = first.saveState();
        }
        Trainer second(c, sim::environmentFactory(c.env));
        second.loadState(saved);
        for (const std::string& r : testutil::iterateRows(second, 2)) b.push_back(r);
        QCOMPARE(a, b);
        QVERIFY(sameBits(straight.theta(), second.theta()));

        // a state whose carried state has the wrong size is refused, the trainer unchanged
        TrainerState bad = second.state();
        bad.copies[0].hidden.resize(5);
        try {
            second.setState(bad);
            QFAIL("a state with a 5-value recurrent state was taken");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("recurrent state has 5 values, expected 8"), e.what());
        }
        QCOMPARE(second.iteration(), 4);
    }

    void refusesWhatItCannotTrain_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("message");
        QTest::newRow("ppo") << "algo" << "ppo" << "ppo draws minibatches of single samples";
        QTest::newRow("kl_penalty") << "algo" << "kl_penalty" << "network = gru trains with trpo, npg or vpg";
        QTest::newRow("Fisher subsample") << "fvp_subsample" << "2" << "network = gru needs fvp_subsample = 1";
        QTest::newRow("unknown network") << "network" << "lstm" << "expected mlp, cnn, gru or cnn_gru";
        QTest::newRow("cnn_gru without an image") << "network" << "cnn_gru" << "network = cnn_gru needs an image observation, and CartPoleNoVel-v1's observation is a vector (use network = gru";
    }
    void refusesWhatItCannotTrain() {
        QFETCH(QString, key);
        QFETCH(QString, value);
        QFETCH(QString, message);
        TrpoConfig c = smallGruConfig();
        QCOMPARE(configValue(c, "network"), std::string("gru"));
        try {
            setConfigValue(c, key.toStdString(), value.toStdString());
            Trainer t(c, sim::environmentFactory(c.env));
            QFAIL("the trainer started");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains(message), e.what());
        }
    }

    // network = cnn_gru from the settings: conv layers, then the GRU over their features; the
    // critic the CNN alone, or with gru_critic a cnn_gru of its own; both train, and a
    // checkpoint's state resumes the same iteration
    void cnnGruTrainsFromTheSettings() {
        for (bool gruCritic : {false, true}) {
            TrpoConfig c = presetConfig("CubeCrashScreenBecomesBlack-v0");
            setConfigValue(c, "network", "cnn_gru");
            setConfigValue(c, "conv_layers", "4x8/4,6x3/2");
            setConfigValue(c, "gru_critic", gruCritic ? "true" : "false");
            c.fvpSubsample = 1;
            c.gruState = 6;
            c.hidden = {8};
            c.valueHidden = {8};
            c.stepsPerIteration = 256;
            c.numEnvs = 2;
            c.seed = 4;
            Trainer t(c, sim::environmentFactory(c.env));
            QCOMPARE(t.policy().stateSize(), 6);
            QVERIFY(t.policy().net().kind() == NetworkKind::CnnGru);
            QCOMPARE(t.policy().net().gru().inputs(), 6 * 4 * 3); // the second layer's 6 maps of 4x3
            const VectorXd before = t.theta();
            QVERIFY(t.iterate().accepted);
            QVERIFY(t.theta().allFinite());
            QVERIFY(!sameBits(before, t.theta()));
            const TrainerState mid = t.state();
            const IterationStats next = t.iterate();
            Trainer resumed(c, sim::environmentFactory(c.env));
            resumed.setState(mid);
            const IterationStats again = resumed.iterate();
            QCOMPARE(again.klMean, next.klMean);
            QVERIFY(sameBits(resumed.theta(), t.theta()));
        }
    }

    void npgAndVpgTrainIt() {
        for (const char* algo : {"npg", "vpg"}) {
            TrpoConfig c = smallGruConfig();
            setConfigValue(c, "algo", algo);
            Trainer t(c, sim::environmentFactory(c.env));
            const VectorXd before = t.theta();
            const IterationStats st = t.iterate();
            QVERIFY2(st.accepted, algo);
            QVERIFY(t.theta().allFinite());
            QVERIFY(!sameBits(before, t.theta()));
        }
    }

    // the GRU critic: predictBatch() reads each copy's steps as one sequence from its carried
    // state and values a bootstrap observation from the state after its step; fit() lowers the
    // loss; the carried states are part of state()
    void recurrentCriticPredictsAndFits() {
        const SampledGru g = sampleGru("CartPoleNoVel-v1", 14);
        const Batch& b = g.batch;
        TrpoConfig c = smallGruConfig();
        c.gruCritic = true;
        c.valueEpochs = 30;
        c.valueMinibatch = 64;
        c.valueLr = 3e-3;
        auto env = sim::environmentFactory(c.env)();
        Rng init(2);
        std::unique_ptr<ValueFunction> vf = makeValueFunction(c, env->spec(), init);
        auto* gruCritic = dynamic_cast<RecurrentValueFunction*>(vf.get());
        QVERIFY(gruCritic);
        VectorXd values, boot;
        vf->predictBatch({b.obs, b.timestep, b.numEnvs, b.stepsPerEnv, b.bootObs, b.bootTimestep, b.bootIndex}, values, boot);
        QCOMPARE(values.size(), Eigen::Index(b.size()));
        QCOMPARE(boot.size(), Eigen::Index(b.bootIndex.size()));
        QCOMPARE(gruCritic->carried().cols(), Eigen::Index(3));
        // copy 0's steps up to a bootstrap observation, read as one sequence with that
        // observation appended (from a zero state: the critic had carried nothing yet)
        const int T = b.stepsPerEnv;
        const int col = b.bootIndex[0];
        QVERIFY(col < T);
        MatrixXd seq(b.obs.rows(), col + 2);
        seq.leftCols(col + 1) = b.obs.leftCols(col + 1);
        seq.col(col + 1) = b.bootObs.col(0);
        Eigen::VectorXi ts(col + 2);
        for (int k = 0; k <= col; ++k) ts(k) = b.timestep(k);
        ts(col + 1) = b.bootTimestep(0);
        // an episode start inside: the one-episode predict() does not know it, so start there
        int from = 0;
        for (int k = 0; k <= col; ++k)
            if (b.timestep(k) == 0) from = k;
        const VectorXd direct = vf->predict(seq.middleCols(from, col + 2 - from), ts.segment(from, col + 2 - from));
        QVERIFY(std::abs(direct(0) - values(from)) < 1e-6);
        QVERIFY(std::abs(direct(col - from) - values(col)) < 1e-6);
        QVERIFY(std::abs(direct(col + 1 - from) - boot(0)) < 1e-6);

        // returns that depend on the velocity, which one observation does not show (0 where
        // the step before is not in the batch's block: an episode's or a copy's first step)
        VectorXd returns(b.size());
        for (int k = 0; k < b.size(); ++k)
            returns(k) = (b.timestep(k) == 0 || k % T == 0) ? 0.0 : 10.0 * (b.obs(1, k) - b.obs(1, k - 1)) / 0.02;
        Rng rng(4);
        const FitResult fr = vf->fit(b.obs, b.timestep, returns, c, rng);
        qInfo("GRU critic: loss %.4g -> %.4g, explained variance %.3f -> %.3f", fr.lossBefore, fr.lossAfter,
              fr.explainedVarianceBefore, fr.explainedVarianceAfter);
        QVERIFY(fr.lossAfter < 0.5 * fr.lossBefore);
        QVERIFY(fr.explainedVarianceAfter > 0.5);
        QCOMPARE(int(fr.epochLosses.size()), 30);

        const VectorXd st = vf->state();
        QCOMPARE(st.size(), 3 * gruCritic->params().size() + 1 + 8 * 3);
        Rng other(9);
        std::unique_ptr<ValueFunction> copy = makeValueFunction(c, env->spec(), other);
        copy->setState(st);
        QVERIFY(sameBits(copy->state(), st));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, copy->setState(st.head(st.size() - 3)));
    }

    // a GRU policy.json whose GRU part is malformed is refused with a message naming it
    void malformedGruPolicyFilesAreRefused_data() {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("message");
        QTest::newRow("no gru object") << "nogru" << "missing or mistyped field";
        QTest::newRow("hidden size zero") << "size=0" << "gru: hidden_size is out of range";
        QTest::newRow("hidden size not the head's input") << "size=9" << "gru: expected input_weight 27x2";
        QTest::newRow("a recurrent row missing") << "droprow" << "gru: expected input_weight 24x2, recurrent_weight 24x8";
        QTest::newRow("reset bias too short") << "shortbias" << "reset_bias 8";
        QTest::newRow("a weight not a number") << "text" << "missing or mistyped field";
        QTest::newRow("unknown network") << "network" << "expected mlp, cnn, gru or cnn_gru";
    }
    void malformedGruPolicyFilesAreRefused() {
        QFETCH(QString, edit);
        QFETCH(QString, message);
        static const std::string good = [] {
            const TrpoConfig c = smallGruConfig();
            Trainer t(c, sim::environmentFactory(c.env));
            return policyToJson(*t.snapshot(), PolicyMetadata{});
        }();
        nlohmann::json j = nlohmann::json::parse(good);
        const std::string e = edit.toStdString();
        if (e == "nogru") j.erase("gru");
        if (e == "size=0") j["gru"]["hidden_size"] = 0;
        if (e == "size=9") j["gru"]["hidden_size"] = 9;
        if (e == "droprow") j["gru"]["recurrent_weight"].erase(3);
        if (e == "shortbias") j["gru"]["reset_bias"].erase(0);
        if (e == "text") j["gru"]["input_weight"][0][0] = "x";
        if (e == "network") j["network"] = "lstm";
        try {
            policyFromJson(j.dump());
            QFAIL("the file loaded");
        } catch (const std::runtime_error& err) {
            QVERIFY2(QString(err.what()).contains(message), err.what());
        }
    }

    // act() with an ActState plays an episode as the network reads it as one sequence; the
    // policy.json file brings the GRU back bit for bit
    void actCarriesTheEpisodeState() {
        const TrpoConfig c = smallGruConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        testutil::iterateRows(t, 3);
        const SnapshotPtr s = t.snapshot();
        const std::string text = policyToJson(*s, PolicyMetadata{});
        QCOMPARE(nlohmann::json::parse(text).at("network").get<std::string>(), std::string("gru"));
        const SnapshotPtr r = policyFromJson(text);
        QVERIFY(sameBits(r->theta, s->theta));
        QCOMPARE(r->policy.stateSize(), 8);
        QCOMPARE(policyToJson(*r, PolicyMetadata{}), text);

        auto env = sim::environmentFactory(c.env)();
        std::vector<double> obs(2), a(1), b(1);
        env->reset(77, obs);
        PolicySnapshot::ActState sa, sb;
        Rng ra(1), rb(1);
        MatrixXd seen(2, 0);
        std::vector<double> actions;
        for (int k = 0; k < 200; ++k) {
            seen.conservativeResize(2, k + 1);
            for (int i = 0; i < 2; ++i) seen(i, k) = obs[static_cast<size_t>(i)];
            s->act(obs, ra, true, a, &sa);
            r->act(obs, rb, true, b, &sb);
            QCOMPARE(a, b);
            actions.push_back(a[0]);
            const StepResult sr = env->step(a, obs);
            if (sr.terminated || sr.truncated) break;
        }
        QCOMPARE(sa.hidden.size(), Eigen::Index(8));
        // the episode read at once: the same greedy actions
        const MatrixXd logits = s->outputs(seen);
        for (Eigen::Index k = 0; k < seen.cols(); ++k) {
            Eigen::Index best = 0;
            logits.col(k).maxCoeff(&best);
            QCOMPARE(static_cast<double>(best), actions[static_cast<size_t>(k)]);
        }
        sa.reset();
        QCOMPARE(sa.hidden.size(), Eigen::Index(0));
    }
};

QTEST_APPLESS_MAIN(TestGruTraining)
#include "test_gru_training.moc"
