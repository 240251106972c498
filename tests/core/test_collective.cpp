// Data-parallel training without MPI (core/collective.h, docs/design.md §7): R trainers on R
// threads play R ranks through an in-process Collective, so the sharing out of the sampler's
// copies and of TRPO's update shards, the exchanges and the gathered checkpoint state run
// here under the sanitizers too (test_mpi covers the real mpirun). Every rank's iterations,
// θ and critic equal one plain trainer's bit for bit, with 2, 3 and 5 ranks (more ranks than
// update shards); state() gathered from the ranks equals the plain trainer's; a state taken
// with 1 rank continues with 3 to the same bits. The critic's fit alone, shared out by its
// minibatch shards, equals the fit of one process with any rank and thread count. A cancel
// flag set on one rank only stops every rank together as the next iteration starts.
#include <QtTest>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/collective.h"
#include "core/presets.h"
#include "core/trainer.h"
#include "core/value_function.h"
#include "sim/registry.h"
#include "support/test_util.h"

using namespace core;
using testutil::sameBits;

namespace {

// what the in-process ranks share: each deposits its block, then all read all of them
struct Hub {
    explicit Hub(int n) : ranks(n), blocks(static_cast<size_t>(n)) {}
    void barrier() {
        std::unique_lock lock(mu);
        const long g = generation;
        if (++arrived == ranks) {
            arrived = 0;
            ++generation;
            cv.notify_all();
        } else {
            cv.wait(lock, [&] { return generation != g; });
        }
    }
    int ranks;
    std::vector<std::vector<std::uint8_t>> blocks;
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
    long generation = 0;
};

class ThreadCollective final : public Collective {
public:
    ThreadCollective(Hub& hub, int rank) : m_hub(hub), m_rank(rank) {}
    int rank() const override { return m_rank; }
    int size() const override { return m_hub.ranks; }
    std::vector<std::vector<std::uint8_t>> allGather(const std::vector<std::uint8_t>& mine) override {
        m_hub.blocks[static_cast<size_t>(m_rank)] = mine;
        m_hub.barrier();
        std::vector<std::vector<std::uint8_t>> all = m_hub.blocks;
        m_hub.barrier(); // nobody deposits the next block before everyone has read this one
        ++m_stats.calls;
        return all;
    }
    void allGatherInPlace(double* data, const std::vector<int>& counts) override {
        std::vector<size_t> offset(counts.size() + 1, 0);
        for (size_t r = 0; r < counts.size(); ++r) offset[r + 1] = offset[r] + static_cast<size_t>(counts[r]);
        const auto* mine = reinterpret_cast<const std::uint8_t*>(data + offset[static_cast<size_t>(m_rank)]);
        const auto all = allGather(std::vector<std::uint8_t>(
            mine, mine + sizeof(double) * static_cast<size_t>(counts[static_cast<size_t>(m_rank)])));
        for (size_t r = 0; r < counts.size(); ++r)
            if (static_cast<int>(r) != m_rank && counts[r] > 0)
                std::memcpy(data + offset[r], all[r].data(), all[r].size());
    }
    CollectiveStats stats() const override { return m_stats; }

private:
    Hub& m_hub;
    int m_rank;
    CollectiveStats m_stats;
};

TrpoConfig smallConfig(const std::string& env, int numEnvs) {
    TrpoConfig c = presetConfig(env);
    c.stepsPerIteration = 1024; // 4 update shards of 256
    c.numEnvs = numEnvs;
    c.valueEpochs = 2;
    c.seed = 21;
    c.threads = 1;
    return c;
}

struct RankResult {
    std::vector<std::string> rows;
    VectorXd theta, critic;
    std::vector<CopyState> copies;
    std::int64_t exchanges = 0;
};

// runs `iterations` on R ranks (threads), each from `start` when given; every rank's result
std::vector<RankResult> runRanks(const TrpoConfig& c, int ranks, int iterations, const TrainerState* start = nullptr) {
    Hub hub(ranks);
    std::vector<RankResult> out(static_cast<size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            auto world = std::make_shared<ThreadCollective>(hub, r);
            Trainer t(c, sim::environmentFactory(c.env));
            t.setCollective(world);
            if (start) t.setState(*start);
            RankResult& res = out[static_cast<size_t>(r)];
            for (int i = 0; i < iterations; ++i) res.rows.push_back(testutil::statsWithoutTiming(t.iterate()));
            const TrainerState s = t.state(); // collective: the copies come from their ranks
            res.theta = s.theta;
            res.critic = s.critic;
            res.copies = s.copies;
            res.exchanges = world->stats().calls;
        });
    for (auto& th : threads) th.join();
    return out;
}

