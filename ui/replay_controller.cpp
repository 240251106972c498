#include "ui/replay_controller.h"

#include <QAction>
#include <QButtonGroup>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>
#include <QSignalBlocker>
#include <algorithm>
#include <cmath>

#include "ui/banner.h"
#include "ui/dialogs.h"
#include "ui/env_view.h"
#include "ui/run_history.h"

namespace ui {

namespace {
constexpr core::EpisodeRank kRanks[3] = {core::EpisodeRank::Best, core::EpisodeRank::Median, core::EpisodeRank::Worst};
int rankIndex(core::EpisodeRank r) { return r == core::EpisodeRank::Best ? 0 : r == core::EpisodeRank::Median ? 1 : 2; }
QString readable(double v) { return std::abs(v) >= 100 ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3); }
} // namespace

ReplayController::ReplayController(RunHistory* history, EnvView* view, Dialogs* dialogs, QObject* parent)
    : QObject(parent), m_history(history), m_view(view), m_dialogs(dialogs) {
    const Banner banner = makeBanner("replayBar", "replayBarText", {"#e1eeff", "#3a6fc4", "#10284f"}, {12, 6, 8, 6});
    m_bar = banner.frame;
    m_text = banner.text;
    QHBoxLayout* layout = banner.layout;
    auto* group = new QButtonGroup(m_bar);
    group->setExclusive(true);
    const char* names[3] = {"replayBest", "replayMedian", "replayWorst"};
    for (int i = 0; i < 3; ++i) {
        auto* b = new QToolButton;
        b->setObjectName(names[i]);
        b->setCheckable(true);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        group->addButton(b, i);
        layout->addWidget(b);
        m_rankButtons[i] = b;
        connect(b, &QToolButton::clicked, this, [this, i] {
            if (m_replayed) replay(m_replayed->iteration, kRanks[i]);
        });
    }
    m_live = new QToolButton;
    m_live->setObjectName("replayLive");
    m_live->setText(tr("Back to live"));
    m_live->setToolTip(tr("Stop the replay: the latest policy plays again"));
    layout->addSpacing(12);
    layout->addWidget(m_live);
    connect(m_live, &QToolButton::clicked, this, &ReplayController::backToLive);

    m_ghostAction = new QAction(tr("π_old &ghost and per-state KL"), this);
    m_ghostAction->setObjectName("actionGhost");
    m_ghostAction->setCheckable(true);
    m_ghostAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    m_ghostAction->setToolTip(tr("Play the policy before the update (π_old, translucent) beside the policy after it "
                                 "(π_new) from the same seed, with KL(π_old ‖ π_new) of each state painted on the "
                                 "trajectory and its histogram against δ"));
    connect(m_ghostAction, &QAction::toggled, this, &ReplayController::setGhost);
    // the viewer changed environment (a reset, watching a policy file): its replay has gone
    connect(m_view, &EnvView::environmentChanged, this, [this] {
        if (!m_replayed) return;
        m_replayed.reset();
        m_bar->hide();
        emit replayStopped();
    });
}

QToolButton* ReplayController::rankButton(core::EpisodeRank rank) const { return m_rankButtons[rankIndex(rank)]; }

bool ReplayController::isReplaying() const { return m_replayed.has_value() && m_view->isReplaying(); }

bool ReplayController::replay(int iteration, core::EpisodeRank rank) {
    if (m_view->environmentId().toStdString() != m_history->config().env) {
        m_dialogs->showStatus(tr("The viewer plays another environment (a watched policy): Start, Step or Reset returns "
                                 "to the run, whose episodes can then be replayed."));
        return false;
    }
    std::optional<core::IterationEpisodes> eps = m_history->episodes(iteration);
    if (!eps || !eps->get(rank)) {
        m_dialogs->showStatus(tr("Iteration %1 has no episode to replay: none finished in it, or the run was saved "
                                 "before episodes were recorded.")
                                  .arg(iteration));
        return false;
    }
    if (!m_view->playReplay(*eps->get(rank), iteration, rank)) {
        m_dialogs->showStatus(tr("Iteration %1's episodes do not fit the environment in the viewer.").arg(iteration));
        return false;
    }
    m_rank = rank;
    m_replayed = std::move(eps);
    updateBar();
    m_bar->show();
    if (m_ghostAction->isChecked()) showGhost();
    emit replayStarted(iteration, rank);
    return true;
}

void ReplayController::replayClicked(int iteration, Qt::KeyboardModifiers modifiers) {
    core::EpisodeRank rank = m_rank;
    if (modifiers & Qt::ShiftModifier)
        rank = core::EpisodeRank::Worst;
    else if (modifiers & Qt::ControlModifier)
        rank = core::EpisodeRank::Median;
    replay(iteration, rank);
}

