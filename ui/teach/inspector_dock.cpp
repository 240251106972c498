#include "ui/teach/inspector_dock.h"

#include <QApplication>
#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/run_history.h"
#include "ui/teach/trust_region_plot.h"
#include "ui/training_session.h"

namespace ui {

namespace {

QString num3(double v) { return QString::number(v, 'g', 3); }
QString exact(double v) { return QString::number(v, 'g', 10); }

// the what-if table's columns
enum FanColumn { ColDelta, ColBeta, ColFraction, ColKl, ColChange, FanColumns };

QString outcomeWords(core::LineSearchOutcome o) {
    switch (o) {
    case core::LineSearchOutcome::KlExceeded: return QObject::tr("KL > δ′");
    case core::LineSearchOutcome::NoImprovement: return QObject::tr("no improvement");
    default: return QString::fromUtf8(core::outcomeName(o));
    }
}

} // namespace

InspectorDock::InspectorDock(TrainingSession* session, RunHistory* history, QWidget* parent)
    : QDockWidget(tr("Trust-region inspector"), parent), m_session(session), m_history(history) {
    setObjectName("inspectorDock");
    m_baseFontSize = QApplication::font().pointSizeF();
    auto* body = new QWidget;
    body->setObjectName("inspector");

    // how the probes are computed, and the button that asks for one
    m_modeBox = new QComboBox;
    m_modeBox->setObjectName("inspectMode");
    m_modeBox->addItem(tr("every iteration"));
    m_modeBox->addItem(tr("on demand"));
    m_modeBox->setToolTip(tr("Every iteration: the training thread probes each update during its line search and keeps "
                             "the last %1 here, so a click on any plot shows that iteration (its cost is the 'probe' "
                             "line of the time plot). On demand: nothing is computed until you press Inspect latest.")
                              .arg(m_store.capacity()));
    m_modeBox->setCurrentIndex(1);
    m_inspect = new QPushButton(tr("Inspect latest"));
    m_inspect->setObjectName("inspectLatest");
    m_inspect->setToolTip(tr("Show the last finished iteration's update along its step direction"));
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Probe:")));
    controls->addWidget(m_modeBox);
    controls->addWidget(m_inspect);
    controls->addStretch(1);

    m_title = new QLabel;
    m_title->setObjectName("inspectorTitle");
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::RichText);
    m_message = new QLabel;
    m_message->setObjectName("inspectorMessage");
    m_message->setWordWrap(true);
    m_message->setStyleSheet("QLabel { color: #7a4a00; font-weight: bold; }");
    m_plot = new TrustRegionPlot;

    m_fanCaption = new QLabel(tr("<b>δ what-if</b>: the same batch and direction x with another δ′ "
                                 "(click a row to use that δ′ from the next iteration; Edit → Undo goes back)"));
    m_fanCaption->setWordWrap(true);
    m_fan = new QTableWidget(0, FanColumns);
    m_fan->setObjectName("fanTable");
    m_fan->setHorizontalHeaderLabels({tr("δ′"), tr("β′"), tr("accepted\nfraction"), tr("KL"), tr("ΔL")});
    m_fan->horizontalHeaderItem(ColDelta)->setToolTip(tr("the δ the update would have had"));
    m_fan->horizontalHeaderItem(ColBeta)->setToolTip(tr("β′ = √(2δ′ / xᵀ(F + damping·I)x): the full step's scale"));
    m_fan->horizontalHeaderItem(ColFraction)->setToolTip(tr("the line search's first acceptable fraction of β′x"));
    m_fan->horizontalHeaderItem(ColKl)->setToolTip(tr("mean KL of the accepted step"));
    m_fan->horizontalHeaderItem(ColChange)->setToolTip(tr("surrogate improvement of the accepted step"));
    m_fan->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_fan->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_fan->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_fan->setSelectionMode(QAbstractItemView::SingleSelection);
    m_fan->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_fan->horizontalHeader()->setStretchLastSection(true);
    m_fan->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_fan->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    m_fan->setWordWrap(false);
    m_fan->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    // the chart on the left, the numbers beside it: title, verdict, the what-if table
    auto* side = new QVBoxLayout;
    side->addLayout(controls);
    side->addWidget(m_title);
    side->addWidget(m_message);
    side->addSpacing(8);
    side->addWidget(m_fanCaption);
    side->addWidget(m_fan);
    side->addStretch(1);
    m_layout = new QBoxLayout(QBoxLayout::LeftToRight, body);
    QBoxLayout* layout = m_layout;
    layout->setContentsMargins(6, 4, 6, 6);
    layout->addWidget(m_plot, 3);
    layout->addLayout(side, 2);
    setWidget(body);

