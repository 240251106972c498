// The trainer end to end on the Box2D environments: determinism (whatever the thread
// count), save/load/continue equals never stopping, bad checkpoints and configs give clear
// errors, and small learning tests.
#include <QtTest>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/presets.h"
#include "core/serialization.h"
#include "core/trainer.h"
#include "support/test_util.h"
#include "sim/registry.h"

using namespace core;

namespace {


TrpoConfig smallConfig(const std::string& env) {
    TrpoConfig c = presetConfig(env);
    c.stepsPerIteration = 1024; // two shards in the update: exercises the parallel paths
    c.numEnvs = 4;
    c.valueEpochs = 3;
    c.seed = 42;
    return c;
}

} // namespace

class TestTrainer : public QObject {
    Q_OBJECT
private slots:
    void deterministicAcrossThreadCounts_data() {
        QTest::addColumn<QString>("env");
        QTest::addColumn<bool>("normalize");
        QTest::newRow("CartPole") << "CartPole-v1" << false;
        QTest::newRow("Pendulum+normalisers") << "Pendulum-v1" << true;
    }
    void deterministicAcrossThreadCounts() {
        QFETCH(QString, env);
        QFETCH(bool, normalize);
        std::vector<std::string> rows[2];
        VectorXd thetas[2];
        for (int k = 0; k < 2; ++k) {
            TrpoConfig c = smallConfig(env.toStdString());
            c.normalizeObs = c.normalizeReward = normalize;
            c.threads = k + 1;
            Trainer t(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 5; ++i) rows[k].push_back(testutil::statsWithoutTiming(t.iterate()));
            thetas[k] = t.theta();
        }
        QCOMPARE(rows[0], rows[1]);
        QVERIFY(std::memcmp(thetas[0].data(), thetas[1].data(), sizeof(double) * thetas[0].size()) == 0);
    }

    void resumeEqualsNeverStopping() {
        TrpoConfig c = smallConfig("Pendulum-v1");
        c.normalizeObs = c.normalizeReward = true;
        Trainer straight(c, sim::environmentFactory(c.env));
        std::vector<std::string> a;
        for (int i = 0; i < 6; ++i) a.push_back(testutil::statsWithoutTiming(straight.iterate()));

        std::vector<std::string> b;
        std::vector<std::uint8_t> saved;
        {
            Trainer first(c, sim::environmentFactory(c.env));
            for (int i = 0; i < 3; ++i) b.push_back(testutil::statsWithoutTiming(first.iterate()));
            saved = first.saveState();
        } // the first trainer is gone: nothing survives but the bytes
        Trainer second(c, sim::environmentFactory(c.env));
        second.loadState(saved);
        QCOMPARE(second.iteration(), 3);
        for (int i = 0; i < 3; ++i) b.push_back(testutil::statsWithoutTiming(second.iterate()));
        QCOMPARE(a, b);
        QVERIFY(straight.theta() == second.theta());
    }