bool sameCopies(const std::vector<CopyState>& a, const std::vector<CopyState>& b) {
    if (a.size() != b.size()) return false;
    for (size_t e = 0; e < a.size(); ++e) {
        if (std::memcmp(a[e].rng.s, b[e].rng.s, sizeof a[e].rng.s) != 0 || a[e].episodeSeed != b[e].episodeSeed ||
            a[e].actionsSinceReset != b[e].actionsSinceReset || a[e].episodeLength != b[e].episodeLength ||
            a[e].heldNoise != b[e].heldNoise || a[e].heldNoiseSteps != b[e].heldNoiseSteps)
            return false;
        if (std::memcmp(&a[e].episodeReturn, &b[e].episodeReturn, sizeof(double)) != 0 ||
            std::memcmp(&a[e].discountedReturn, &b[e].discountedReturn, sizeof(double)) != 0)
            return false;
    }
    return true;
}

} // namespace

class TestCollective : public QObject {
    Q_OBJECT
private slots:
    void sameBitsAsOneProcess_data() {
        QTest::addColumn<QString>("env");
        QTest::addColumn<int>("numEnvs");
        QTest::addColumn<int>("ranks");
        QTest::newRow("CartPole, 2 ranks") << "CartPole-v1" << 4 << 2;
        QTest::newRow("CartPole, 3 ranks (unequal shares)") << "CartPole-v1" << 4 << 3;
        QTest::newRow("CartPole, 5 ranks (more than copies and shards)") << "CartPole-v1" << 4 << 5;
        QTest::newRow("Pendulum+normalisers, 3 ranks") << "Pendulum-v1" << 6 << 3;
    }
    void sameBitsAsOneProcess() {
        QFETCH(QString, env);
        QFETCH(int, numEnvs);
        QFETCH(int, ranks);
        const TrpoConfig c = smallConfig(env.toStdString(), numEnvs);
        Trainer plain(c, sim::environmentFactory(c.env));
        std::vector<std::string> rows;
        for (int i = 0; i < 3; ++i) rows.push_back(testutil::statsWithoutTiming(plain.iterate()));
        const TrainerState s = plain.state();
        const std::vector<RankResult> rs = runRanks(c, ranks, 3);
        for (const RankResult& r : rs) {
            QCOMPARE(r.rows, rows);
            QVERIFY(sameBits(r.theta, s.theta));
            QVERIFY(sameBits(r.critic, s.critic));
            QVERIFY(sameCopies(r.copies, s.copies));
            QVERIFY(r.exchanges > 3 * 5); // the batch, the gradient, CG's products, the trials, ...
        }
    }

    // the MLP critic's fit on R ranks (threads) equals one process's bit for bit: each
    // minibatch of 512 has 4 shards, shared out and exchanged once per minibatch; the last
    // minibatch of 232 is one shard, which every rank computes whole without an exchange
    void valueFitSharedOutEqualsOneProcess_data() {
        QTest::addColumn<int>("ranks");
        QTest::addColumn<int>("threads");
        QTest::newRow("2 ranks") << 2 << 1;
        QTest::newRow("3 ranks x 2 threads") << 3 << 2;
        QTest::newRow("5 ranks (more than shards)") << 5 << 1;
    }
    void valueFitSharedOutEqualsOneProcess() {
        QFETCH(int, ranks);
        QFETCH(int, threads);
        Rng data(7);
        const int n = 1256; // 2 minibatches of 512 (4 shards each) and one of 232 (1 shard)
        const MatrixXd obs = testutil::randomMatrix(3, n, data);
        const Eigen::VectorXi t = Eigen::VectorXi::Zero(n);
        VectorXd y(n);
        for (int i = 0; i < n; ++i) y(i) = std::sin(obs(0, i)) + obs(1, i) * obs(2, i);
        TrpoConfig cfg;
        cfg.valueEpochs = 3;
        cfg.valueMinibatch = 512;
        auto fitOnce = [&](Collective* c, int nThreads, std::int64_t* exchanges) {
            TrpoConfig local = cfg;
            local.threads = nThreads;
            Rng init(11), shuffle(12);
            NetworkValueFunction vf(3, {32, 32}, Activation::Tanh, init);
            const FitResult r = vf.fit(obs, t, y, local, shuffle, nullptr, c);
            if (exchanges) *exchanges = c ? c->stats().calls : 0;
            return std::pair{r, vf.state()};
        };
        const auto [plain, plainState] = fitOnce(nullptr, 1, nullptr);
        QVERIFY(plain.lossAfter < plain.lossBefore);
        Hub hub(ranks);
        std::vector<std::pair<FitResult, VectorXd>> got(static_cast<size_t>(ranks));
        std::vector<std::int64_t> exchanges(static_cast<size_t>(ranks));
        std::vector<std::thread> th;
        for (int r = 0; r < ranks; ++r)
            th.emplace_back([&, r] {
                ThreadCollective world(hub, r);
                got[static_cast<size_t>(r)] = fitOnce(&world, threads, &exchanges[static_cast<size_t>(r)]);
            });
        for (auto& x : th) x.join();
        for (int r = 0; r < ranks; ++r) {
            const auto& [fr, state] = got[static_cast<size_t>(r)];
            QVERIFY(sameBits(state, plainState));
            QVERIFY(sameBits(VectorXd::Map(fr.epochLosses.data(), static_cast<Eigen::Index>(fr.epochLosses.size())),
                             VectorXd::Map(plain.epochLosses.data(),
                                           static_cast<Eigen::Index>(plain.epochLosses.size()))));
            QCOMPARE(std::memcmp(&fr.lossAfter, &plain.lossAfter, sizeof(double)), 0);
            QCOMPARE(exchanges[static_cast<size_t>(r)], std::int64_t{cfg.valueEpochs * 2});
        }
    }

