// CNN policies and critics (network = cnn) end to end on the pixel environments: a
// checkpoint resumed equals never stopping (and brings its network along), policy.json round-trips θ bit for bit and is
// refused with a clear message when its conv layers are malformed, an MLP file (no network
// field) still loads as an MLP, and a CNN on a vector observation is refused at the start.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/presets.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "sim/registry.h"
#include "support/test_util.h"

using namespace core;
using nlohmann::json;

namespace {

// a small CNN (the preset's layers, fewer filters) so that each iteration takes a fraction
// of a second
TrpoConfig smallCnnConfig(const std::string& env = "CubeCrash-v0") {
    TrpoConfig c = presetConfig(env);
    c.network = NetworkKind::Cnn;
    c.convLayers = {{8, 8, 4}, {8, 4, 2}};
    c.hidden = c.valueHidden = {16};
    c.stepsPerIteration = 512;
    c.numEnvs = 2;
    c.valueEpochs = 2;
    c.cgIters = 5;
    c.seed = 5;
    return c;
}

// the message policyFromJson gives for text, or "" when it loads
std::string loadError(const std::string& text) {
    try {
        policyFromJson(text);
        return "";
    } catch (const std::runtime_error& e) {
        return e.what();
    }
}

} // namespace

class TestCnnTraining : public QObject {
    Q_OBJECT
private slots:
    void resumeEqualsNeverStopping() {
        const TrpoConfig c = smallCnnConfig();
        Trainer straight(c, sim::environmentFactory(c.env));
        QVERIFY(straight.policy().net().isConv());
        QCOMPARE(straight.policy().net().conv().convLayers(), c.convLayers);
        const std::vector<std::string> a = testutil::iterateRows(straight, 4);
        std::vector<std::string> b;
        std::vector<std::uint8_t> saved;
        {
            Trainer first(c, sim::environmentFactory(c.env));
            b = testutil::iterateRows(first, 2);
            saved = first.saveState();
        }
        Trainer second(c, sim::environmentFactory(c.env));
        second.loadState(saved);
        QCOMPARE(second.iteration(), 2);
        for (const std::string& r : testutil::iterateRows(second, 2)) b.push_back(r);
        QCOMPARE(a, b);
        QVERIFY(testutil::sameBits(straight.theta(), second.theta()));
        // the network is a cold setting: a checkpoint brings its own (an MLP trainer that loads
        // it trains the CNN on), and a state handed to a trainer of the other kind is refused
        TrpoConfig m = c;
        m.network = NetworkKind::Mlp;
        Trainer mlp(m, sim::environmentFactory(m.env));
        const TrainerState cnnState = second.state();
        try {
            mlp.setState(cnnState);
            QFAIL("an MLP trainer took a CNN state");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("network = cnn"), e.what());
        }
        QVERIFY(!mlp.policy().net().isConv()); // unchanged
        mlp.loadState(saved);
        QVERIFY(mlp.policy().net().isConv());
        QCOMPARE(mlp.iteration(), 2);
    }

    void policyJsonRoundTripsBitForBit() {
        const TrpoConfig c = smallCnnConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        const SnapshotPtr a = t.snapshot();
        const std::string text = policyToJson(*a, PolicyMetadata{});
        const json j = json::parse(text);
        QCOMPARE(j.at("network").get<std::string>(), std::string("cnn"));
        QCOMPARE(j.at("image").at("channels").get<int>(), 3);
        QCOMPARE(j.at("conv_layers").size(), size_t(2));
        const SnapshotPtr b = policyFromJson(text);
        QVERIFY(b->policy.net().isConv());
        QCOMPARE(b->policy.net().conv().convLayers(), c.convLayers);
        QVERIFY(b->policy.net().conv().shape(0) == (ImageShape{3, 40, 32}));
        QVERIFY(testutil::sameBits(b->theta, a->theta));
        QCOMPARE(policyToJson(*b, PolicyMetadata{}), text);
        // the same actions on the same images
        auto env = sim::environmentFactory(c.env)();
        std::vector<double> obs(env->spec().observation.dim()), act1(1), act2(1);
        Rng r1(3), r2(3);
        for (int ep = 0; ep < 3; ++ep) {
            env->reset(100 + ep, obs);
            for (int s = 0; s < 40; ++s) {
                a->act(obs, r1, false, act1);
                b->act(obs, r2, false, act2);
                QCOMPARE(act1, act2);
                const StepResult r = env->step(act1, obs);
                if (r.terminated || r.truncated) break;
            }
        }
    }

    void malformedConvLayersAreRefused_data() {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown network") << "network=rnn" << "unknown network 'rnn'";
        QTest::newRow("kernel larger than its input") << "kernel0=41" << "conv layer 1: a 41x41 kernel does not fit its 40x32 input";
        QTest::newRow("kernel that does not fit layer 2") << "kernel1=8" << "conv layer 2: a 8x8 kernel does not fit its 9x7 input";
        QTest::newRow("a filter row missing") << "droprow1" << "conv layer 2 has the wrong shape";
        QTest::newRow("image not the observation") << "height=20" << "image: channels x height x width";
        QTest::newRow("no conv layers") << "noconv" << "conv_layers must list 1 to 8 layers";
        QTest::newRow("stride zero") << "stride0=0" << "conv layer 1: filters";
        QTest::newRow("features not the head's input") << "head=100" << "the conv layers leave 48 features";
    }
    void malformedConvLayersAreRefused() {
        QFETCH(QString, edit);
        QFETCH(QString, message);
        static const std::string good = [] {
            const TrpoConfig c = smallCnnConfig();
            Trainer t(c, sim::environmentFactory(c.env));
            return policyToJson(*t.snapshot(), PolicyMetadata{});
        }();
        QVERIFY(loadError(good).empty());
        json j = json::parse(good);
        const std::string e = edit.toStdString();
        if (e == "network=rnn") j["network"] = "rnn";
        else if (e == "kernel0=41") j["conv_layers"][0]["kernel"] = 41;
        else if (e == "kernel1=8") j["conv_layers"][1]["kernel"] = 8;
        else if (e == "droprow1") j["conv_layers"][1]["weight"].erase(0);
        else if (e == "height=20") j["image"]["height"] = 20;
        else if (e == "noconv") j["conv_layers"] = json::array();
        else if (e == "stride0=0") j["conv_layers"][0]["stride"] = 0;
        else if (e == "head=100") j["layer_sizes"][0] = 100;
        const std::string err = loadError(j.dump());
        QVERIFY2(QString::fromStdString(err).contains(message), err.c_str());
    }

    void mlpFilesHaveNoNetworkFieldAndLoadAsMlps() {
        TrpoConfig c = presetConfig("CubeCrash-v0");
        c.network = NetworkKind::Mlp;
        c.hidden = {8};
        Trainer t(c, sim::environmentFactory(c.env));
        const std::string text = policyToJson(*t.snapshot(), PolicyMetadata{});
        QVERIFY(!json::parse(text).contains("network")); // the format MLP files always had
        const SnapshotPtr s = policyFromJson(text);
        QVERIFY(!s->policy.net().isConv());
        QVERIFY(testutil::sameBits(s->theta, t.theta()));
    }

    void cnnOnAVectorObservationIsRefused() {
        TrpoConfig c = presetConfig("CartPole-v1");
        c.network = NetworkKind::Cnn;
        try {
            Trainer t(c, sim::environmentFactory(c.env));
            QFAIL("a CNN on CartPole-v1");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("CartPole-v1") && QString(e.what()).contains("image"), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestCnnTraining)
#include "test_cnn_training.moc"