    m_drawTimer.setSingleShot(true);
    connect(&m_drawTimer, &QTimer::timeout, this, [this] {
        if (m_latestPending && m_follow && isVisible()) display(m_store.latest());
    });
    connect(m_modeBox, &QComboBox::currentIndexChanged, this, [this](int i) { setProbeEvery(i == 0 ? std::max(1, m_every) : 0); });
    connect(m_inspect, &QPushButton::clicked, this, &InspectorDock::inspectLatest);
    connect(m_fan, &QTableWidget::cellClicked, this, [this](int row, int) { chooseWhatIf(row); });
    connect(m_plot, &TrustRegionPlot::whatIfClicked, this, &InspectorDock::chooseWhatIf);
    connect(m_session, &TrainingSession::probeReady, this, &InspectorDock::onProbe);
    connect(m_session, &TrainingSession::probeUnavailable, this, [this](const QString& why) {
        m_requested = false;
        showMessage(why);
    });
    connect(m_history, &RunHistory::reset, this, &InspectorDock::clearAll);
    connect(m_history, &RunHistory::loaded, this, &InspectorDock::clearAll);
    // opened while paused: show the latest iteration without a click
    connect(this, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (!visible || m_session->isRunning() || m_history->isEmpty()) return;
        const ProbePtr shown = shownProbe();
        if (!shown || shown->iteration != m_history->iteration()) inspectLatest();
    });
    clearAll();
}

double InspectorDock::roundedDelta(double deltaPrime) { return QString::number(deltaPrime, 'g', 3).toDouble(); }

ProbePtr InspectorDock::shownProbe() const { return m_plot->probe(); }

void InspectorDock::setProbeEvery(int n) {
    m_every = std::max(0, n);
    m_modeBox->setItemText(0, m_every > 1 ? tr("every %1 iterations").arg(m_every) : tr("every iteration"));
    const int index = m_every > 0 ? 0 : 1;
    if (m_modeBox->currentIndex() != index) {
        const QSignalBlocker block(m_modeBox);
        m_modeBox->setCurrentIndex(index);
    }
    m_session->setProbeEvery(m_every);
}

void InspectorDock::inspectLatest() {
    m_follow = true;
    // the latest is kept already (every-iteration mode): no need to ask
    const ProbePtr kept = m_store.latest();
    if (kept && !m_history->isEmpty() && kept->iteration == m_history->iteration()) {
        display(kept);
        return;
    }
    m_requested = true;
    m_session->inspectLatest();
}

void InspectorDock::showIteration(int iteration) {
    m_requested = false; // a click wins over an Inspect latest still on its way
    if (ProbePtr p = m_store.find(iteration)) {
        m_follow = !m_history->isEmpty() && iteration == m_history->iteration();
        display(p);
        return;
    }
    m_follow = false;
    if (m_store.wasDropped(iteration))
        showMessage(tr("Iteration %1's probe is no longer kept: the inspector keeps the last %2.")
                        .arg(iteration)
                        .arg(m_store.capacity()));
    else
        showMessage(tr("Iteration %1 was not inspected: choose 'every iteration', or pause and press Inspect latest.")
                        .arg(iteration));
}

