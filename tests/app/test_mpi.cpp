// trpo-train under mpirun (README "Running on several machines (MPI)"): with 1, 2 and 3 ranks
// a run is bit for bit the plain run with the same seed and num_envs (progress.csv without
// its timing columns, policy.json); a checkpoint written with some ranks resumes with others
// or without mpirun and still gives the same bits; a rank killed mid-run ends the job with a
// message naming it and the rank count, and its last checkpoint resumes to the same bits;
// a bad flag under mpirun is reported once, with exit code 2; a sweep's cells shared among
// the ranks equal those of a sweep in one process, and a cell failing on rank 1 is recorded in
// rank 0's sweep.json. Skipped where the build has no MPI or mpirun is missing.
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

namespace {
struct Result {
    int code;
    QString out, err;
};

// ranks 0: trpo-train alone; otherwise under mpirun -np ranks (as CI runs it: root allowed,
// more ranks than cores allowed)
Result train(int ranks, const QStringList& args, const QMap<QString, QString>& extraEnv = {}) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // containers often forbid the cross-memory attach Open MPI's shared-memory transport uses
    // for large messages; copying through the shared segment works everywhere
    if (!env.contains("OMPI_MCA_btl_vader_single_copy_mechanism"))
        env.insert("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    for (auto it = extraEnv.begin(); it != extraEnv.end(); ++it) env.insert(it.key(), it.value());
    p.setProcessEnvironment(env);
    if (ranks == 0)
        p.start(TRPO_TRAIN_EXE, args);
    else
        p.start("mpirun", QStringList{"--allow-run-as-root", "--oversubscribe", "-np", QString::number(ranks),
                                      TRPO_TRAIN_EXE} +
                              args);
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        return {-1, {}, "timeout"};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, p.readAllStandardOutput(),
            p.readAllStandardError()};
}

// progress.csv without the measured columns (wall_seconds, seconds_*, steps_per_second)
QStringList progressWithoutTiming(const QString& dir) {
    QFile f(dir + "/progress.csv");
    if (!f.open(QIODevice::ReadOnly)) return {"missing " + f.fileName()};
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    const QStringList header = lines.value(0).split(',');
    QList<int> keep;
    for (int i = 0; i < header.size(); ++i)
        if (header[i] != "wall_seconds" && !header[i].startsWith("seconds_") && header[i] != "steps_per_second")
            keep << i;
    QStringList out;
    for (const QString& line : lines) {
        const QStringList cells = line.split(',');
        QStringList kept;
        for (int i : keep) kept << cells.value(i);
        out << kept.join(',');
    }
    return out;
}

QByteArray fileHash(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return "missing " + path.toUtf8();
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

int checkpointIteration(const QString& dir) {
    QFile f(dir + "/manifest.json");
    if (!f.open(QIODevice::ReadOnly)) return -1;
    return QJsonDocument::fromJson(f.readAll()).object().value("checkpoint_iteration").toInt(-1);
}

#define COMPARE_RUNS(a, b)                                                                                   \
    do {                                                                                                     \
        const QStringList pa = progressWithoutTiming(a), pb = progressWithoutTiming(b);                     \
        QVERIFY2(pa.size() > 1, qPrintable(pa.join('\n')));                                                  \
        QCOMPARE(pa, pb);                                                                                    \
        QCOMPARE(fileHash(QString(a) + "/policy.json"), fileHash(QString(b) + "/policy.json"));              \
    } while (0)
} // namespace

class TestMpi : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
#ifndef TRPO_TEST_HAVE_MPI
        QSKIP("this build has no MPI (TRPO_MPI=OFF)");