    // a flag set on one rank only, even part way through an iteration, never leaves the other
    // waiting: the iteration in progress completes on both ranks, and both stop together with
    // Interrupted as the next starts, at the state one plain iteration reaches
    void cancelOnOneRankStopsAllTogether() {
        const TrpoConfig c = smallConfig("CartPole-v1", 4);
        Trainer plain(c, sim::environmentFactory(c.env));
        const std::string firstRow = testutil::statsWithoutTiming(plain.iterate());
        const TrainerState after1 = plain.state();
        Hub hub(2);
        std::vector<RankResult> out(2);
        std::vector<int> interrupted(2, 0);
        std::vector<std::thread> th;
        for (int r = 0; r < 2; ++r)
            th.emplace_back([&, r] {
                Trainer t(c, sim::environmentFactory(c.env));
                t.setCollective(std::make_shared<ThreadCollective>(hub, r));
                std::atomic<bool> stop{false};
                RankResult& res = out[static_cast<size_t>(r)];
                if (r == 1) {
                    // rank 1 steps phase by phase with its flag, set once sampling is done
                    PhaseResult pr = t.runPhase(&stop);
                    stop = true;
                    while (pr.phase != Phase::Report) pr = t.runPhase(&stop);
                    res.rows.push_back(testutil::statsWithoutTiming(pr.stats));
                } else {
                    res.rows.push_back(testutil::statsWithoutTiming(t.iterate())); // rank 0 has no flag
                }
                try {
                    t.iterate(r == 1 ? &stop : nullptr);
                } catch (const Interrupted&) {
                    interrupted[static_cast<size_t>(r)] = 1;
                }
                const TrainerState s = t.state();
                res.theta = s.theta;
                res.critic = s.critic;
                res.copies = s.copies;
            });
        for (auto& x : th) x.join();
        for (int r = 0; r < 2; ++r) {
            const RankResult& res = out[static_cast<size_t>(r)];
            QCOMPARE(interrupted[static_cast<size_t>(r)], 1);
            QCOMPARE(res.rows, std::vector<std::string>{firstRow});
            QVERIFY(sameBits(res.theta, after1.theta));
            QVERIFY(sameBits(res.critic, after1.critic));
            QVERIFY(sameCopies(res.copies, after1.copies));
        }
    }

    // a state taken in one process continues on 3 ranks to the plain trainer's bits
    void stateMovesBetweenRankCounts() {
        const TrpoConfig c = smallConfig("CartPole-v1", 4);
        Trainer plain(c, sim::environmentFactory(c.env));
        plain.iterate();
        plain.iterate();
        const TrainerState mid = plain.state();
        std::vector<std::string> rows;
        for (int i = 0; i < 2; ++i) rows.push_back(testutil::statsWithoutTiming(plain.iterate()));
        const std::vector<RankResult> rs = runRanks(c, 3, 2, &mid);
        for (const RankResult& r : rs) {
            QCOMPARE(r.rows, rows);
            QVERIFY(sameBits(r.theta, plain.theta()));
            QVERIFY(sameCopies(r.copies, plain.state().copies));
        }
    }
};

QTEST_GUILESS_MAIN(TestCollective)
#include "test_collective.moc"
