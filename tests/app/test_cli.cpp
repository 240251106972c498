// trpo-train as a user runs it: bad flags, out-of-range values and broken config files give
// a message naming the problem and exit code 2; a short run writes the run directory and
// --resume continues it. trpo-studio's command line (offscreen): --screenshot writes a PNG of
// the window right away or after --iterations (at any --pace, and in presentation mode), and
// bad paths or a pace that is not a choice give exit code 2 and their name.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSize>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <sys/types.h>

namespace {
struct Result {
    int code;
    QString out, err;
};
Result run(const QStringList& args, const QString& exe = TRPO_TRAIN_EXE) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    p.setProcessEnvironment(env);
    p.start(exe, args);
    if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, p.readAllStandardOutput(),
            p.readAllStandardError()};
}
#ifdef TRPO_STUDIO_EXE
Result runStudio(const QStringList& args) { return run(args, TRPO_STUDIO_EXE); }

// the width and height in a PNG's header; empty if the bytes are not a PNG
QSize pngSize(const QByteArray& b) {
    const QByteArray signature("\x89PNG\r\n\x1a\n", 8);
    if (b.size() < 33 || !b.startsWith(signature) || b.mid(12, 4) != "IHDR") return {};
    auto be32 = [&b](int at) {
        return int((uchar(b[at]) << 24) | (uchar(b[at + 1]) << 16) | (uchar(b[at + 2]) << 8) | uchar(b[at + 3]));
    };
    return QSize(be32(16), be32(20));
}