void ReplayController::backToLive() {
    const bool was = m_replayed.has_value();
    m_replayed.reset();
    m_bar->hide();
    if (m_ghostAction->isChecked()) {
        m_view->stopReplay();
        showGhost();
    } else {
        m_view->stopReplay();
    }
    if (was) emit replayStopped();
}

void ReplayController::updateBar() {
    if (!m_replayed) return;
    const core::EpisodeRecord& r = *m_replayed->get(m_rank);
    m_text->setText(tr("▶ <b>Replay: iteration %1, %2 episode, return %3</b> (%4 steps, seed %5)")
                        .arg(m_replayed->iteration)
                        .arg(QString::fromLatin1(core::episodeRankName(m_rank)))
                        .arg(readable(r.ret))
                        .arg(r.length)
                        .arg(r.seed));
    const QString titles[3] = {tr("Best"), tr("Median"), tr("Worst")};
    for (int i = 0; i < 3; ++i) {
        const auto& rec = m_replayed->get(kRanks[i]);
        m_rankButtons[i]->setText(rec ? tr("%1 (%2)").arg(titles[i], readable(rec->ret)) : titles[i]);
        m_rankButtons[i]->setChecked(kRanks[i] == m_rank);
    }
}

void ReplayController::addPolicy(const core::SnapshotPtr& snapshot) {
    if (!snapshot) return;
    m_policies[snapshot->iteration] = snapshot;
    while (m_policies.size() > kPoliciesKept) m_policies.erase(m_policies.begin());
    // the live ghost follows each new update, after the comparison on screen has played out
    if (m_ghostAction->isChecked() && !m_replayed) showGhost(true);
}

void ReplayController::restart(const core::SnapshotPtr& current) {
    m_policies.clear();
    if (current) m_policies[current->iteration] = current;
    if (m_replayed) {
        m_replayed.reset();
        m_bar->hide();
        m_view->stopReplay();
        emit replayStopped();
    }
    if (m_ghostAction->isChecked()) m_ghostAction->setChecked(false);
}

void ReplayController::setGhost(bool on) {
    if (!on) {
        m_view->clearGhost();
        return;
    }
    showGhost();
}

bool ReplayController::showGhost(bool waitForPlayback) {
    // live: the newest update whose policy has arrived (the snapshot follows its statistics)
    const int iteration = m_replayed ? m_replayed->iteration : m_policies.empty() ? 0 : m_policies.rbegin()->first;
    auto refuse = [this](const QString& why) {
        m_dialogs->showStatus(why, 10000);
        const QSignalBlocker block(m_ghostAction);
        m_ghostAction->setChecked(false);
        m_view->clearGhost();
        return false;
    };
    const auto newer = m_policies.find(iteration), older = m_policies.find(iteration - 1);
    if (iteration < 1 || newer == m_policies.end() || older == m_policies.end()) {
        if (iteration < 1) return refuse(tr("The ghost compares the policies before and after an update: train one iteration first."));
        return refuse(tr("The ghost needs the policies before and after iteration %1; the studio keeps those of the last %2 "
                         "iterations trained here (an opened run starts with its last only).")
                          .arg(iteration)
                          .arg(kPoliciesKept));
    }
    EnvView::GhostRequest request;
    request.oldPolicy = older->second;
    request.newPolicy = newer->second;
    request.iteration = iteration;
    for (std::size_t i = static_cast<std::size_t>(m_history->size()); i-- > 0;)
        if (m_history->iterationNumbers()[i] == iteration) {
            try {
                request.delta = m_history->record(i).delta;
            } catch (const std::exception& e) {
                return refuse(tr("The ghost cannot be shown: %1").arg(QString::fromStdString(e.what())));
            }
            break;
        }
    if (m_replayed) {
        request.seed = m_replayed->get(m_rank)->seed;
        request.seedNote = tr("the %1 episode's seed").arg(QString::fromLatin1(core::episodeRankName(m_rank)));
    } else {
        // a seed of its own per iteration, so the comparison can be shown again
        request.seed = 0x67686f7374ULL + static_cast<std::uint64_t>(iteration);
        request.seedNote = tr("one start state (seed %1)").arg(request.seed);
    }
    QString why;
    const bool shown = waitForPlayback ? m_view->showGhost(request, &why) : (m_view->clearGhost(), m_view->showGhost(request, &why));
    if (!shown) return refuse(tr("The ghost cannot be shown: %1").arg(why));
    return true;
}

} // namespace ui
