// The fixed-partition parallel loop (core/parallel.h): parallelFor runs every task exactly
// once, on at most the threads it was given, and has finished them all when it returns, from
// one caller, from concurrent callers and from inside another parallelFor; Shards cut [0, n)
// into contiguous, non-overlapping pieces whose number depends on n only.
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "core/parallel.h"

using namespace core;

class TestParallel : public QObject {
    Q_OBJECT
private slots:
    void everyTaskRunsExactlyOnce_data() {
        QTest::addColumn<int>("tasks");
        QTest::addColumn<int>("threads");
        for (int tasks : {0, 1, 2, 3, 7, 64, 1000})
            for (int threads : {0, 1, 2, 3, 8, 64})
                QTest::newRow(qPrintable(QString("%1 tasks, %2 threads").arg(tasks).arg(threads))) << tasks << threads;
    }
    void everyTaskRunsExactlyOnce() {
        QFETCH(int, tasks);
        QFETCH(int, threads);
        const int allowed = std::clamp(threads, 1, std::max(1, tasks)); // "up to `threads`", caller included
        for (int rep = 0; rep < 20; ++rep) {                           // the pool is reused between calls
            std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
            std::vector<std::thread::id> ranOn(static_cast<size_t>(tasks));
            std::atomic<int> outOfRange{0};
            parallelFor(tasks, threads, [&](int k) {
                if (k < 0 || k >= tasks) { // (no QVERIFY off the test thread)
                    outOfRange.fetch_add(1);
                    return;
                }
                hits[k].fetch_add(1, std::memory_order_relaxed);
                ranOn[k] = std::this_thread::get_id(); // each task writes only its own slot
            });
            // read right after the return: every task must have finished by then
            QCOMPARE(outOfRange.load(), 0);
            for (int k = 0; k < tasks; ++k)
                QVERIFY2(hits[k].load() == 1, qPrintable(QString("task %1 ran %2 times").arg(k).arg(hits[k].load())));
            const std::set<std::thread::id> distinct(ranOn.begin(), ranOn.end());
            QVERIFY2(static_cast<int>(distinct.size()) <= allowed,
                     qPrintable(QString("%1 threads used, %2 allowed").arg(distinct.size()).arg(allowed)));
            if (allowed == 1) // one thread: the calling one, in task order
                QVERIFY(distinct.empty() || *distinct.begin() == std::this_thread::get_id());
        }
    }

