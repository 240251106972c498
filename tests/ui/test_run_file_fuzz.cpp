// The studio's run loader (history.jsonl, config.json, manifest.json, events.jsonl) against hundreds
// of mutated files: each load either succeeds or throws std::runtime_error naming the file.
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>

#include "core/presets.h"
#include "core/rng.h"
#include "sim/registry.h"
#include "ui/run_file.h"

class TestRunFileFuzz : public QObject {
    Q_OBJECT
private slots:
    void mutatedRunFilesNeverCrash() {
        core::TrpoConfig cfg = core::presetConfig("CartPole-v1");
        cfg.stepsPerIteration = 256;
        core::Trainer t(cfg, sim::environmentFactory(cfg.env));
        ui::RunState st;
        st.config = cfg;
        for (int i = 0; i < 3; ++i) st.history.push_back(t.iterate());
        st.checkpoint = t.saveState();
        st.iteration = t.iteration();
        st.envSteps = t.envSteps();
        st.snapshot = t.snapshot();
        QTemporaryDir tmp;
        const std::filesystem::path dir = std::filesystem::path(tmp.path().toStdString()) / "run.trporun";
        ui::writeRun(dir, st);
        QCOMPARE(ui::readRun(dir).history.size(), size_t(3));

        core::Rng rng(23);
        int rejected = 0, total = 0;
        for (const char* name : {"history.jsonl", "config.json", "manifest.json", "events.jsonl"}) {
            const std::filesystem::path file = dir / name;
            const std::string good = core::readFileText(file);
            for (int k = 0; k < 200; ++k, ++total) {
                std::string m = good;
                if (k % 4 == 0)
                    m = m.substr(0, rng.below(m.size()));
                else if (k % 4 == 1)
                    m = std::string(rng.below(64), static_cast<char>(rng.below(256)));
                else
                    for (int f = 0; f < 1 + k % 6; ++f) m[rng.below(m.size())] ^= static_cast<char>(1u << rng.below(8));
                core::writeFileAtomic(file, m);
                try {
                    const ui::RunState r = ui::readRun(dir);
                    QVERIFY(r.config.stepsPerIteration >= 2);
                } catch (const std::runtime_error& e) {
                    ++rejected;
                    QVERIFY2(QString(e.what()).contains(QString::fromStdString(file.string())), e.what());
                }
            }
            core::writeFileAtomic(file, good);
        }
        qInfo("rejected %d of %d mutated run files", rejected, total);
        QVERIFY(rejected > total / 2);
    }
};

QTEST_GUILESS_MAIN(TestRunFileFuzz)
#include "test_run_file_fuzz.moc"
