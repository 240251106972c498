// A process killed (SIGKILL) in the middle of a save leaves the previous file intact:
// the file on disk is always one complete version, never a mix or a truncation.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <cstring>
#include <sys/types.h>

#include "core/rng.h"
#include "core/serialization.h"

class TestAtomicWrite : public QObject {
    Q_OBJECT
private slots:
    void killedWriterLeavesACompleteFile() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("state.bin").toStdString();
        core::Rng rng(7);
        for (int round = 0; round < 12; ++round) {
            QProcess child;
            child.start(ATOMIC_WRITER_EXE, {QString::fromStdString(path)});
            QVERIFY(child.waitForStarted());
            // let it finish at least one version, then kill it at a random moment
            QVERIFY(child.waitForReadyRead(20000));
            QTest::qWait(static_cast<int>(rng.below(60)));
            ::kill(static_cast<pid_t>(child.processId()), SIGKILL);
            QVERIFY(child.waitForFinished(5000));
            const std::vector<std::uint8_t> b = core::readFileBytes(path);
            QCOMPARE(b.size(), size_t(16 + (8u << 20)));
            QVERIFY(std::memcmp(b.data(), "TRPOATOM", 8) == 0);
            std::uint64_t k;
            std::memcpy(&k, b.data() + 8, 8);
            const std::uint8_t v = static_cast<std::uint8_t>(k & 0xff);
            for (size_t i = 16; i < b.size(); i += 4093) QCOMPARE(b[i], v);
            QCOMPARE(b.back(), v);
        }
        // the kills did land in the middle of saves: their temporary files were left behind
        const QStringList tmp = QDir(dir.path()).entryList({".state.bin.tmp-*"}, QDir::Hidden | QDir::Files);
        qInfo("%lld of 12 kills interrupted a save", static_cast<long long>(tmp.size()));
        QVERIFY(!tmp.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestAtomicWrite)
#include "test_atomic_write.moc"