void InspectorDock::onProbe(const ProbePtr& p) {
    if (!p) return;
    m_store.add(p);
    // drawing a probe nobody sees would take the UI thread's time from training: a closed
    // (or hidden) inspector only keeps it, and shows the latest when it opens. Following a
    // fast run, it draws at most kMaxDrawsPerSecond times a second: the latest probe then
    if (m_requested) {
        display(p);
    } else if (m_follow) {
        m_latestPending = true;
        const qint64 wait = m_lastDraw.isValid() ? 1000 / kMaxDrawsPerSecond - m_lastDraw.elapsed() : 0;
        if (!isVisible()) {
            // shown on opening
        } else if (wait <= 0) {
            display(p);
        } else if (!m_drawTimer.isActive()) {
            m_drawTimer.start(static_cast<int>(wait));
        }
    }
    m_requested = false;
}

void InspectorDock::addProbes(const std::vector<ProbePtr>& probes) {
    for (const ProbePtr& p : probes)
        if (p) m_store.add(p);
    if (!m_store.latest()) return;
    m_follow = true;
    m_latestPending = true;
    if (isVisible()) display(m_store.latest());
}

void InspectorDock::followFontSize() {
    // presentation mode enlarges the application's font: the chart follows
    if (m_baseFontSize > 0) m_plot->setLarge(QApplication::font().pointSizeF() > 1.2 * m_baseFontSize);
}

void InspectorDock::display(const ProbePtr& p) {
    m_latestPending = false;
    m_drawTimer.stop();
    m_lastDraw.start();
    followFontSize();
    m_message->clear();
    m_message->hide();
    m_plot->setProbe(p);
    if (!p) return;
    fillTitle(*p);
    fillFan(*p);
    emit probeShown(p);
}

void InspectorDock::showMessage(const QString& text) {
    m_message->setText(text);
    m_message->show();
}

void InspectorDock::clearAll() {
    m_store.clear();
    m_follow = true;
    m_requested = false;
    m_latestPending = false;
    m_drawTimer.stop();
    m_plot->setProbe(nullptr);
    m_fan->setRowCount(0);
    m_title->setText(tr("<b>No iteration inspected yet.</b> Step or train, then press Inspect latest."));
    m_title->setToolTip(QString());
    m_message->clear();
    m_message->hide();
}

void InspectorDock::fillTitle(const core::TrustRegionProbe& p) {
    // the verdict of the line search, in words
    QString verdict;
    const core::LineSearchTrial* accepted = nullptr;
    for (const core::LineSearchTrial& t : p.trials)
        if (t.accepted) accepted = &t;
    if (accepted) {
        const int backtracks = static_cast<int>(p.trials.size()) - 1;
        verdict = tr("<span style='color:#007a58'>step accepted at α = %1</span> after %2 backtrack%3: KL %4 ≤ δ, ΔL %5")
                      .arg(num3(accepted->fraction))
                      .arg(backtracks)
                      .arg(backtracks == 1 ? "" : "s")
                      .arg(num3(accepted->kl), num3(accepted->actualImprovement));
    } else if (!p.trials.empty()) {
        verdict = tr("<span style='color:#b34700'>step rejected</span> after %1 trials (last: %2): θ stays θ_old")
                      .arg(p.trials.size())
                      .arg(TrustRegionPlot::trialReason(p.trials.back(), p.delta).toHtmlEscaped());
    }
    const double pt = QApplication::font().pointSizeF() > 0 ? QApplication::font().pointSizeF() : 10.0;
    const QString big = QString::number(std::lround(pt * 1.35));
    m_title->setText(tr("<span style='font-size:%1pt'><b>Iteration %2</b> &nbsp; δ = %3 &nbsp; β = %4</span><br>"
                        "|g| = %5 &nbsp; |x| = %6 &nbsp; angle(g, x) = %7° &nbsp; xᵀFx = %8<br>%9")
                         .arg(big)
                         .arg(p.iteration)
                         .arg(num3(p.delta), num3(p.beta), num3(p.gradNorm), num3(p.directionNorm), num3(p.angleDegrees),
                              num3(p.xFx), verdict));
    m_title->setToolTip(tr("iteration %1\nδ = %2\nβ = %3\n|g| = %4\n|x| = %5\nangle(g, x) = %6°\nxᵀFx = %7 (with damping %8)\n"
                           "gᵀx = %9\n|βx| = %10\nprobe computed in %11 ms")
                            .arg(p.iteration)
                            .arg(exact(p.delta), exact(p.beta), exact(p.gradNorm), exact(p.directionNorm),
                                 exact(p.angleDegrees), exact(p.xFx), exact(p.xFxDamped), exact(p.gx), exact(p.stepNorm))
                            .arg(p.seconds * 1e3, 0, 'f', 2));
}