    void returnsOnlyWhenEveryTaskHasFinished() {
        // two tasks, two threads: each waits (up to 2 s) until the other has started, so one of
        // them runs off the calling thread; that one is slow (30 ms). When parallelFor returns,
        // both must be done, whoever ran them.
        const auto caller = std::this_thread::get_id();
        int offCaller = 0;
        for (int rep = 0; rep < 5; ++rep) {
            std::atomic<int> started{0}, done{0}, ranOff{0};
            parallelFor(2, 2, [&](int) {
                started.fetch_add(1);
                const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
                while (started.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
                if (std::this_thread::get_id() != caller) {
                    ranOff.fetch_add(1);
                    std::this_thread::sleep_for(std::chrono::milliseconds(30));
                }
                done.fetch_add(1);
            });
            QCOMPARE(done.load(), 2);
            offCaller += ranOff.load();
        }
        QVERIFY(offCaller > 0); // the slow path was really exercised
    }

    void oneThreadRunsTasksInOrderOnTheCaller() {
        std::vector<int> order;
        parallelFor(10, 1, [&](int k) { order.push_back(k); });
        QCOMPARE(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    }

    void parallelForRunsEachTaskOnceFromConcurrentCallers() {
        // two callers at once: one gets the shared pool, the other its own threads
        constexpr int kTasks = 37;
        std::atomic<int> hits[2][kTasks] = {};
        auto caller = [&](int c) {
            for (int rep = 0; rep < 200; ++rep)
                parallelFor(kTasks, 2, [&](int k) { hits[c][k].fetch_add(1, std::memory_order_relaxed); });
        };
        std::thread a(caller, 0), b(caller, 1);
        a.join();
        b.join();
        for (int c = 0; c < 2; ++c)
            for (int k = 0; k < kTasks; ++k) QCOMPARE(hits[c][k].load(), 200);
    }

    void nestedCallsRunEveryInnerTaskOnce() {
        // a task that itself calls parallelFor finds the pool busy (its own call holds it) and
        // must fall back to its own threads, not deadlock or drop tasks
        constexpr int kOuter = 6, kInner = 9;
        std::atomic<int> hits[kOuter][kInner] = {};
        for (int rep = 0; rep < 20; ++rep)
            parallelFor(kOuter, 2, [&](int i) {
                parallelFor(kInner, 2, [&](int j) { hits[i][j].fetch_add(1, std::memory_order_relaxed); });
            });
        for (int i = 0; i < kOuter; ++i)
            for (int j = 0; j < kInner; ++j) QCOMPARE(hits[i][j].load(), 20);
    }

    void resultsDoNotDependOnTheThreadCount() {
        // the documented use: per-task partial sums over fixed Shards, combined in task order,
        // are bit-identical whatever the thread count
        const int n = 100003;
        std::vector<double> x(n);
        for (int i = 0; i < n; ++i) x[i] = 1.0 / (1.0 + i) * ((i % 3) ? 1.0 : -1.7);
        const Shards cut(n, 4096, 16);
        auto total = [&](int threads) {
            std::vector<double> part(static_cast<size_t>(cut.count()));
            parallelFor(cut.count(), threads, [&](int k) {
                double s = 0;
                for (int i = cut.begin[k]; i < cut.begin[k] + cut.size[k]; ++i) s += x[i];
                part[k] = s;
            });
            double t = 0;
            for (double p : part) t += p;
            return t;
        };
        const double one = total(1);
        for (int threads : {2, 3, 8}) QVERIFY(total(threads) == one); // exactly, not QCOMPARE's fuzzy equality
    }

    void shardsCoverTheRangeWithoutOverlap_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("perShard");
        QTest::addColumn<int>("maxShards");
        for (int n : {0, 1, 2, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2048, 4095, 4096, 4097, 5000, 100000})
            for (auto [per, max] : {std::pair{512, 8}, std::pair{256, 8}, std::pair{128, 4}, std::pair{1, 8}, std::pair{1000, 1}})
                QTest::newRow(qPrintable(QString("n=%1 per=%2 max=%3").arg(n).arg(per).arg(max))) << n << per << max;
    }
    void shardsCoverTheRangeWithoutOverlap() {
        QFETCH(int, n);
        QFETCH(int, perShard);
        QFETCH(int, maxShards);
        const Shards s(n, perShard, maxShards);
        const int c = s.count();
        QCOMPARE(static_cast<int>(s.size.size()), c);
        QVERIFY(c >= 1 && c <= maxShards);
        // contiguous, in order, from 0 to n: every item in exactly one shard
        std::vector<int> owner(static_cast<size_t>(n), -1);
        int at = 0;
        for (int k = 0; k < c; ++k) {
            QCOMPARE(s.begin[k], at);
            QVERIFY(s.size[k] >= 0);
            for (int i = s.begin[k]; i < s.begin[k] + s.size[k]; ++i) {
                QVERIFY(i < n);
                QCOMPARE(owner[i], -1);
                owner[i] = k;
            }
            at += s.size[k];
        }
        QCOMPARE(at, n);
        QVERIFY(std::find(owner.begin(), owner.end(), -1) == owner.end());
        // balanced: sizes differ by at most one, the larger ones first
        const auto [lo, hi] = std::minmax_element(s.size.begin(), s.size.end());
        QVERIFY(*hi - *lo <= 1);
        QVERIFY(std::is_sorted(s.size.begin(), s.size.end(), std::greater<int>()));
        // each shard holds at least perShard items (all n when there are fewer), and there are as
        // many shards as that allows up to maxShards: one more would leave a shard under perShard
        QVERIFY(*lo >= std::min(n, perShard));
        if (c < maxShards) QVERIFY(n < (c + 1) * perShard);
    }

    void defaultsAre512ItemsAShardAndAtMost8Shards() {
        for (int n : {0, 100, 511, 512, 1024, 1536, 4095, 4096, 5000, 1 << 20}) {
            const Shards a(n), b(n, 512, 8);
            QCOMPARE(a.begin, b.begin);
            QCOMPARE(a.size, b.size);
            QCOMPARE(a.count(), std::clamp(n / 512, 1, 8));
        }
    }
};

QTEST_APPLESS_MAIN(TestParallel)
#include "test_parallel.moc"