    void badCheckpointsAreRejectedWithoutDamage() {
        TrpoConfig c = smallConfig("CartPole-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        const std::vector<std::uint8_t> good = t.saveState();
        const VectorXd thetaBefore = t.theta();

        auto expectError = [&](std::vector<std::uint8_t> bytes, const QString& needle) {
            try {
                t.loadState(bytes);
                QFAIL(qPrintable("no error for " + needle));
            } catch (const std::runtime_error& e) {
                QVERIFY2(QString(e.what()).contains(needle, Qt::CaseInsensitive), e.what());
            }
            QVERIFY(t.theta() == thetaBefore);
            QCOMPARE(t.iteration(), 1);
        };
        expectError({}, "empty");
        expectError(std::vector<std::uint8_t>(good.begin(), good.begin() + good.size() / 2), "truncated");
        std::vector<std::uint8_t> flipped = good;
        flipped[flipped.size() - 10] ^= 0x40;
        expectError(flipped, "checksum");
        std::vector<std::uint8_t> version = good;
        version[8] = 99;
        expectError(version, "version");
        expectError(std::vector<std::uint8_t>(100, 0x5a), "not a TRPO Studio checkpoint");

        // a checkpoint of another environment
        TrpoConfig pc = smallConfig("Pendulum-v1");
        Trainer other(pc, sim::environmentFactory(pc.env));
        expectError(other.saveState(), "environment");
    }

    void mutatedCheckpointsNeverCrash() {
        TrpoConfig c = smallConfig("CartPole-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        const std::vector<std::uint8_t> good = t.saveState();
        Rng rng(5);
        int rejected = 0;
        for (int k = 0; k < 300; ++k) {
            std::vector<std::uint8_t> m = good;
            if (k % 3 == 0)
                m.resize(rng.below(m.size()));
            else
                for (int f = 0; f < 1 + k % 4; ++f) m[rng.below(m.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
            try {
                t.loadState(m);
            } catch (const std::runtime_error&) {
                ++rejected;
            }
        }
        QCOMPARE(rejected, 300); // the checksum catches every mutation
    }

    void mutatedPolicyAndConfigFilesNeverCrash() {
        // truncations and bit flips of a real policy.json and config.json: each load either
        // succeeds with a valid result or throws the loader's error type, never crashes
        TrpoConfig c = smallConfig("Pendulum-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        const std::string policy = policyToJson(*t.snapshot(), PolicyMetadata{});
        const std::string config = configToJson(c);
        Rng rng(17);
        auto mutate = [&](std::string m, int k) {
            if (k % 3 == 0) return m.substr(0, rng.below(m.size()));
            for (int f = 0; f < 1 + k % 5; ++f) m[rng.below(m.size())] ^= static_cast<char>(1u << rng.below(8));
            return m;
        };
        int policyErrors = 0, configErrors = 0;
        for (int k = 0; k < 300; ++k) {
            try {
                const SnapshotPtr s = policyFromJson(mutate(policy, k));
                QVERIFY(s->theta.allFinite());
                QCOMPARE(s->theta.size(), s->policy.numParams());
            } catch (const std::runtime_error&) {
                ++policyErrors;
            }
            try {
                TrpoConfig d;
                applyConfigJson(d, mutate(config, k));
                d.validate();
            } catch (const ConfigError&) {
                ++configErrors;
            }
        }
        qInfo("rejected %d of 300 mutated policies and %d of 300 mutated configs", policyErrors, configErrors);
        QVERIFY(policyErrors > 150);
        QVERIFY(configErrors > 100);
    }

    void hotChangesApplyAtTheNextIteration() {
        TrpoConfig c = smallConfig("CartPole-v1");
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        TrpoConfig next = t.config();
        next.delta = 0.05;
        next.hidden = {8}; // cold: ignored by applyHotConfig
        const auto ev = t.applyHotConfig(next);
        QCOMPARE(ev.size(), size_t(1));
        QCOMPARE(ev[0].key, std::string("delta"));
        QCOMPARE(ev[0].iteration, 2);
        QCOMPARE(t.iterate().delta, 0.05);
        QCOMPARE(t.config().hidden, (std::vector<int>{64, 64}));
        next.delta = -3;
        QVERIFY_THROWS_EXCEPTION(ConfigError, t.applyHotConfig(next));
        QCOMPARE(t.config().delta, 0.05);
    }

    void policyJsonRoundTrip_data() {
        QTest::addColumn<QString>("env");
        QTest::newRow("CartPole") << "CartPole-v1";
        QTest::newRow("Pendulum") << "Pendulum-v1";
    }
    void policyJsonRoundTrip() {
        QFETCH(QString, env);
        TrpoConfig c = smallConfig(env.toStdString());
        c.normalizeObs = true;
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        t.iterate();
        const SnapshotPtr a = t.snapshot();
        const SnapshotPtr b = policyFromJson(policyToJson(*a, PolicyMetadata{}));
        Rng r1(3), r2(3), ro(4);
        std::vector<double> act1(a->actionSpace.dim()), act2(a->actionSpace.dim());
        for (int i = 0; i < 200; ++i) {
            std::vector<double> o(a->observationSpace.dim());
            for (double& x : o) x = ro.normal();
            a->act(o, r1, false, act1);
            b->act(o, r2, false, act2);
            QCOMPARE(act1, act2);
        }
        // malformed policy files say what is wrong
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, policyFromJson(""));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, policyFromJson("{\"format\":\"trpo-studio-policy\"}"));
        std::string text = policyToJson(*a, PolicyMetadata{});
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, policyFromJson(text.substr(0, text.size() / 2)));
        // fuzz_policy_json: a number beyond double's range (nlohmann's out_of_range 406) escaped
        // as an exception that is not a std::runtime_error
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, policyFromJson(R"({"action_space":{"low":[-1e309]}})"));
    }

    // layer_sizes of a large network and no weights made the loader allocate and zero θ
    // (1 GB here) before it found the layers missing
    void policyJsonLayerSizesAloneAllocateNothing() {
        const std::string text =
            R"({"format":"trpo-studio-policy","version":1,"env_id":"x","activation":"tanh",)"
            R"("distribution":"categorical","observation_space":{"type":"box","low":[0],"high":[1]},)"
            R"("action_space":{"type":"discrete","n":2},)"
            R"("layer_sizes":[1,4096,4096,4096,4096,4096,4096,4096,4096,2],"layers":[]})";
        const double mb = testutil::peakRssGrowthMb(
            [&] { QVERIFY_THROWS_EXCEPTION(std::runtime_error, policyFromJson(text)); });
        qInfo("peak memory grew by %.0f MB", mb);
        QVERIFY(mb < 100);
    }

    // fuzz_policy_json: a layer size of 5e37 reached nlohmann's get<int>(), which converts a
    // float with a cast, undefined behaviour beyond int (clang's UBSan stopped the fuzzer; GCC's
    // -fsanitize=undefined does not check float casts). Every integer field of the loaders now
    // goes through jsonInteger.
    void integerFieldsRefuseOutOfRangeNumbers() {
        using nlohmann::json;
        QCOMPARE(jsonInteger<int>(json(3)), 3);
        QCOMPARE(jsonInteger<int>(json(3.0)), 3);
        QCOMPARE(jsonInteger<int>(json(-2147483648.0)), std::numeric_limits<int>::min());
        QCOMPARE(jsonInteger<std::uint64_t>(json(18446744073709551615ull)), std::numeric_limits<std::uint64_t>::max());
        QCOMPARE(jsonInteger<std::int64_t>(json::object(), "missing", 7), std::int64_t{7});
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<int>(json(5e37)));
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<int>(json(2147483648.0)));
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<int>(json(std::int64_t{1} << 40)));
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<int>(json(2.5)));
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<std::int64_t>(json(9223372036854775808.0)));
        QVERIFY_THROWS_EXCEPTION(json::out_of_range, jsonInteger<std::uint64_t>(json(-1)));
        QVERIFY_THROWS_EXCEPTION(json::type_error, jsonInteger<int>(json("7")));
        QVERIFY_THROWS_EXCEPTION(json::type_error, jsonInteger<int>(json::array(), "key", 0));

        const std::string text =
            R"({"format":"trpo-studio-policy","version":1,"env_id":"CartPole-v1","activation":"tanh",)"
            R"("distribution":"categorical","observation_space":{"type":"box","low":[0],"high":[1]},)"
            R"("action_space":{"type":"discrete","n":2},"layer_sizes":[1,49999999999999999999999999999999999999,2]})";
        try {
            policyFromJson(text);
            QFAIL("accepted");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("out of range"), e.what());
        }
    }

    void cartPoleLearnsWithin100kSteps() {
        if (testutil::kThreadSanitized) QSKIP("a learning run: the release and AddressSanitizer stages check it");
        // the shipped CartPole preset, fixed seed: mean of the last 20 episodes >= 475
        TrpoConfig c = presetConfig("CartPole-v1");
        c.seed = 1;
        Trainer t(c, sim::environmentFactory(c.env));
        bool solved = false;
        while (t.envSteps() < 100000 && !solved) {
            const IterationStats s = t.iterate();
            solved = t.recentReturns().size() == 20 && *s.recentReturnMean >= 475.0;
        }
        qInfo("CartPole: %s after %lld steps (last-20 mean %.1f)", solved ? "solved" : "NOT solved",
              static_cast<long long>(t.envSteps()), t.recentReturnMean().value_or(0));
        QVERIFY(solved);
    }

    void pendulumReturnRises() {
        if (testutil::kThreadSanitized) QSKIP("a learning run: the release and AddressSanitizer stages check it");
        TrpoConfig c = presetConfig("Pendulum-v1");
        c.seed = 1;
        Trainer t(c, sim::environmentFactory(c.env));
        std::optional<double> first;
        while (t.envSteps() < 60000) {
            const IterationStats s = t.iterate();
            if (!first && t.recentReturns().size() == 20) first = s.recentReturnMean;
        }
        const double last = *t.recentReturnMean();
        qInfo("Pendulum: first last-20 mean %.1f, after %lld steps %.1f", *first, static_cast<long long>(t.envSteps()),
              last);
        QVERIFY(last > *first + 300.0);
    }
};

QTEST_APPLESS_MAIN(TestTrainer)
#include "test_trainer.moc"
