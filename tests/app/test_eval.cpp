// trpo-eval and trpo-train --record-video as a user runs them. trpo-eval: the same policy scored from its policy.json, its policy.onnx,
// its checkpoint and its run directory gives the same numbers; a scripted policy (always
// push right) gives the returns of CartPole played by hand with the documented seeds;
// episodes are reproducible; a CNN policy is scored alike from its three forms; bad files and
// flags give exit code 2 and their name.
// --record-video: the final policy's first episodes as a clip in the run directory, without a
// display, showing the episodes trpo-eval scores with the run's seed.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <vector>

#include "support/clip_probe.h"
#include "sim/registry.h"

namespace {
struct Result {
    int code;
    QString out, err;
};
Result run(const QString& exe, const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(exe, args);
    if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, p.readAllStandardOutput(),
            p.readAllStandardError()};
}
Result eval(const QStringList& args) { return run(TRPO_EVAL_EXE, args); }

QJsonObject evalJson(const QStringList& args) {
    const Result r = eval(args + QStringList{"--json"});
    if (r.code != 0) qWarning("trpo-eval %s: %s", qPrintable(args.join(' ')), qPrintable(r.err));
    return QJsonDocument::fromJson(r.out.toUtf8()).object();
}

bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}
} // namespace

class TestEval : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_run;

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_run = m_dir.filePath("run");
        const Result r = run(TRPO_TRAIN_EXE, {"--env", "CartPole-v1", "--iterations", "3", "--steps-per-iteration",
                                              "512", "--out", m_run, "--quiet"});
        QCOMPARE(r.code, 0);
    }

    // one policy, four ways in: the same deterministic returns and lengths
    void sameNumbersFromEveryForm() {
        // content, not the name, tells the forms apart
        QVERIFY(QFile::copy(m_run + "/policy.onnx", m_dir.filePath("model.bin")));
        const QStringList inputs{m_run + "/policy.json", m_run + "/policy.onnx", m_run + "/checkpoints/latest.ckpt",
                                 m_run, m_dir.filePath("model.bin")};
        const QStringList forms{"policy.json", "ONNX model", "checkpoint", "checkpoint", "ONNX model"};
        QJsonObject first;
        for (int i = 0; i < inputs.size(); ++i) {
            const QJsonObject o = evalJson({inputs[i], "--deterministic", "--episodes", "4", "--seed", "5"});
            QCOMPARE(o["form"].toString(), forms[i]);
            QCOMPARE(o["env"].toString(), QString("CartPole-v1"));
            QCOMPARE(o["iteration"].toInt(), 3);
            QCOMPARE(o["returns"].toArray().size(), 4);
            if (i == 0) {
                first = o;
                continue;
            }
            QCOMPARE(o["returns"], first["returns"]);
            QCOMPARE(o["lengths"], first["lengths"]);
            QCOMPARE(o["mean"], first["mean"]);
            QCOMPARE(o["std"], first["std"]);
        }
        // the text form prints the same summary
        const Result r = eval({m_run + "/policy.json", "--deterministic", "--episodes", "4", "--seed", "5"});
        QCOMPARE(r.code, 0);
        const QString summary = QString("return  %1 ± %2").arg(first["mean"].toDouble(), 0, 'f', 2).arg(first["std"].toDouble(), 0, 'f', 2);
        QVERIFY2(r.out.contains(summary), qPrintable(r.out + "\nwanted: " + summary));
        QVERIFY2(r.out.contains("min ") && r.out.contains("max ") && r.out.contains("length"), qPrintable(r.out));
    }

    // always push right: the returns are those of CartPole played by hand, episode i reset
    // with seed S + i (one reward per step, so return = length)
    void scriptedPolicyKnownReturn() {
        QFile f(m_run + "/policy.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject pol = QJsonDocument::fromJson(f.readAll()).object();
        QJsonArray layers = pol["layers"].toArray();
        for (int l = 0; l < layers.size(); ++l) {
            QJsonObject layer = layers[l].toObject();
            QJsonArray rows = layer["weight"].toArray();
            for (int r = 0; r < rows.size(); ++r) {
                QJsonArray row = rows[r].toArray();
                for (int c = 0; c < row.size(); ++c) row[c] = 0.0;
                rows[r] = row;
            }
            layer["weight"] = rows;
            QJsonArray bias = layer["bias"].toArray();
            for (int b = 0; b < bias.size(); ++b) bias[b] = (l == layers.size() - 1 && b == 1) ? 1.0 : 0.0;
            layer["bias"] = bias;
            layers[l] = layer;
        }
        pol["layers"] = layers;
        const QString scripted = m_dir.filePath("push-right.json");
        QVERIFY(writeFile(scripted, QJsonDocument(pol).toJson()));

        const std::uint64_t seed = 11;
        const int episodes = 3;
        std::vector<int> want;
        std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment("CartPole-v1");
        QVERIFY(env);
        std::vector<double> obs(4), right{1.0};
        for (int i = 0; i < episodes; ++i) {
            env->reset(seed + static_cast<std::uint64_t>(i), obs);
            int steps = 0;
            while (true) {
                const core::StepResult s = env->step(right, obs);
                ++steps;
                if (s.terminated || s.truncated) break;
            }
            want.push_back(steps);
        }
        QVERIFY(want[0] > 3 && want[0] < 100); // it falls over quickly
        // sampled or not: the probability of "right" is 1/(1+e^-1), so only --deterministic
        // is exact; with it the returns must be those above
        const QJsonObject o = evalJson({scripted, "--deterministic", "--episodes", QString::number(episodes), "--seed",
                                        QString::number(seed)});
        const QJsonArray returns = o["returns"].toArray(), lengths = o["lengths"].toArray();
        QCOMPARE(returns.size(), episodes);
        double sum = 0;
        for (int i = 0; i < episodes; ++i) {
            QCOMPARE(lengths[i].toInt(), want[static_cast<size_t>(i)]);
            QCOMPARE(returns[i].toDouble(), double(want[static_cast<size_t>(i)]));
            sum += want[static_cast<size_t>(i)];
        }
        QCOMPARE(o["mean"].toDouble(), sum / episodes);
    }

    // sampled actions: the same seed gives the same episodes, episode i does not depend on
    // how many are played, another seed gives others
    void sampledEpisodesReproducible() {
        const QString pol = m_run + "/policy.json";
        const QJsonObject a = evalJson({pol, "--episodes", "3", "--seed", "2"});
        const QJsonObject b = evalJson({pol, "--episodes", "3", "--seed", "2"});
        const QJsonObject c = evalJson({pol, "--episodes", "2", "--seed", "2"});
        const QJsonObject d = evalJson({pol, "--episodes", "3", "--seed", "3"});
        QCOMPARE(a["returns"].toArray().size(), 3);
        QCOMPARE(a["returns"], b["returns"]);
        QCOMPARE(c["returns"].toArray()[0], a["returns"].toArray()[0]);
        QCOMPARE(c["returns"].toArray()[1], a["returns"].toArray()[1]);
        QCOMPARE(a["deterministic"].toBool(), false);
        QVERIFY(d["returns"] != a["returns"]);
    }

    void badInput_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        const QString dir = m_dir.path();
        writeFile(dir + "/empty.json", {});
        writeFile(dir + "/garbage.bin", QByteArray("\x00\xff\x13\x37garbage", 12));
        writeFile(dir + "/broken.json", "{\"format\": \"trpo-studio-policy\", \"layers\": [");
        QDir().mkpath(dir + "/not-a-run");
        QTest::newRow("no policy") << QStringList{} << "POLICY";
        QTest::newRow("missing file") << QStringList{dir + "/nope.json"} << "nope.json";
        QTest::newRow("empty file") << QStringList{dir + "/empty.json"} << "empty.json";
        QTest::newRow("garbage") << QStringList{dir + "/garbage.bin"} << "garbage.bin";
        QTest::newRow("broken json") << QStringList{dir + "/broken.json"} << "broken.json";
        QTest::newRow("not a run") << QStringList{dir + "/not-a-run"} << "not-a-run";
        QTest::newRow("two policies") << QStringList{m_run + "/policy.json", "extra"} << "extra";
        QTest::newRow("episodes zero") << QStringList{m_run + "/policy.json", "--episodes", "0"} << "--episodes";
        QTest::newRow("episodes text") << QStringList{m_run + "/policy.json", "--episodes", "ten"} << "--episodes";
        QTest::newRow("episodes fraction") << QStringList{m_run + "/policy.json", "--episodes", "2.5"} << "--episodes";
        QTest::newRow("seed negative") << QStringList{m_run + "/policy.json", "--seed", "-1"} << "--seed";
        QTest::newRow("unknown env") << QStringList{m_run + "/policy.json", "--env", "NoSuchEnv-v0"} << "NoSuchEnv-v0";
        QTest::newRow("mismatched env") << QStringList{m_run + "/policy.json", "--env", "Pendulum-v1"} << "Pendulum-v1";
        QTest::newRow("unknown flag") << QStringList{m_run + "/policy.json", "--frobnicate"} << "frobnicate";
    }
    void badInput() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const Result r = eval(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
    }

    // a CNN policy (network = cnn on CubeCrash-v0): its policy.json, policy.onnx and
    // checkpoint are scored alike; a CNN on a vector observation is refused with exit code 2
    void cnnPolicyFromEveryForm() {
        const QString dir = m_dir.filePath("cnn");
        const Result t = run(TRPO_TRAIN_EXE, {"--env", "CubeCrash-v0", "--network", "cnn", "--conv-layers", "8x8/4,8x4/2",
                                              "--hidden", "16", "--value-hidden", "16", "--iterations", "1",
                                              "--steps-per-iteration", "256", "--value-epochs", "1", "--out", dir, "--quiet"});
        QVERIFY2(t.code == 0, qPrintable(t.err));
        QJsonObject first;
        for (const QString& in : {dir + "/policy.json", dir + "/policy.onnx", dir + "/checkpoints/latest.ckpt"}) {
            const QJsonObject o = evalJson({in, "--deterministic", "--episodes", "5", "--seed", "3"});
            QCOMPARE(o["env"].toString(), QString("CubeCrash-v0"));
            QCOMPARE(o["returns"].toArray().size(), 5);
            if (first.isEmpty()) first = o;
            QCOMPARE(o["returns"], first["returns"]);
            QCOMPARE(o["lengths"], first["lengths"]);
        }
        const Result bad = run(TRPO_TRAIN_EXE, {"--env", "CartPole-v1", "--network", "cnn", "--iterations", "1", "--out",
                                                m_dir.filePath("bad-cnn"), "--quiet"});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("CartPole-v1") && bad.err.contains("image"), qPrintable(bad.err));
    }

    void recordVideo() {
        const QString out = m_dir.filePath("recorded");
        // no display and no platform named: trpo-train picks the offscreen one itself
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("QT_QPA_PLATFORM");
        env.remove("DISPLAY");
        env.remove("WAYLAND_DISPLAY");
        const Result r = run(TRPO_TRAIN_EXE, {"--env", "CartPole-v1", "--iterations", "1", "--steps-per-iteration", "256",
                                              "--seed", "3", "--out", out, "--record-video", "2", "--video-format", "gif"},
                             env);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("recording [") && r.err.contains("100%"), qPrintable(r.err)); // the progress bar
        const QString clip = out + "/final_policy.gif";
        QVERIFY2(r.out.contains("recorded 2 episodes of the final policy") && r.out.contains(clip), qPrintable(r.out));
        const testutil::ClipInfo info = testutil::probeClip(clip.toStdString());
        QVERIFY2(info.ok, info.error.c_str());
        QCOMPARE(info.codec, std::string("gif"));
        QCOMPARE(info.width, 960);
        QCOMPARE(info.height, 540);
        QVERIFY2(r.out.contains(QString("(%1 frames, gif)").arg(info.frames)), qPrintable(r.out));
        // the returns it reports are trpo-eval's with the run's seed
        const QJsonObject o = evalJson({out + "/policy.json", "--deterministic", "--episodes", "2", "--seed", "3"});
        const QString returns = QString("returns %1, %2")
                                    .arg(o["returns"].toArray()[0].toDouble(), 0, 'f', 1)
                                    .arg(o["returns"].toArray()[1].toDouble(), 0, 'f', 1);
        QVERIFY2(r.out.contains(returns), qPrintable(r.out + "\nwanted: " + returns));
    }

    void recordVideoBadFlags_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("zero episodes") << QStringList{"--record-video", "0"} << "--record-video";
        QTest::newRow("not a number") << QStringList{"--record-video", "two"} << "record-video";
        QTest::newRow("unknown format") << QStringList{"--record-video", "1", "--video-format", "avi"} << "--video-format";
        QTest::newRow("format alone") << QStringList{"--video-format", "gif"} << "--video-format";
    }
    void recordVideoBadFlags() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const QString out = m_dir.filePath("never");
        const Result r = run(TRPO_TRAIN_EXE, args + QStringList{"--iterations", "1", "--out", out});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(out));
    }

    // a policy in an environment with other spaces: the message gives both sizes
    void mismatchNamesBothSpaces() {
        const Result r = eval({m_run + "/policy.json", "--env", "Acrobot-v1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("4 observation values") && r.err.contains("Acrobot-v1 gives 6"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestEval)
#include "test_eval.moc"
