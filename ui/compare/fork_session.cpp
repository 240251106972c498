#include "ui/compare/fork_session.h"

#include <algorithm>
#include <exception>

#include "sim/registry.h"

namespace ui {

ForkSession::ForkSession(QObject* parent) : QObject(parent) {
    // queued: the closures run on this object's (the UI) thread
    connect(this, &ForkSession::resultsPosted, this, &ForkSession::deliver, Qt::QueuedConnection);
}

ForkSession::~ForkSession() {
    // no signal from a destructor: the receivers may be half destroyed (stop() delivers)
    halt();
    m_results.clear();
}

void ForkSession::start(const run::RunContents& parent, int at, const core::TrainerState& forkState,
                        const run::VarySpec& vary, const std::filesystem::path& outDir, int iterations, int threads) {
    if (m_running || m_thread.joinable()) throw core::ConfigError("this fork is already training");
    const core::EnvFactory factory = sim::environmentFactory(parent.config.env);
    m_manifest = run::createFork(outDir, parent, at, forkState, vary, factory, "trpo-studio", m_set);
    m_dir = outDir;
    launch(iterations, threads);
}

void ForkSession::resume(const std::filesystem::path& dir, int iterations, int threads,
                         const std::function<void()>& beforeTraining) {
    if (m_running || m_thread.joinable() || m_set.size() > 0) throw core::ConfigError("this fork session has already trained");
    m_manifest = run::resumeFork(dir, sim::environmentFactory, "trpo-studio", m_set);
    m_dir = dir;
    if (beforeTraining) beforeTraining();
    launch(iterations, threads);
}

void ForkSession::launch(int iterations, int threads) {
    m_iterations = iterations;
    m_startIteration = m_set.size() > 0 ? m_set.member(0).startIteration : 0;
    for (int k = 1; k < m_set.size(); ++k) m_startIteration = std::min(m_startIteration, m_set.member(k).startIteration);
    m_lastStart.assign(static_cast<size_t>(m_set.size()), {});
    m_started.assign(static_cast<size_t>(m_set.size()), 0);
    m_outcomes.clear();
    m_cancel = false;
    m_running = true;

    run::Budget budget;
    budget.iterations = iterations;
    m_thread = std::thread([this, budget, threads] {
        // on the training thread: RunSet owns the budget's threads (this one included)
        std::string error;
        try {
            m_set.train(
                budget, threads, &m_cancel,
                [this](int m, const core::IterationStats& s, const std::string& note) {
                    // one call at a time, while this thread holds member m
                    const int restored = note.empty() ? -1 : m_set.member(m).trainer.iteration();
                    const QString explanation = QString::fromStdString(note);
                    m_results.push([this, m, s, restored, explanation] {
                        emit variantIteration(m, s);
                        if (restored >= 0) emit variantRolledBack(m, s.iteration, restored, explanation);
                    });
                    emit resultsPosted();
                },
                [this](int m) { waitForTurn(m); });
        } catch (const std::exception& e) {
            error = e.what();
        }
        std::vector<std::string> outcomes;
        for (int m = 0; m < m_set.size(); ++m) outcomes.push_back(m_set.member(m).why);
        m_results.push([this, error, outcomes] {
            m_outcomes = outcomes;
            m_running = false;
            if (!error.empty()) emit failed(QString::fromStdString(error));
            emit finished();
        });
        emit resultsPosted();
    });
}

void ForkSession::waitForTurn(int m) {
    std::unique_lock lock(m_paceMutex);
    const size_t i = static_cast<size_t>(m);
    // re-read the pace each time it changes; a stop ends the wait
    while (!m_cancel && m_started[i] && !m_pace.isMax()) {
        const auto due = m_lastStart[i] + std::chrono::duration_cast<std::chrono::steady_clock::duration>(m_pace.interval());
        if (std::chrono::steady_clock::now() >= due) break;
        m_paceChanged.wait_until(lock, due);
    }
    m_lastStart[i] = std::chrono::steady_clock::now();
    m_started[i] = 1;
}

void ForkSession::setPace(Pace pace) {
    {
        const std::lock_guard lock(m_paceMutex);
        m_pace = pace;
    }
    m_paceChanged.notify_all();
}

void ForkSession::stop() {
    halt();
    deliver(); // the last iterations and the end, in order
}

void ForkSession::halt() {
    {
        const std::lock_guard lock(m_paceMutex);
        m_cancel = true;
    }
    m_paceChanged.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void ForkSession::deliver() { m_results.drain(); }

} // namespace ui