void InspectorDock::fillFan(const core::TrustRegionProbe& p) {
    m_fan->setRowCount(static_cast<int>(p.fan.size()));
    QStringList names;
    for (const core::WhatIfStep& w : p.fan) names << TrustRegionPlot::relativeDelta(w.delta, p.delta);
    m_fan->setVerticalHeaderLabels(names);
    for (int row = 0; row < static_cast<int>(p.fan.size()); ++row) {
        const core::WhatIfStep& w = p.fan[static_cast<size_t>(row)];
        const bool current = std::abs(w.delta - p.delta) <= 1e-12 * p.delta;
        QString cells[FanColumns];
        cells[ColDelta] = num3(w.delta);
        cells[ColBeta] = num3(w.beta);
        if (w.accepted) {
            cells[ColFraction] = num3(w.fraction);
            cells[ColKl] = num3(w.klMean);
            cells[ColChange] = num3(w.surrogateChange);
        } else {
            cells[ColFraction] = tr("rejected: %1").arg(outcomeWords(w.outcome));
            cells[ColKl] = cells[ColChange] = "—";
        }
        const QString tip = tr("δ′ = %1, β′ = %2\n%3\nClick: use δ = %4 from the next iteration (Edit → Undo restores δ)")
                                .arg(exact(w.delta), exact(w.beta),
                                     w.accepted ? tr("accepted at fraction %1 after %2 backtracks: KL %3, ΔL %4")
                                                      .arg(exact(w.fraction))
                                                      .arg(w.backtracks)
                                                      .arg(exact(w.klMean), exact(w.surrogateChange))
                                                : tr("rejected (%1) after %2 trials")
                                                      .arg(QString::fromUtf8(core::outcomeName(w.outcome)))
                                                      .arg(w.trials.size()),
                                     num3(roundedDelta(w.delta)));
        for (int c = 0; c < FanColumns; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setToolTip(tip);
            item->setTextAlignment(Qt::AlignCenter);
            if (current) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
            if (!w.accepted) item->setForeground(QColor(179, 71, 0));
            m_fan->setItem(row, c, item);
        }
    }
    m_fan->resizeRowsToContents();
    m_fan->updateGeometry(); // its size follows its rows (AdjustToContents): no scrolling
}

void InspectorDock::chooseWhatIf(int index) {
    const ProbePtr p = shownProbe();
    if (!p || index < 0 || index >= static_cast<int>(p->fan.size())) return;
    emit deltaChosen(roundedDelta(p->fan[static_cast<size_t>(index)].delta));
}

void InspectorDock::resizeEvent(QResizeEvent* event) {
    // wide (a tab under the environment): the numbers beside the chart; narrow (beside the
    // environment in presentation mode): below it
    m_layout->setDirection(width() >= 1.3 * height() ? QBoxLayout::LeftToRight : QBoxLayout::TopToBottom);
    QDockWidget::resizeEvent(event);
}

bool InspectorDock::event(QEvent* e) {
    if (e->type() == QEvent::Show) {
        followFontSize();
        if (m_latestPending && m_follow) display(m_store.latest());
        m_latestPending = false;
    }
    if (e->type() == QEvent::ApplicationFontChange) {
        followFontSize();
        if (const ProbePtr p = shownProbe()) {
            fillTitle(*p);
            fillFan(*p);
        }
    }
    return QDockWidget::event(e);
}

} // namespace ui