// the size and the iteration trpo-studio reports for the window it wrote:
// "wrote FILE (WxH), iteration K"
QRegularExpressionMatch reported(const QString& out) {
    return QRegularExpression(R"(wrote .* \((\d+)x(\d+)\), iteration (\d+))").match(out);
}
#endif

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void badInput_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("unknown flag") << QStringList{"--frobnicate"} << "frobnicate";
        QTest::newRow("delta not a number") << QStringList{"--delta", "abc"} << "delta";
        QTest::newRow("delta out of range") << QStringList{"--delta", "-0.5"} << "delta";
        QTest::newRow("gamma too big") << QStringList{"--gamma", "1.5"} << "gamma";
        QTest::newRow("cg iters fractional") << QStringList{"--cg-iters", "2.5"} << "cg";
        QTest::newRow("hidden malformed") << QStringList{"--hidden", "64,,64"} << "hidden";
        QTest::newRow("unknown env") << QStringList{"--env", "NoSuchEnv-v0"} << "NoSuchEnv-v0";
        QTest::newRow("steps zero") << QStringList{"--steps", "0"} << "steps";
        QTest::newRow("missing config") << QStringList{"--config", "/nonexistent/cfg.json"} << "cfg.json";
        QTest::newRow("resume missing") << QStringList{"--resume", "/nonexistent/run"} << "run";
        QTest::newRow("stray argument") << QStringList{"oops"} << "oops";
        QTest::newRow("inspect-every negative") << QStringList{"--inspect-every", "-1"} << "inspect-every";
        QTest::newRow("inspect-every fractional") << QStringList{"--inspect-every", "1.5"} << "inspect-every";
        QTest::newRow("collapse-drop out of range") << QStringList{"--collapse-drop", "2"} << "collapse";
    }
    void badInput() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const Result r = run(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
    }

    void malformedConfigFiles_data() {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("needle");
        QTest::newRow("empty") << QByteArray() << "JSON";
        QTest::newRow("truncated") << QByteArray("{\"delta\": 0.0") << "JSON";
        QTest::newRow("unknown key") << QByteArray("{\"deltaa\": 0.02}") << "deltaa";
        QTest::newRow("wrong type") << QByteArray("{\"delta\": \"big\"}") << "delta";
        QTest::newRow("out of range") << QByteArray("{\"lambda\": 7}") << "lambda";
        QTest::newRow("binary") << QByteArray("\x00\xff\x13\x37garbage", 12) << "JSON";
    }
    void malformedConfigFiles() {
        QFETCH(QByteArray, content);
        QFETCH(QString, needle);
        QTemporaryDir dir;
        const QString path = dir.filePath("cfg.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(content);
        f.close();
        const Result r = run({"--config", path, "--out", dir.filePath("run")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(dir.filePath("run/progress.csv")));
    }

    void shortRunAndResume() {
        QTemporaryDir dir;
        const QString out = dir.filePath("run");
        Result r = run({"--env", "CartPole-v1", "--iterations", "3", "--steps-per-iteration", "256", "--out", out,
                        "--quiet"});
        QCOMPARE(r.code, 0);
        for (const char* f :
             {"config.json", "progress.csv", "events.jsonl", "checkpoints/latest.ckpt", "policy.json", "policy.onnx"})
            QVERIFY2(QFileInfo::exists(out + "/" + f), f);
        // the same directory again is refused rather than overwritten
        r = run({"--env", "CartPole-v1", "--iterations", "1", "--out", out});
        QCOMPARE(r.code, 2);
        // resume with a hot change
        r = run({"--resume", out, "--iterations", "2", "--delta", "0.02", "--quiet"});
        QCOMPARE(r.code, 0);
        QFile csv(out + "/progress.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(csv.readAll().count('\n'), 6); // header + 5 iterations
        QFile ev(out + "/events.jsonl");
        QVERIFY(ev.open(QIODevice::ReadOnly));
        QVERIFY(ev.readAll().contains("\"key\":\"delta\""));
        // a cold change on resume is refused
        r = run({"--resume", out, "--iterations", "1", "--hidden", "8"});
        QCOMPARE(r.code, 2);
        // a corrupted checkpoint is named
        QFile ck(out + "/checkpoints/latest.ckpt");
        QVERIFY(ck.open(QIODevice::ReadWrite));
        ck.resize(ck.size() / 2);
        ck.close();
        r = run({"--resume", out, "--iterations", "1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("latest.ckpt") && r.err.contains("truncated"), qPrintable(r.err));
    }

    // Ctrl+C in the middle of a long iteration (BipedalWalker's preset: 16,384 steps) stops
    // at once: the iteration is discarded, the checkpoint holds the last completed one, and
    // the run resumes from it
    void ctrlCStopsMidIteration() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        const double boundMs = 10000; // process exit included; sanitizers are 5-15x slower
#else
        const double boundMs = 1500;
#endif
        QTemporaryDir dir;
        const QString out = dir.filePath("run");
        QProcess p;
        p.start(TRPO_TRAIN_EXE, {"--env", "BipedalWalker-v3", "--iterations", "50", "--out", out});
        QVERIFY(p.waitForStarted());
        // the first iteration's line, then a moment into the second iteration
        QByteArray printed;
        QTRY_VERIFY_WITH_TIMEOUT((printed += p.readAllStandardOutput()).contains("iter    1"), 60000);
        QTest::qWait(100);
        printed += p.readAllStandardOutput();
        const int before = static_cast<int>(printed.count("\niter ") + printed.startsWith("iter "));
        QElapsedTimer clock;
        clock.start();
        QCOMPARE(::kill(static_cast<pid_t>(p.processId()), SIGINT), 0);
        QVERIFY(p.waitForFinished(60000));
        const double ms = clock.nsecsElapsed() / 1e6;
        printed += p.readAllStandardOutput();
        qInfo("Ctrl+C to exit: %.0f ms (bound %.0f ms)", ms, boundMs);
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QRegularExpressionMatch done =
            QRegularExpression(R"(trpo-train: interrupted after (\d+) iterations)").match(QString::fromUtf8(printed));
        QVERIFY2(done.hasMatch(), printed.constData());
        const int completed = done.captured(1).toInt();
        QCOMPARE(completed, before); // the iteration in flight was not finished
        QVERIFY2(ms < boundMs, qPrintable(QString("Ctrl+C took %1 ms").arg(ms)));
        // every completed iteration is in progress.csv, and nothing of the interrupted one
        QFile csv(out + "/progress.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(static_cast<int>(csv.readAll().count('\n')), 1 + completed);
        const Result r = run({"--resume", out, "--iterations", "1", "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(QString("after %1 iterations").arg(completed + 1)), qPrintable(r.out));
    }

    // --inspect-every N writes the trust-region probe of every N-th iteration
    void inspectEveryWritesTrustRegionRecords() {
        QTemporaryDir dir;
        const QString out = dir.filePath("run");
        const Result r = run({"--env", "CartPole-v1", "--iterations", "4", "--steps-per-iteration", "256",
                              "--inspect-every", "2", "--out", out, "--quiet"});
        QCOMPARE(r.code, 0);
        QFile f(out + "/trust_region.jsonl");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject o = QJsonDocument::fromJson(lines[i]).object();
            QCOMPARE(o.value("iteration").toInt(), 2 * (i + 1));
            QCOMPARE(o.value("curve").toArray().size(), 31);
            QCOMPARE(o.value("fan").toArray().size(), 5);
        }
    }

    void listEnvsAndHelp() {
        Result r = run({"--list-envs"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("CartPole-v1") && r.out.contains("Pendulum-v1"));
        r = run({"--help"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("--delta") && r.out.contains("--target-return"));
    }

#ifdef TRPO_STUDIO_EXE
    void studioBadInput_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("open missing") << QStringList{"--open", "/nonexistent/first.trporun"} << "/nonexistent/first.trporun";
        QTest::newRow("open a file") << QStringList{"--open", TRPO_TEST_SOURCE_DIR "/README.md"} << "README.md";
        QTest::newRow("screenshot folder missing") << QStringList{"--screenshot", "/nonexistent-dir/shot.png"}
                                                   << "/nonexistent-dir";
        QTest::newRow("screenshot not png") << QStringList{"--screenshot", QDir::tempPath() + "/shot.jpg"} << ".png";
        QTest::newRow("iterations zero") << QStringList{"--iterations", "0"} << "iterations";
        QTest::newRow("iterations text") << QStringList{"--iterations", "many"} << "many";
        QTest::newRow("bench and screenshot") << QStringList{"--bench", "2", "--screenshot", QDir::tempPath() + "/s.png"}
                                              << "bench";
        QTest::newRow("unknown env") << QStringList{"--env", "NoSuchEnv-v0"} << "NoSuchEnv-v0";
        QTest::newRow("stray argument") << QStringList{"oops"} << "oops";
        QTest::newRow("pace not a choice") << QStringList{"--pace", "3"} << "--pace '3': the pace is one of 0.5, 1, 2, 5, 10, max";
        QTest::newRow("pace text") << QStringList{"--pace", "fast"} << "fast";
        QTest::newRow("phases too many") << QStringList{"--phases", "8"} << "--phases";
        QTest::newRow("config missing") << QStringList{"--config", "/nonexistent/lesson.json"} << "lesson.json";
        const QString badConfig = QDir::tempPath() + "/trpo-studio-test-bad-delta.json";
        {
            QFile f(badConfig);
            if (f.open(QIODevice::WriteOnly)) f.write(R"({"env": "CartPole-v1", "delta": -1})");
        }
        QTest::newRow("config bad value") << QStringList{"--config", badConfig} << "delta";
        QTest::newRow("pace zero") << QStringList{"--pace", "0"} << "--pace";
        QTest::newRow("bench below max pace") << QStringList{"--bench", "2", "--pace", "1"} << "bench";
        QTest::newRow("soak zero") << QStringList{"--soak", "0"} << "--soak needs a positive whole number";
        QTest::newRow("soak and bench") << QStringList{"--soak", "5", "--bench", "5"} << "give one of them";
        QTest::newRow("soak below max pace") << QStringList{"--soak", "5", "--pace", "1"} << "max pace";
        // lessons: the message names the file and the problem
        QTest::newRow("lesson missing") << QStringList{"--lesson", "/nonexistent/x.trpolesson"}
                                        << "--lesson: /nonexistent/x.trpolesson";
        const QString badLesson = QDir::tempPath() + "/trpo-studio-test-bad.trpolesson";
        {
            QFile f(badLesson);
            if (f.open(QIODevice::WriteOnly))
                f.write(R"({"format": "trpo-studio-lesson", "version": 1, "title": "T", "env": "CartPole-v1",
                            "steps": [{"title": "S", "text": "t", "actions": [{"train": 0}]}]})");
        }
        QTest::newRow("lesson bad action")
            << QStringList{"--lesson", badLesson}
            << badLesson + ": step 1 (\"S\"), action 1 (train): needs a whole number of iterations from 1 to 1000, not 0";
        QTest::newRow("lesson with env") << QStringList{"--lesson", badLesson, "--env", "Pendulum-v1"}
                                            << "--lesson sets the environment and the settings";
        // --fork: checked as trpo-train's --vary, before any window exists
        QTest::newRow("fork one value") << QStringList{"--fork", "delta=0.01"}
                                        << "--fork: 1 value given for delta; a fork has 2 to 6";
        QTest::newRow("fork bad value") << QStringList{"--fork", "delta=0.01,-1"} << "--fork: delta=-1: ";
        QTest::newRow("fork cold key") << QStringList{"--fork", "seed=1,2"} << "--fork: seed is a cold setting";
        QTest::newRow("fork iterations alone") << QStringList{"--fork-iterations", "5"}
                                               << "--fork-iterations needs --fork KEY=V1,V2,...";
        QTest::newRow("fork iterations zero") << QStringList{"--fork", "delta=0.01,0.1", "--fork-iterations", "0"}
                                              << "--fork-iterations needs a whole number from 1 to 1000, not '0'";
    }
    void studioBadInput() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const Result r = runStudio(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
    }

    void studioScreenshot_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("iteration");
        QTest::newRow("right away") << QStringList{} << 0;
        QTest::newRow("after iterations") << QStringList{"--steps-per-iteration", "256", "--iterations", "3"} << 3;
        QTest::newRow("at a pace") << QStringList{"--pace", "0.5", "--steps-per-iteration", "256", "--iterations", "2"} << 2;
        QTest::newRow("at max pace, presentation") << QStringList{"--pace", "max", "--presentation"} << 0;
    }
    void studioScreenshot() {
        QFETCH(QStringList, args);
        QFETCH(int, iteration);
        QTemporaryDir dir;
        const QString shot = dir.filePath("window.png");
        const Result r = runStudio(args + QStringList{"--screenshot", shot});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QFile f(shot);
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(shot));
        const QSize size = pngSize(f.readAll());
        QVERIFY2(size.isValid(), "not a PNG");
        const QRegularExpressionMatch m = reported(r.out);
        QVERIFY2(m.hasMatch(), qPrintable(r.out));
        QCOMPARE(size, QSize(m.captured(1).toInt(), m.captured(2).toInt())); // the window's size
        QCOMPARE(m.captured(3).toInt(), iteration);
        QVERIFY2(size.width() >= 800 && size.height() >= 500, qPrintable(r.out));
    }

    // the soak (offscreen, viewer and plots live): resident memory every tenth of the run,
    // flat within 5% after the first fifth. Under AddressSanitizer (whose quarantine grows
    // the resident set by design, and where an iteration takes about half a second) a
    // 30-iteration run only has to print its figures.
    void studioSoak() {
#if defined(__SANITIZE_ADDRESS__)
        const int n = 30;
        const bool judge = false;
#else
        const int n = 1000;
        const bool judge = true;
#endif
        const Result r = runStudio({"--soak", QString::number(n)});
        qInfo("%s", qPrintable(r.out.trimmed()));
        const QRegularExpression sample(R"(soak: iteration (\d+), resident ([0-9.]+) MB)");
        int samples = 0;
        for (auto it = sample.globalMatch(r.out); it.hasNext(); it.next()) ++samples;
        QCOMPARE(samples, 10);
        QVERIFY2(r.out.contains(QString("trpo-studio bench: %1 iterations").arg(n)), qPrintable(r.out));
        const QRegularExpressionMatch verdict =
            QRegularExpression(R"(resident memory grew at most (-?[0-9.]+)% \(limit 5%\))").match(r.out);
        QVERIFY2(verdict.hasMatch(), qPrintable(r.out));
        if (judge) {
            QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
            QVERIFY(verdict.captured(1).toDouble() <= 5.0);
        }
    }

    void studioHelp() {
        const Result r = runStudio({"--help"});
        QCOMPARE(r.code, 0);
        for (const char* flag : {"--open", "--screenshot", "--iterations", "--pace", "RUN_DIR", "FILE.png"})
            QVERIFY2(r.out.contains(flag), flag);
    }
#endif
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
