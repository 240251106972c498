// Episodes kept for replay and the π_old / π_new comparison (core/episode_record.h): which
// episodes an iteration keeps, their JSON form and its refusals, a recorded episode replayed
// from its seed and actions giving back its return exactly (a discrete, a continuous and a
// Box2D environment), and the per-state KL agreeing with the trainer's mean KL.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/episode_record.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"

using namespace core;

namespace {

TrpoConfig smallConfig(const std::string& env) {
    TrpoConfig c = presetConfig(env);
    c.seed = 7;
    c.numEnvs = 2;
    c.threads = 1;
    c.stepsPerIteration = 1024;
    return c;
}

Episode episode(double ret, int length, std::uint64_t seed) {
    return Episode{ret, length, seed, std::vector<double>(static_cast<std::size_t>(length), 1.0)};
}

} // namespace

class TestEpisodeRecord : public QObject {
    Q_OBJECT
private slots:
    void picksBestMedianWorst();
    void picksNothingFromAnEmptyBatch();
    void jsonRoundTrip();
    void jsonRefusals_data();
    void jsonRefusals();
    void replayGivesTheRecordedReturn_data();
    void replayGivesTheRecordedReturn();
    void replayRefusesAnotherActionSpace();
    void perStateKlMatchesTheTrainersMeanKl_data();
    void perStateKlMatchesTheTrainersMeanKl();
    void ghostRolloutsShareTheSeed();
};

void TestEpisodeRecord::picksBestMedianWorst() {
    // returns 5, 9, 1, 9, 3: best is the first 9 in batch order, worst 1, lower median 5
    const std::vector<Episode> eps = {episode(5, 3, 11), episode(9, 4, 12), episode(1, 2, 13), episode(9, 5, 14),
                                      episode(3, 1, 15)};
    const IterationEpisodes e = pickEpisodes(4, eps, 1);
    QCOMPARE(e.iteration, 4);
    QVERIFY(e.best && e.median && e.worst);
    QCOMPARE(e.best->seed, std::uint64_t{12});
    QCOMPARE(e.best->length, 4);
    QCOMPARE(e.worst->seed, std::uint64_t{13});
    QCOMPARE(e.median->seed, std::uint64_t{11});
    QCOMPARE(e.median->ret, 5.0);
    QCOMPARE(e.best->actions.size(), std::size_t{4});
    QCOMPARE(e.actionBytes(), (4 + 3 + 2) * sizeof(double));
    // an even count takes the lower of the two middle returns
    const IterationEpisodes two = pickEpisodes(1, {episode(2, 1, 1), episode(8, 1, 2)}, 1);
    QCOMPARE(two.median->ret, 2.0);
    QCOMPARE(two.best->ret, 8.0);
}

void TestEpisodeRecord::picksNothingFromAnEmptyBatch() {
    const IterationEpisodes e = pickEpisodes(3, {}, 2);
    QVERIFY(e.empty());
    QVERIFY(!e.median && !e.worst);
}

void TestEpisodeRecord::jsonRoundTrip() {
    IterationEpisodes e;
    e.iteration = 17;
    // seeds use all 64 bits; actions that print with many digits must come back bit for bit
    e.best = EpisodeRecord{0xfedcba9876543210ULL, 2, {0.1, -1.0 / 3.0, 1e-300, 0.7}, 12.345678901234567, 2};
    e.median = EpisodeRecord{1, 2, {}, 0, 0};
    e.worst = EpisodeRecord{2, 2, {-1, 1}, -std::nextafter(100.0, 0.0), 1};
    const IterationEpisodes back = episodesFromJson(nlohmann::json::parse(episodesToJson(e).dump()));
    QVERIFY(back == e);
}

void TestEpisodeRecord::jsonRefusals_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    const QString good = R"({"seed":1,"action_dim":1,"return":2.0,"length":2,"actions":[0,1]})";
    QTest::newRow("not an object") << "[1]" << "not an object";
    QTest::newRow("no iteration") << R"({"best":1})" << "\"iteration\"";
    QTest::newRow("action count") << QString(R"({"iteration":3,"best":%1,"median":%1,"worst":{"seed":1,"action_dim":2,"return":0,"length":2,"actions":[0,1]}})").arg(good)
                                  << "iteration 3: the worst episode: 2 action values, expected length x action_dim = 4";
    QTest::newRow("negative seed") << QString(R"({"iteration":3,"best":{"seed":-1,"action_dim":1,"return":0,"length":0,"actions":[]}})")
                                   << "\"seed\" is not an unsigned integer";
    QTest::newRow("text action") << QString(R"({"iteration":3,"best":{"seed":1,"action_dim":1,"return":0,"length":1,"actions":["a"]}})")
                                 << "an action is not a number";
    QTest::newRow("missing length") << QString(R"({"iteration":3,"best":{"seed":1,"action_dim":1,"return":0,"actions":[]}})")
                                    << "the best episode has no \"length\"";
    QTest::newRow("only best") << QString(R"({"iteration":3,"best":%1})").arg(good)
                               << "has some of best, median and worst but not all three";
}

void TestEpisodeRecord::jsonRefusals() {
    QFETCH(QString, text);
    QFETCH(QString, message);
    try {
        episodesFromJson(nlohmann::json::parse(text.toStdString()));
        QFAIL("accepted");
    } catch (const std::runtime_error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    }
}