#endif
        if (QStandardPaths::findExecutable("mpirun").isEmpty()) QSKIP("mpirun is not installed (openmpi-bin)");
    }

    // the same bits with any number of ranks: CartPole (4 copies, 4 update shards: 3 ranks
    // get unequal shares) and BipedalWalker (8 shards, continuous actions, normalisers)
    void sameBitsAsOneProcess_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QList<int>>("rankCounts");
        QTest::newRow("CartPole") << QStringList{"--env", "CartPole-v1", "--num-envs", "4", "--iterations", "3"}
                                  << QList<int>{1, 2, 3};
        QTest::newRow("BipedalWalker") << QStringList{"--env", "BipedalWalker-v3", "--steps-per-iteration", "2048",
                                                      "--iterations", "1"}
                                       << QList<int>{2, 3};
    }
    void sameBitsAsOneProcess() {
        QFETCH(QStringList, args);
        QFETCH(QList<int>, rankCounts);
        QTemporaryDir tmp;
        const QStringList common = args + QStringList{"--seed", "5", "--quiet"};
        const Result plain = train(0, common + QStringList{"--out", tmp.filePath("plain")});
        QVERIFY2(plain.code == 0, qPrintable(plain.err));
        for (int n : rankCounts) {
            const QString dir = tmp.filePath(QString("np%1").arg(n));
            const Result r = train(n, common + QStringList{"--out", dir});
            QVERIFY2(r.code == 0, qPrintable(r.err));
            COMPARE_RUNS(tmp.filePath("plain"), dir);
            if (n > 1) {
                // rank 0 alone prints, and reports what the exchanges cost
                QCOMPARE(r.out.count("budget reached"), 1);
                QVERIFY2(r.out.contains(QString("MPI: %1 ranks").arg(n)), qPrintable(r.out));
            }
        }
    }

    // a checkpoint is the same whoever wrote it: 2 ranks write it, 3 ranks resume it
    void resumeWithOtherRankCounts() {
        QTemporaryDir tmp;
        const QStringList args{"--env", "CartPole-v1", "--num-envs", "4", "--seed", "9", "--quiet"};
        const QString plain = tmp.filePath("plain"), split = tmp.filePath("split");
        QCOMPARE(train(0, args + QStringList{"--iterations", "3", "--out", plain}).code, 0);
        Result r = train(2, args + QStringList{"--iterations", "2", "--out", split});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = train(3, {"--resume", split, "--iterations", "1", "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        COMPARE_RUNS(plain, split);
    }

    // a rank that dies ends the job; the last checkpoint stays intact and resumes (here
    // without mpirun) to the bits of an uninterrupted run
    void deadRankEndsTheJob() {
        QTemporaryDir tmp;
        const QStringList args{"--env", "CartPole-v1", "--num-envs", "4", "--seed", "11", "--quiet"};
        const QString plain = tmp.filePath("plain"), crashed = tmp.filePath("crashed");
        QCOMPARE(train(0, args + QStringList{"--iterations", "5", "--out", plain}).code, 0);
        const Result r = train(2, args + QStringList{"--iterations", "5", "--checkpoint-every", "2", "--out", crashed},
                               {{"TRPO_TEST_KILL_RANK", "1:4"}});
        QVERIFY2(r.code != 0 && r.code != -1, qPrintable(QString::number(r.code) + r.err));
        // mpirun names the rank that died; rank 0 says where the checkpoint is
        QVERIFY2(r.err.contains("rank 1"), qPrintable(r.err));
        QVERIFY2(r.err.contains("--resume " + crashed), qPrintable(r.err));
        QCOMPARE(checkpointIteration(crashed), 2);
        const Result resumed = train(0, {"--resume", crashed, "--iterations", "3", "--quiet"});
        QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
        COMPARE_RUNS(plain, crashed);
    }

    // bad input under mpirun: exit code 2, the message once (from rank 0), nothing written
    void badFlagUnderMpirun() {
        QTemporaryDir tmp;
        const Result r = train(2, {"--env", "CartPole-v1", "--delta", "-1", "--out", tmp.filePath("bad")});
        QCOMPARE(r.code, 2);
        QCOMPARE(r.err.count("delta = -1 is out of range"), 1);
        QVERIFY(!QFile::exists(tmp.filePath("bad")));
        const Result s = train(2, {"--env", "CartPole-v1", "--sweep", "delta=0.01,0.01", "--out", tmp.filePath("sweep")});
        QCOMPARE(s.code, 2);
        QCOMPARE(s.err.count("--sweep"), 1);
        QVERIFY(!QFile::exists(tmp.filePath("sweep")));
    }

    // a sweep under mpirun: the ranks take the cells in turn and each cell equals the cell of
    // a sweep run in one process; rank 0 alone reports the cells and writes sweep.json. Then
    // two of rank 1's cells are reopened (one's place taken by a file) and the sweep resumed
    // with 3 ranks: the blocked cell is recorded as failed naming the file, the other is done
    // and equals the plain one again
    void sweepSharedAmongRanks() {
        QTemporaryDir tmp;
        const QString plain = tmp.filePath("plain"), ranks = tmp.filePath("ranks");
        const QStringList args{"--env", "CartPole-v1", "--sweep", "delta=0.01,0.02", "--seeds", "1-2",
                               "--iterations", "2", "--threads", "1", "--quiet"};
        const Result p = train(0, args + QStringList{"--out", plain});
        QVERIFY2(p.code == 0, qPrintable(p.err));
        const Result r = train(2, args + QStringList{"--out", ranks});
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        const QStringList cells{"delta-0.01_seed-1", "delta-0.01_seed-2", "delta-0.02_seed-1", "delta-0.02_seed-2"};
        for (const QString& c : cells) {
            QCOMPARE(r.out.count("cell " + c + ": done"), 1);
            COMPARE_RUNS(plain + "/" + c, ranks + "/" + c);
        }
        QVERIFY(QFile::exists(ranks + "/summary.csv"));
        auto readManifest = [&] {
            QFile f(ranks + "/sweep.json");
            return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
        };
        QJsonObject m = readManifest();
        QJsonArray entries = m.value("cells").toArray();
        QCOMPARE(entries.size(), 4);
        for (const QJsonValue& e : entries) QCOMPARE(e.toObject().value("status").toString(), QString("done"));

        // cells 1 and 3 (rank 1's with 2 ranks; ranks 1 and 0 with 3) reopened
        for (int i : {1, 3}) {
            QJsonObject e = entries[i].toObject();
            e["status"] = "pending";
            e["reason"] = "";
            entries[i] = e;
            QVERIFY(QDir(ranks + "/" + cells[i]).removeRecursively());
        }
        m["cells"] = entries;
        {
            QFile f(ranks + "/sweep.json");
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(QJsonDocument(m).toJson());
            QFile blocker(ranks + "/" + cells[1]);
            QVERIFY(blocker.open(QIODevice::WriteOnly));
            blocker.write("not a run");
        }
        const Result resumed = train(3, {"--resume", ranks, "--quiet"});
        QVERIFY2(resumed.code == 3, qPrintable(QString::number(resumed.code) + resumed.err));
        QCOMPARE(resumed.err.count("cell " + cells[1] + " failed"), 1);
        entries = readManifest().value("cells").toArray();
        QCOMPARE(entries[1].toObject().value("status").toString(), QString("failed"));
        QVERIFY2(entries[1].toObject().value("reason").toString().contains(cells[1]),
                 qPrintable(entries[1].toObject().value("reason").toString()));
        for (int i : {0, 2, 3}) QCOMPARE(entries[i].toObject().value("status").toString(), QString("done"));
        COMPARE_RUNS(plain + "/" + cells[3], ranks + "/" + cells[3]);
        QFile blocker(ranks + "/" + cells[1]);
        QVERIFY(blocker.open(QIODevice::ReadOnly));
        QCOMPARE(blocker.readAll(), QByteArray("not a run"));
    }
};

QTEST_GUILESS_MAIN(TestMpi)
#include "test_mpi.moc"
