// A prompt stop (core/cancel.h, Trainer::runPhase, docs/design.md §3): on BipedalWalker's
// preset (16,384 steps per iteration) another thread sets the cancel flag in the middle of
// the sampling and of the update. The phase gives up within a fraction of a second, the
// trainer's state is then bit for bit the one of the iteration boundary, and the next
// iteration is the one a trainer loaded from that boundary's checkpoint runs.
#include <QtTest>
#include <atomic>
#include <chrono>
#include <thread>

#include "core/presets.h"
#include "core/trainer.h"
#include "sim/registry.h"
#include "support/test_util.h"

using namespace core;

namespace {

using Clock = std::chrono::steady_clock;

using testutil::kStopBoundMs;

TrpoConfig walkerConfig() {
    TrpoConfig c = presetConfig("BipedalWalker-v3"); // 16,384 steps per iteration
    c.seed = 5;
    // ThreadSanitizer slows each step 5 to 15 times: an eighth of the batch still lasts far
    // longer than the delays below and keeps the test well within its timeout
    if (testutil::kThreadSanitized) c.stepsPerIteration = 2048;
    return c;
}

// the state with the measured wall time set aside, in the checkpoint format
std::vector<std::uint8_t> stateWithoutTime(const Trainer& t) {
    TrainerState s = t.state();
    s.wallSeconds = 0;
    Trainer copy(s.config, sim::environmentFactory(s.config.env));
    copy.setState(s);
    return copy.saveState();
}

struct Interruption {
    bool interrupted = false;
    Phase phase = Phase::Sample; // the phase that was running when the flag was seen
    double latencyMs = 0;        // from setting the flag to runPhase throwing
};

// runs phases with a cancel flag that another thread sets delayMs after the first one starts,
// until the iteration is interrupted or complete
Interruption interruptAfter(Trainer& t, int delayMs) {
    std::atomic<bool> cancel{false};
    std::atomic<Clock::rep> setAt{0};
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
        const Clock::time_point now = Clock::now();
        cancel.store(true);
        setAt.store(now.time_since_epoch().count());
    });
    Interruption r;
    try {
        for (;;) {
            r.phase = t.nextPhase();
            if (t.runPhase(&cancel).phase == Phase::Report) break;
        }
    } catch (const Interrupted&) {
        r.interrupted = true;
        const Clock::time_point caught = Clock::now();
        setter.join();
        r.latencyMs = std::chrono::duration<double, std::milli>(caught - Clock::time_point(Clock::duration(setAt.load())))
                          .count();
        return r;
    }
    setter.join();
    return r;
}

} // namespace

class TestPromptStop : public QObject {
    Q_OBJECT
private slots:
    // a flag that is never set changes nothing: the same iterations, bit for bit
    void anUnsetFlagChangesNothing() {
        TrpoConfig c = presetConfig("Pendulum-v1");
        c.stepsPerIteration = 1024;
        c.numEnvs = 4;
        c.seed = 3;
        Trainer a(c, sim::environmentFactory(c.env)), b(c, sim::environmentFactory(c.env));
        const std::atomic<bool> never{false};
        for (int i = 0; i < 3; ++i)
            QCOMPARE(testutil::statsWithoutTiming(a.iterate(&never)), testutil::statsWithoutTiming(b.iterate()));
        QVERIFY(stateWithoutTime(a) == stateWithoutTime(b));
    }

    // a flag already set when an iteration would start: nothing runs, nothing changes
    void aFlagSetBetweenIterationsStopsAtOnce() {
        TrpoConfig c = presetConfig("CartPole-v1");
        c.stepsPerIteration = 512;
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate();
        const std::vector<std::uint8_t> before = t.saveState();
        const std::atomic<bool> set{true};
        QVERIFY_THROWS_EXCEPTION(Interrupted, t.runPhase(&set));
        QVERIFY(!t.midIteration());
        QVERIFY(t.saveState() == before);
        QCOMPARE(t.iteration(), 1);
    }

