// TrpoConfig and its field table (core/config.h): every field round-trips through JSON,
// validate() names the bad field for values outside each field's documented range and
// accepts its end points, and bad JSON (unknown keys, wrong types, malformed text) is
// refused with an error that names the problem and leaves the config untouched.
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "core/config.h"
#include "core/network.h"

using namespace core;

namespace {

// a valid text for field f that differs from the default
std::string otherValue(const ConfigField& f) {
    const TrpoConfig d;
    const std::string def = configValue(d, f.key);
    if (f.key == "conv_layers") return "16x5/2,8x3";
    if (f.type == "string") return def == "Pendulum-v1" ? "CartPole-v1" : "Pendulum-v1";
    if (f.type == "bool") return def == "true" ? "false" : "true";
    if (f.type == "enum") {
        for (const std::string& c : f.choices)
            if (c != def) return c;
        return def;
    }
    if (f.type == "int-list") return std::to_string(static_cast<int>(f.min) + 2) + ",7," + std::to_string(static_cast<int>(f.max));
    const double v = f.min + 0.37 * (f.max - f.min); // not an end point, not a round number
    if (f.type == "int") return std::to_string(std::llround(v));
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

std::string fmt(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

} // namespace

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    void everyFieldRoundTripsThroughJson_data() {
        QTest::addColumn<QString>("key");
        for (const ConfigField& f : configFields()) QTest::newRow(f.key.c_str()) << QString::fromStdString(f.key);
    }
    void everyFieldRoundTripsThroughJson() {
        QFETCH(QString, key);
        const std::string k = key.toStdString();
        const ConfigField* f = findConfigField(k);
        QVERIFY(f);
        TrpoConfig changed;
        setConfigValue(changed, k, otherValue(*f));
        QVERIFY2(configValue(changed, k) != configValue(TrpoConfig{}, k), "the test value must differ from the default");
        // the JSON of the changed config, loaded over defaults, gives the changed value back
        TrpoConfig loaded;
        applyConfigJson(loaded, configToJson(changed));
        QCOMPARE(configValue(loaded, k), configValue(changed, k));
        QVERIFY(diffConfigs(changed, loaded, false).empty());
        // and the value travels under its own key: a JSON holding only that key carries it
        const nlohmann::json all = nlohmann::json::parse(configToJson(changed));
        QVERIFY(all.contains(k));
        TrpoConfig one;
        applyConfigJson(one, nlohmann::json{{k, all[k]}}.dump());
        QCOMPARE(configValue(one, k), configValue(changed, k));
        const auto diff = diffConfigs(TrpoConfig{}, one, false);
        QCOMPARE(diff.size(), size_t(1)); // ... and nothing else
        QCOMPARE(diff[0].key, k);
    }

    void jsonHoldsExactlyTheTableFields() {
        const nlohmann::json j = nlohmann::json::parse(configToJson(TrpoConfig{}));
        std::set<std::string> keys, table;
        for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
        for (const ConfigField& f : configFields()) {
            QVERIFY2(table.insert(f.key).second, ("duplicate field " + f.key).c_str());
            QVERIFY2(!f.help.empty(), f.key.c_str());
            QVERIFY2(f.min <= f.max, f.key.c_str());
        }
        QVERIFY(keys == table);
    }

    void missingKeysKeepTheirValues() {
        // presets layer over defaults: a partial JSON changes only what it names
        TrpoConfig c;
        c.delta = 0.037;
        c.hidden = {32, 16};
        c.seed = 99;
        const TrpoConfig before = c;
        applyConfigJson(c, R"({"gamma": 0.5, "comment": "ignored"})");
        QCOMPARE(c.gamma, 0.5);
        const auto diff = diffConfigs(before, c, false);
        QCOMPARE(diff.size(), size_t(1));
        QCOMPARE(diff[0].key, std::string("gamma"));
    }

    void validateNamesTheBadField_data() {
        // every numeric field just outside its range (and NaN for doubles) must be refused
        // naming that field; its end points must be accepted
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        for (const ConfigField& f : configFields()) {
            const QString k = QString::fromStdString(f.key);
            if (f.key == "seed") continue; // an unsigned: see seedOutOfRange
            if (f.type == "int") {
                const auto lo = static_cast<long long>(f.min), hi = static_cast<long long>(f.max);
                QTest::newRow(qPrintable(k + " below")) << k << QString::number(lo - 1) << false;
                QTest::newRow(qPrintable(k + " above")) << k << QString::number(hi + 1) << false;
                QTest::newRow(qPrintable(k + " at min")) << k << QString::number(lo) << true;
                QTest::newRow(qPrintable(k + " at max")) << k << QString::number(hi) << true;
            } else if (f.type == "double") {
                const double below = f.min > 0 ? f.min / 2 : f.min - 0.5;
                const double above = f.max > 0 ? f.max * 1.5 : f.max + 0.5;
                QTest::newRow(qPrintable(k + " below")) << k << QString::fromStdString(fmt(below)) << false;
                QTest::newRow(qPrintable(k + " above")) << k << QString::fromStdString(fmt(above)) << false;
                QTest::newRow(qPrintable(k + " nan")) << k << "nan" << false;
                QTest::newRow(qPrintable(k + " at min")) << k << QString::fromStdString(fmt(f.min)) << true;
                QTest::newRow(qPrintable(k + " at max")) << k << QString::fromStdString(fmt(f.max)) << true;
            } else if (f.type == "int-list") {
                const auto lo = static_cast<int>(f.min), hi = static_cast<int>(f.max);
                QTest::newRow(qPrintable(k + " entry below")) << k << QString("64,%1").arg(lo - 1) << false;
                QTest::newRow(qPrintable(k + " entry above")) << k << QString("%1,64").arg(hi + 1) << false;
                QTest::newRow(qPrintable(k + " 9 layers")) << k << "8,8,8,8,8,8,8,8,8" << false;
                QTest::newRow(qPrintable(k + " ends")) << k << QString("%1,%2").arg(lo).arg(hi) << true;
                QTest::newRow(qPrintable(k + " 8 layers")) << k << "8,8,8,8,8,8,8,8" << true;
            }
        }
    }
    void validateNamesTheBadField() {
        QFETCH(QString, key);
        QFETCH(QString, text);
        QFETCH(bool, valid);
        TrpoConfig c;
        if (key == "value_coeff") c.algo = Algorithm::Ppo; // a setting of the minibatch algorithms only
        c.validate(); // the defaults are valid, so an error below is about this field
        setConfigValue(c, key.toStdString(), text.toStdString());
        try {
            c.validate();
            QVERIFY2(valid, qPrintable("accepted " + key + " = " + text));
        } catch (const ConfigError& e) {
            QVERIFY2(!valid, e.what());
            // the message starts with the field's name ("delta = ..." not "value_hidden = ..." for hidden)
            QVERIFY2(QString(e.what()).startsWith(key + " "), e.what());
        }
    }

    void seedOutOfRange() {
        TrpoConfig c;
        c.seed = 9'000'000'000'000'001ULL; // above the documented 9e15 (exact in a double)
        try {
            c.validate();
            QFAIL("accepted seed 9e15 + 1");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).startsWith("seed "), e.what());
        }
        c.seed = 9'000'000'000'000'000ULL;
        c.validate();
        QVERIFY_THROWS_EXCEPTION(ConfigError, setConfigValue(c, "seed", "-1"));
    }

    void stepsMustCoverEveryCopyTwice() {
        TrpoConfig c;
        c.numEnvs = 8;
        c.stepsPerIteration = 15;
        try {
            c.validate();
            QFAIL("accepted 15 steps for 8 copies");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).startsWith("steps_per_iteration "), e.what());
        }
        c.stepsPerIteration = 16;
        c.validate();
    }

    void badJsonIsRefusedNamingTheProblem_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("named"); // the message must contain this
        QTest::newRow("unknown key") << R"({"delta": 0.02, "no_such_thing": 1})" << "no_such_thing";
        QTest::newRow("int given a fraction") << R"({"cg_iters": 2.5})" << "cg_iters";
        QTest::newRow("int given a string") << R"({"cg_iters": "15"})" << "cg_iters";
        QTest::newRow("double given a string") << R"({"delta": "0.01"})" << "delta";
        QTest::newRow("double given a bool") << R"({"delta": true})" << "delta";
        QTest::newRow("double given null") << R"({"delta": null})" << "delta";
        QTest::newRow("double given an object") << R"({"delta": {"value": 0.01}})" << "delta";
        QTest::newRow("bool given a number") << R"({"normalize_obs": 3})" << "normalize_obs";
        QTest::newRow("enum given an unknown name") << R"({"activation": "sigmoid"})" << "activation";
        QTest::newRow("list given a word") << R"({"hidden": "big"})" << "hidden";
        QTest::newRow("list with a string entry") << R"({"value_hidden": [64, "x"]})" << "value_hidden";
        QTest::newRow("list with a fraction") << R"({"hidden": [64, 1.5]})" << "hidden";
        QTest::newRow("negative seed") << R"({"seed": -1})" << "seed";
        QTest::newRow("not an object") << "[1, 2]" << "object";
        QTest::newRow("malformed") << R"({"delta": 0.01,)" << "JSON";
        QTest::newRow("empty") << "" << "JSON";
        // fuzz_config: a number beyond double's range is nlohmann's out_of_range 406, which
        // escaped as a non-ConfigError exception (trpo-train --config and the lessons)
        QTest::newRow("number overflow") << R"({"env":"Acrobot-v1","num_envs":1e3081})" << "JSON";
    }
    void badJsonIsRefusedNamingTheProblem() {
        QFETCH(QString, json);
        QFETCH(QString, named);
        TrpoConfig c;
        c.delta = 0.037;
        const TrpoConfig before = c;
        try {
            applyConfigJson(c, json.toStdString());
            QFAIL("accepted bad JSON");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains(named), e.what());
        }
        QVERIFY(diffConfigs(before, c, false).empty()); // nothing applied, not even the good keys
    }

    void setConfigValueNamesTheKey_data() {
        // a text that no number, bool, list or enum field accepts: the error must name the
        // key the user typed (JSON key, or the CLI flag derived from it)
        QTest::addColumn<QString>("key");
        for (const ConfigField& f : configFields())
            if (f.type != "string") QTest::newRow(f.key.c_str()) << QString::fromStdString(f.key);
    }
    void setConfigValueNamesTheKey() {
        QFETCH(QString, key);
        const std::string k = key.toStdString();
        TrpoConfig c;
        const std::string before = configValue(c, k);
        try {
            setConfigValue(c, k, "often");
            QFAIL("accepted 'often'");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains(key), e.what());
        }
        QCOMPARE(configValue(c, k), before); // unchanged
    }

    void configValidationNamesTheField() {
        TrpoConfig c;
        c.delta = -1;
        try {
            c.validate();
            QFAIL("accepted delta -1");
        } catch (const ConfigError& e) {
            QVERIFY(QString(e.what()).contains("delta"));
            QVERIFY(QString(e.what()).contains("range"));
        }
        TrpoConfig d;
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(d, "{\"delta\": 0.01,"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(d, "{\"no_such_thing\": 1}"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(d, "{\"cg_iters\": 2.5}"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(d, "{\"hidden\": \"big\"}"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(d, "[1,2]"));
        QCOMPARE(d.delta, 0.01); // nothing applied from the failed loads
        // every enum lists its choices, and each one is accepted
        for (const ConfigField& f : configFields()) {
            if (f.type != "enum") continue;
            QVERIFY2(!f.choices.empty(), f.key.c_str());
            for (const std::string& v : f.choices) {
                TrpoConfig g;
                setConfigValue(g, f.key, v);
                QCOMPARE(configValue(g, f.key), v);
            }
        }
        // round trip
        TrpoConfig e;
        e.delta = 0.037;
        e.hidden = {32, 16};
        e.activation = Activation::Relu;
        TrpoConfig f;
        applyConfigJson(f, configToJson(e));
        QVERIFY(diffConfigs(e, f, false).empty());
    }

    void networkAndConvLayers() {
        TrpoConfig c;
        QVERIFY(c.network == NetworkKind::Mlp); // the default: every seeded run stays an MLP
        QCOMPARE(configValue(c, "conv_layers"), std::string("32x8/4,64x4/2")); // garage's trpo_cubecrash
        QVERIFY(!findConfigField("network")->hot && !findConfigField("conv_layers")->hot);
        setConfigValue(c, "conv_layers", " 16x5/2 , 8x3");
        QCOMPARE(c.convLayers, (std::vector<ConvLayerSpec>{{16, 5, 2}, {8, 3, 1}}));
        QCOMPARE(configValue(c, "conv_layers"), std::string("16x5/2,8x3/1"));
        for (const char* bad : {"", "32", "x8/4", "32x/4", "32x8/", "32x8/4,", "0x8/4", "32x8/0", "32x99/1", "-3x8/4",
                                "32x8/4,64x4/2,1x1,1x1,1x1,1x1,1x1,1x1,1x1", "32x8/4;64x4/2", "32x8.5/4"}) {
            try {
                setConfigValue(c, "conv_layers", bad);
                QFAIL(qPrintable(QString("accepted conv_layers '%1'").arg(bad)));
            } catch (const ConfigError& e) {
                QVERIFY2(QString(e.what()).contains("conv_layers"), e.what());
            }
        }
        QCOMPARE(c.convLayers.size(), size_t(2)); // unchanged by the refused texts
        QVERIFY_THROWS_EXCEPTION(ConfigError, setConfigValue(c, "network", "rnn"));
        applyConfigJson(c, R"({"network": "cnn", "conv_layers": "4x3/1"})");
        QVERIFY(c.network == NetworkKind::Cnn);
        QCOMPARE(c.convLayers, (std::vector<ConvLayerSpec>{{4, 3, 1}}));

        // against an environment: a vector observation, or a kernel larger than the image
        // the layers before it leave, is refused naming the problem
        EnvSpec vec;
        vec.id = "CartPole-v1";
        vec.observation = Space::box(std::vector<double>(4, -1.0), std::vector<double>(4, 1.0));
        EnvSpec pix;
        pix.id = "CubeCrash-v0";
        pix.observation = Space::box(std::vector<double>(3 * 40 * 32, 0.0), std::vector<double>(3 * 40 * 32, 1.0));
        pix.image = ImageShape{3, 40, 32};
        TrpoConfig cnn;
        cnn.network = NetworkKind::Cnn;
        const NetworkSpec ok = networkSpec(cnn, pix, cnn.valueHidden);
        QVERIFY(ok.kind == NetworkKind::Cnn && ok.image == *pix.image && ok.conv == cnn.convLayers && ok.inputs == 3840);
        try {
            checkNetwork(cnn, vec);
            QFAIL("a CNN over a vector observation");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("CartPole-v1") && QString(e.what()).contains("image"), e.what());
        }
        setConfigValue(cnn, "conv_layers", "32x8/4,64x4/2,64x3/1"); // 40x32 -> 9x7 -> 3x2: no room for 3x3
        try {
            checkNetwork(cnn, pix);
            QFAIL("a kernel that does not fit");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("layer 3") && QString(e.what()).contains("3x2"), e.what());
        }
        TrpoConfig mlp; // mlp needs no image
        QCOMPARE(networkSpec(mlp, vec, mlp.hidden).inputs, 4);
    }

    void noiseHoldStepsIsValidatedAndDocumented() {
        const ConfigField* f = findConfigField("noise_hold_steps");
        QVERIFY(f);
        QCOMPARE(f->type, std::string("int"));
        QCOMPARE(f->min, 1.0);
        QCOMPARE(f->max, 1000.0);
        QVERIFY(f->hot);
        QVERIFY(f->help.find("held") != std::string::npos);
        TrpoConfig c;
        QCOMPARE(c.noiseHoldSteps, 1);
        for (int bad : {0, -3, 1001}) {
            c.noiseHoldSteps = bad;
            try {
                c.validate();
                QFAIL("accepted an out-of-range noise_hold_steps");
            } catch (const ConfigError& e) {
                QVERIFY2(std::string(e.what()).find("noise_hold_steps") != std::string::npos, e.what());
            }
        }
        c.noiseHoldSteps = 1;
        applyConfigJson(c, R"({"noise_hold_steps": 16})");
        QCOMPARE(c.noiseHoldSteps, 16);
        QCOMPARE(configValue(c, "noise_hold_steps"), std::string("16"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, applyConfigJson(c, R"({"noise_hold_steps": 2.5})"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, setConfigValue(c, "noise_hold_steps", "often"));
    }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "test_config.moc"