void TestEpisodeRecord::replayGivesTheRecordedReturn_data() {
    QTest::addColumn<QString>("env");
    QTest::newRow("CartPole (discrete)") << "CartPole-v1";
    QTest::newRow("Pendulum (continuous)") << "Pendulum-v1";
    QTest::newRow("LunarLanderContinuous (Box2D)") << "LunarLanderContinuous-v3";
}

void TestEpisodeRecord::replayGivesTheRecordedReturn() {
    QFETCH(QString, env);
    const std::string id = env.toStdString();
    Trainer t(smallConfig(id), sim::environmentFactory(id));
    int checked = 0;
    for (int i = 0; i < 3; ++i) {
        const IterationStats s = t.iterate();
        const IterationEpisodes& e = t.sampledEpisodes();
        QCOMPARE(e.iteration, s.iteration);
        QCOMPARE(e.empty(), s.episodes == 0);
        if (e.empty()) continue;
        QCOMPARE(e.best->ret, *s.returnMax);
        QCOMPARE(e.worst->ret, *s.returnMin);
        for (EpisodeRank r : {EpisodeRank::Best, EpisodeRank::Median, EpisodeRank::Worst}) {
            const EpisodeRecord& rec = *e.get(r);
            QCOMPARE(rec.actions.size(), static_cast<std::size_t>(rec.length) * static_cast<std::size_t>(rec.actionDim));
            // a fresh environment, as the studio's viewer has
            const std::unique_ptr<Environment> fresh = sim::environmentFactory(id)();
            const ReplayOutcome out = replayEpisode(*fresh, rec);
            QCOMPARE(out.ret, rec.ret); // bit for bit: the same rewards summed in the same order
            QCOMPARE(out.length, rec.length);
            QVERIFY(out.ended);
            ++checked;
        }
    }
    QVERIFY(checked >= 3);
}

void TestEpisodeRecord::replayRefusesAnotherActionSpace() {
    const std::unique_ptr<Environment> env = sim::environmentFactory("Pendulum-v1")();
    const EpisodeRecord rec{1, 2, {0, 0}, 0, 1};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, replayEpisode(*env, rec));
}

void TestEpisodeRecord::perStateKlMatchesTheTrainersMeanKl_data() {
    QTest::addColumn<QString>("env");
    QTest::newRow("CartPole (categorical)") << "CartPole-v1";
    QTest::newRow("Pendulum (Gaussian)") << "Pendulum-v1";
}

void TestEpisodeRecord::perStateKlMatchesTheTrainersMeanKl() {
    QFETCH(QString, env);
    const std::string id = env.toStdString();
    TrpoConfig cfg = smallConfig(id);
    cfg.normalizeObs = true; // π_old's normaliser must be the one that is used
    Trainer t(cfg, sim::environmentFactory(id));
    t.iterate(); // the normaliser has statistics now
    int accepted = 0;
    for (int i = 0; i < 3; ++i) {
        const SnapshotPtr before = t.snapshot();
        const IterationStats s = t.iterate();
        const SnapshotPtr after = t.snapshot();
        const VectorXd kl = perStateKl(*before, *after, t.batch().rawObs);
        QCOMPARE(kl.size(), static_cast<Eigen::Index>(t.batch().size()));
        QVERIFY((kl.array() >= 0).all());
        if (!s.accepted) {
            QCOMPARE(kl.maxCoeff(), 0.0); // no step: the policies are the same
            continue;
        }
        ++accepted;
        // the trainer sums over shards and may evaluate the network in other blocks: equal
        // up to rounding
        QVERIFY2(std::abs(kl.mean() - s.klMean) <= 1e-9 * std::max(1e-12, s.klMean),
                 qPrintable(QString("per-state mean %1, trainer %2").arg(kl.mean(), 0, 'g', 17).arg(s.klMean, 0, 'g', 17)));
        QVERIFY(std::abs(kl.maxCoeff() - s.klMax) <= 1e-9 * std::max(1e-12, s.klMax));
    }
    QVERIFY(accepted >= 1);
    // different layouts are refused
    TrpoConfig other = cfg;
    other.hidden = {8};
    Trainer u(other, sim::environmentFactory(id));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, perStateKl(*t.snapshot(), *u.snapshot(), t.batch().rawObs));
}

void TestEpisodeRecord::ghostRolloutsShareTheSeed() {
    Trainer t(smallConfig("CartPole-v1"), sim::environmentFactory("CartPole-v1"));
    const SnapshotPtr before = t.snapshot();
    t.iterate();
    const SnapshotPtr after = t.snapshot();
    const std::unique_ptr<Environment> a = sim::environmentFactory("CartPole-v1")();
    const std::unique_ptr<Environment> b = sim::environmentFactory("CartPole-v1")();
    const Rollout oldRun = rollout(*before, *a, 99, Rng(5), false, 500);
    const Rollout newRun = rollout(*after, *b, 99, Rng(5), false, 500);
    // the same reset seed: the same first state
    QCOMPARE(oldRun.obs.size() / 4, static_cast<std::size_t>(oldRun.length));
    for (int j = 0; j < 4; ++j) QCOMPARE(oldRun.obs[static_cast<std::size_t>(j)], newRun.obs[static_cast<std::size_t>(j)]);
    // and each rollout replays to its own return
    const EpisodeRecord rec{99, 1, newRun.actions, newRun.ret, newRun.length};
    QCOMPARE(replayEpisode(*a, rec).ret, newRun.ret);
}

QTEST_GUILESS_MAIN(TestEpisodeRecord)
#include "test_episode_record.moc"