    void interruptedIterationIsDiscarded_data() {
        QTest::addColumn<int>("phase"); // the phase the flag is set in
        QTest::addColumn<int>("delayMs"); // after the phase starts
        QTest::newRow("mid-sampling") << int(Phase::Sample) << 40;
        QTest::newRow("mid-CG") << int(Phase::NaturalDirection) << 3;
        QTest::newRow("mid-value-fit") << int(Phase::ValueFit) << 40;
    }
    // the state after the interruption is the boundary's, bit for bit; the next iteration
    // equals the one of a trainer loaded from the boundary's checkpoint
    void interruptedIterationIsDiscarded() {
        QFETCH(int, phase);
        QFETCH(int, delayMs);
        const TrpoConfig c = walkerConfig();
        Trainer t(c, sim::environmentFactory(c.env));
        t.iterate(); // mid-episode copies, a trained critic and moved normalisers
        const std::vector<std::uint8_t> boundary = t.saveState();
        const VectorXd theta = t.theta();

        // phase by phase (without a flag) up to the phase, then the flag from another thread
        while (t.nextPhase() != Phase(phase)) t.runPhase();
        const Interruption i = interruptAfter(t, delayMs);
        QVERIFY2(i.interrupted, "the iteration finished before the flag was set");
        qInfo("interrupted in phase %s, %.1f ms after the flag was set (bound %.0f ms)", phaseName(i.phase),
              i.latencyMs, kStopBoundMs);
        QCOMPARE(int(i.phase), phase);
        QVERIFY2(i.latencyMs < kStopBoundMs, qPrintable(QString("stop took %1 ms").arg(i.latencyMs)));

        QVERIFY(!t.midIteration());
        QCOMPARE(t.iteration(), 1);
        QVERIFY(testutil::sameBits(t.theta(), theta));
        QVERIFY(t.saveState() == boundary); // everything a checkpoint holds, wall time included

        if (Phase(phase) == Phase::Sample) {
            // interrupted again before the discarded steps were put back in the environments
            const Interruption again = interruptAfter(t, delayMs);
            QVERIFY(again.interrupted);
            QCOMPARE(int(again.phase), int(Phase::Sample));
            QVERIFY(t.saveState() == boundary);
        }

        Trainer loaded(c, sim::environmentFactory(c.env));
        loaded.loadState(boundary);
        QCOMPARE(testutil::statsWithoutTiming(t.iterate()), testutil::statsWithoutTiming(loaded.iterate()));
        QVERIFY(testutil::sameBits(t.theta(), loaded.theta()));
        QVERIFY(stateWithoutTime(t) == stateWithoutTime(loaded));
    }

    // the guardrail's rollBack after an interrupted iteration restores the same state as
    // without the interruption (the interrupted iteration left no trace in its memory)
    void rollBackIgnoresTheInterruptedIteration() {
        TrpoConfig c = presetConfig("Pendulum-v1");
        c.stepsPerIteration = 2048;
        c.numEnvs = 4;
        c.valueEpochs = testutil::kThreadSanitized ? 40 : 200; // a long value fit to stop in
        Trainer a(c, sim::environmentFactory(c.env)), b(c, sim::environmentFactory(c.env));
        for (int k = 0; k < 2; ++k) {
            a.iterate();
            b.iterate();
        }
        while (a.nextPhase() != Phase::ValueFit) a.runPhase();
        QVERIFY(interruptAfter(a, 5).interrupted);
        const std::optional<int> restoredA = a.rollBack(), restoredB = b.rollBack();
        QVERIFY(restoredA && restoredA == restoredB);
        QVERIFY(testutil::sameBits(a.theta(), b.theta()));
        QVERIFY(stateWithoutTime(a) == stateWithoutTime(b));
    }
};

QTEST_GUILESS_MAIN(TestPromptStop)
#include "test_prompt_stop.moc"
