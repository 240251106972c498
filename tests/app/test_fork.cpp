// trpo-train --fork as a user runs it (README "Forks"): variants are the parent up to the fork
// iteration, each equals --resume of the state at the fork iteration with its setting (bit
// for bit, timing columns aside), whether that state is the parent's checkpoint or the
// parent trained again from its start through a recorded hot change; an algorithm fork
// switches the update and keeps the rest; Ctrl+C stops every variant and leaves each
// resumable; bad --fork/--at/--vary input gives exit code 2 and a message naming it.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

#include "support/train_cli_util.h"

namespace {
using Result = testutil::TrainResult;
Result run(const QStringList& args) { return testutil::runTrain(args); }
QStringList rows(const QString& dir) { return testutil::progressRowsWithoutTiming(dir); }

bool copyDir(const QString& from, const QString& to) {
    QProcess p;
    p.start("cp", {"-r", from, to});
    return p.waitForFinished() && p.exitCode() == 0;
}

QJsonObject readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

const QStringList kSmall{"--env", "CartPole-v1", "--seed", "3", "--steps-per-iteration", "512", "--threads", "2",
                         "--checkpoint-every", "0", "--quiet"};
} // namespace

class TestFork : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    QString m_p1, m_p2, m_p3; // parents: P1 at 3; P2 = P1 + delta 0.02 from 4, to 6; P3 = P1 + delta 0.02, to 4
    QString path(const QString& name) const { return m_tmp.path() + "/" + name; }

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        m_p1 = path("p1");
        m_p2 = path("p2");
        m_p3 = path("p3");
        Result r = run(kSmall + QStringList{"--iterations", "3", "--out", m_p1});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(copyDir(m_p1, m_p2));
        QVERIFY(copyDir(m_p1, m_p3));
        r = run({"--resume", m_p2, "--iterations", "3", "--delta", "0.02", "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = run({"--resume", m_p3, "--iterations", "1", "--delta", "0.02", "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(rows(m_p2).size(), 6);
        QCOMPARE(rows(m_p3), rows(m_p2).mid(0, 4));
    }

    // at 4, P2's state exists only by training it again (its checkpoint is at 6), through the
    // delta change that iteration 4 first used; P3's checkpoint holds the same state
    void forkEqualsResume() {
        const QString out = path("fork-delta");
        const Result r = run({"--fork", m_p2, "--at", "4", "--vary", "delta=0.005,0.05", "--iterations", "3", "--out",
                              out, "--threads", "2"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains("training the run again"), qPrintable(r.out));
        QVERIFY2(r.out.contains("[delta=0.005] ") && r.out.contains("[delta=0.05] "), qPrintable(r.out));
        // the comparison table closes the output: a header and one line per variant
        const QStringList table = r.out.section("\nvariant ", 1).split('\n', Qt::SkipEmptyParts);
        QVERIFY2(table.size() == 3 && table[0].contains("steps to 475") && table[0].contains("mean KL") &&
                     table[1].startsWith("delta=0.005") && table[2].startsWith("delta=0.05 "),
                 qPrintable(r.out));
        QCOMPARE(table[1].split(' ', Qt::SkipEmptyParts).value(1), QString("3")); // iterations after the fork

        const QJsonObject m = readJson(out + "/fork.json");
        QCOMPARE(m["format"].toString(), QString("trpo-studio-fork"));
        QCOMPARE(m["version"].toInt(), 1);
        QCOMPARE(m["fork_iteration"].toInt(), 4);
        QCOMPARE(m["key"].toString(), QString("delta"));
        QCOMPARE(QDir(m["parent"].toString()).canonicalPath(), QDir(m_p2).canonicalPath());
        const QJsonArray variants = m["variants"].toArray();
        QCOMPARE(variants.size(), 2);

        for (const char* value : {"0.005", "0.05"}) {
            const QString dir = out + "/delta-" + value;
            QVERIFY(variants.contains(QJsonObject{{"value", value}, {"dir", QString("delta-") + value}}));
            const QStringList mine = rows(dir);
            QCOMPARE(mine.size(), 7);
            // identical to the parent up to the fork point
            QCOMPARE(mine.mid(0, 4), rows(m_p2).mid(0, 4));
            // and after it, identical to --resume of the fork state with the variant's setting
            const QString resumed = path(QString("resumed-") + value);
            QVERIFY(copyDir(m_p3, resumed));
            const Result rr = run({"--resume", resumed, "--iterations", "3", "--delta", value, "--quiet"});
            QVERIFY2(rr.code == 0, qPrintable(rr.err));
            QCOMPARE(mine, rows(resumed));
            // the variant is an ordinary run: it resumes
            const Result again = run({"--resume", dir, "--iterations", "1", "--quiet"});
            QVERIFY2(again.code == 0, qPrintable(again.err));
            QCOMPARE(rows(dir).size(), 8);
        }
        // the two settings really differ after the fork
        QVERIFY(rows(out + "/delta-0.005").mid(4) != rows(out + "/delta-0.05").mid(4));
    }

    // at the parent's checkpoint (no training again), into two algorithms; the default --out
    // is a sibling folder; the variant that keeps trpo equals a plain --resume
    void forkAlgorithms() {
        const QString p = path("p-algo");
        QVERIFY(copyDir(m_p2, p));
        const Result r = run({"--fork", p, "--at", "6", "--vary", "algo=trpo,ppo", "--iterations", "2", "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        const QString out = p + "-fork6-algo";
        QVERIFY(QFile::exists(out + "/fork.json"));
        QCOMPARE(readJson(out + "/algo-ppo/config.json")["algo"].toString(), QString("ppo"));
        QCOMPARE(readJson(out + "/algo-trpo/config.json")["algo"].toString(), QString("trpo"));
        QCOMPARE(rows(out + "/algo-ppo").size(), 8);
        const QString resumed = path("resumed-trpo");
        QVERIFY(copyDir(m_p2, resumed));
        QCOMPARE(run({"--resume", resumed, "--iterations", "2", "--quiet"}).code, 0);
        QCOMPARE(rows(out + "/algo-trpo"), rows(resumed));
        QVERIFY(rows(out + "/algo-ppo").mid(6) != rows(resumed).mid(6));
        QFile events(out + "/algo-ppo/events.jsonl");
        QVERIFY(events.open(QIODevice::ReadOnly));
        const QByteArray text = events.readAll();
        QVERIFY2(text.contains("\"type\":\"forked\"") && text.contains("\"key\":\"algo\""), text.constData());
    }

    // Ctrl+C stops every variant at its last completed iteration; each directory resumes
    void interruptLeavesResumable() {
        const QString out = path("fork-int");
        QProcess p;
        p.setProcessChannelMode(QProcess::SeparateChannels);
        p.start(TRPO_TRAIN_EXE, {"--fork", m_p2, "--at", "6", "--vary", "gamma=0.98,0.99,0.995", "--out", out,
                                 "--steps", "1e9", "--threads", "2"});
        QVERIFY(p.waitForStarted());
        QByteArray seen;
        QTRY_VERIFY_WITH_TIMEOUT((seen += p.readAllStandardOutput()).count("[gamma=") >= 6, 30000);
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
        const QByteArray rest = seen + p.readAllStandardOutput();
        QVERIFY2(rest.count("interrupted after") == 3, rest.constData());
        for (const char* v : {"0.98", "0.99", "0.995"}) {
            const QString dir = out + "/gamma-" + v;
            const int before = static_cast<int>(rows(dir).size());
            QVERIFY(before >= 6);
            const Result again = run({"--resume", dir, "--iterations", "1", "--quiet"});
            QVERIFY2(again.code == 0, qPrintable(again.err));
            QCOMPARE(rows(dir).size(), before + 1);
        }
    }

    // a parent whose recorded rows the re-training does not reproduce is refused, naming the
    // first iteration that differs, and nothing is written
    void irreproducibleParent() {
        const QString p = path("p-edited");
        QVERIFY(copyDir(m_p2, p));
        QFile f(p + "/history.jsonl");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QStringList lines = QString::fromUtf8(f.readAll()).split('\n');
        f.close();
        QJsonObject second = QJsonDocument::fromJson(lines[1].toUtf8()).object();
        QCOMPARE(second["iteration"].toInt(), 2);
        second["kl_mean"] = second["kl_mean"].toDouble() * 1.5;
        lines[1] = QString::fromUtf8(QJsonDocument(second).toJson(QJsonDocument::Compact));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(lines.join('\n').toUtf8());
        f.close();
        const QString out = path("fork-edited");
        const Result r = run({"--fork", p, "--at", "4", "--vary", "delta=0.005,0.05", "--out", out});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("iteration 2") && r.err.contains("kl_mean"), qPrintable(r.err));
        QVERIFY(!QFile::exists(out + "/fork.json"));
    }

    void badInput_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        const QString p2 = m_p2;
        QTest::newRow("missing run") << QStringList{"--fork", "/nonexistent/run", "--at", "1", "--vary", "delta=0.01,0.02"}
                                     << "/nonexistent/run";
        QTest::newRow("at beyond the run") << QStringList{"--fork", p2, "--at", "7", "--vary", "delta=0.01,0.02"}
                                           << "--at 7";
        QTest::newRow("at negative") << QStringList{"--fork", p2, "--at", "-1", "--vary", "delta=0.01,0.02"} << "--at";
        QTest::newRow("at missing") << QStringList{"--fork", p2, "--vary", "delta=0.01,0.02"} << "--at";
        QTest::newRow("vary missing") << QStringList{"--fork", p2, "--at", "2"} << "--vary";
        QTest::newRow("vary without =") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta"} << "KEY=V1";
        QTest::newRow("vary unknown key") << QStringList{"--fork", p2, "--at", "2", "--vary", "frob=1,2"} << "frob";
        QTest::newRow("vary cold key") << QStringList{"--fork", p2, "--at", "2", "--vary", "seed=1,2"} << "cold";
        QTest::newRow("vary one value") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01"} << "2 to 6";
        QTest::newRow("vary seven values")
            << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01,0.02,0.03,0.04,0.05,0.06,0.07"} << "2 to 6";
        QTest::newRow("vary bad value") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01,-1"}
                                        << "delta=-1";
        QTest::newRow("vary bad algo") << QStringList{"--fork", p2, "--at", "2", "--vary", "algo=trpo,sac"} << "algo=sac";
        QTest::newRow("vary twice") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01,0.010"} << "twice";
        QTest::newRow("setting flag") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01,0.02", "--gamma",
                                                     "0.9"}
                                      << "--gamma";
        QTest::newRow("at without fork") << QStringList{"--at", "2"} << "--fork";
        QTest::newRow("out not empty") << QStringList{"--fork", p2, "--at", "2", "--vary", "delta=0.01,0.02", "--out", p2}
                                       << "not empty";
    }
    void badInput() {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const Result r = run(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(needle), qPrintable(r.err));
        QVERIFY2(r.err.startsWith("trpo-train: "), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestFork)
#include "test_fork.moc"
